"""The payment aggregate: the charge for one order, and its refund."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from uuid import UUID

from services.payments.domain.commands import ProcessPayment
from services.payments.domain.errors import InvalidAmount
from services.payments.domain.events import (
    PaymentApproved,
    PaymentDeclined,
    PaymentRefunded,
    PaymentVoided,
)
from services.payments.domain.policy import PaymentPolicy
from services.shared.aggregate import Aggregate, Event

# Stands in for the id until the first event is applied.
NO_ORDER = UUID(int=0)


class PaymentStatus(StrEnum):
    """The outcomes a payment can have."""

    APPROVED = "approved"
    DECLINED = "declined"
    REFUNDED = "refunded"
    VOIDED = "voided"

    @property
    def is_final(self) -> bool:
        """Tells whether nothing more can happen to the payment."""
        return self is not PaymentStatus.APPROVED


def payment_stream(order_id: UUID) -> str:
    """Returns the event-store stream id of an order's payment."""
    return f"payment-{order_id}"


class Payment(Aggregate):
    """An order's payment; status is None until its first event."""

    def __init__(self) -> None:
        super().__init__()
        self.order_id: UUID = NO_ORDER
        # None when the payment was voided before any charge was tried.
        self.payment_id: UUID | None = None
        self.customer_id = ""
        self.amount = Decimal("0.00")
        self.status: PaymentStatus | None = None
        self.reason: str | None = None

    @classmethod
    def process(cls, cmd: ProcessPayment, policy: PaymentPolicy) -> Payment:
        """Charges the order's amount, approving or declining by policy."""
        _check_amount(cmd.amount)
        payment = cls()
        reason = policy.decline_reason(cmd.amount, cmd.customer_id)
        if reason is None:
            payment.record(
                PaymentApproved(
                    cmd.order_id, cmd.payment_id, cmd.customer_id, cmd.amount
                )
            )
        else:
            payment.record(
                PaymentDeclined(
                    cmd.order_id,
                    cmd.payment_id,
                    cmd.customer_id,
                    cmd.amount,
                    reason,
                )
            )
        return payment

    @classmethod
    def void(cls, order_id: UUID, reason: str) -> Payment:
        """Records that an order was cancelled before it was paid."""
        payment = cls()
        payment.record(PaymentVoided(order_id, reason))
        return payment

    @property
    def is_settled(self) -> bool:
        """Tells whether the payment exists and nothing more can happen."""
        return self.status is not None and self.status.is_final

    def cancel(self, reason: str) -> None:
        """Refunds an approved payment; any other payment stays as it is."""
        if self.status is not PaymentStatus.APPROVED:
            return
        if self.payment_id is None:
            return
        self.record(
            PaymentRefunded(self.order_id, self.payment_id, self.amount, reason)
        )

    def apply(self, event: Event) -> None:
        """Changes the payment by one of its events."""
        match event:
            case PaymentApproved():
                self._apply_charge(event)
                self.status = PaymentStatus.APPROVED
            case PaymentDeclined():
                self._apply_charge(event)
                self.status = PaymentStatus.DECLINED
                self.reason = event.reason
            case PaymentRefunded():
                self.status = PaymentStatus.REFUNDED
                self.reason = event.reason
            case PaymentVoided():
                self.order_id = event.order_id
                self.status = PaymentStatus.VOIDED
                self.reason = event.reason
            case _:
                raise TypeError(f"Payment cannot apply {event.type_name()}")

    def _apply_charge(self, event: PaymentApproved | PaymentDeclined) -> None:
        self.order_id = event.order_id
        self.payment_id = event.payment_id
        self.customer_id = event.customer_id
        self.amount = event.amount


def _check_amount(amount: Decimal) -> None:
    """Raises InvalidAmount unless `amount` is a finite Decimal >= 0."""
    if not isinstance(amount, Decimal) or not amount.is_finite():
        raise InvalidAmount(f"amount must be a finite decimal, got {amount!r}")
    if amount < 0:
        raise InvalidAmount(f"amount must be at least 0, got {amount}")
