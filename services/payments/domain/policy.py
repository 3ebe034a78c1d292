"""The rule that decides which payments the fake bank declines."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class PaymentPolicy:
    """Declines a payment above `decline_above` or for a flagged customer.

    The rule is deterministic so that learners can trigger a decline on
    purpose: order for more than 5000.00, or use a customer id starting
    with "decline-". Everything else is approved. The amount is checked
    first, so an over-limit order of a flagged customer names the amount.
    """

    decline_above: Decimal = Decimal("5000.00")
    decline_customer_prefix: str = "decline-"

    def decline_reason(self, amount: Decimal, customer_id: str) -> str | None:
        """Returns why the payment is declined, or None to approve it."""
        if amount > self.decline_above:
            return f"amount {amount} exceeds the limit of {self.decline_above}"
        prefix = self.decline_customer_prefix
        # An empty prefix would match every customer, so it turns the rule off.
        if prefix and customer_id.startswith(prefix):
            return f"customer {customer_id} is flagged to decline"
        return None
