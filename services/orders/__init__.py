"""The order context: customers place, confirm and cancel orders here."""
