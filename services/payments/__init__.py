"""The payment context: charges, declines and refunds for orders."""
