"""Events of the payment context."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from uuid import UUID

from services.shared.aggregate import Event


@dataclass(frozen=True)
class PaymentApproved(Event):
    """The customer was charged for the order."""

    order_id: UUID
    payment_id: UUID
    customer_id: str
    amount: Decimal


@dataclass(frozen=True)
class PaymentDeclined(Event):
    """The charge for the order was refused; `reason` says why."""

    order_id: UUID
    payment_id: UUID
    customer_id: str
    amount: Decimal
    reason: str


@dataclass(frozen=True)
class PaymentRefunded(Event):
    """An approved charge was paid back to the customer."""

    order_id: UUID
    payment_id: UUID
    amount: Decimal
    reason: str


@dataclass(frozen=True)
class PaymentVoided(Event):
    """The order was cancelled before any payment; none will be taken."""

    order_id: UUID
    reason: str


EVENTS: dict[str, type[Event]] = {
    event.type_name(): event
    for event in (
        PaymentApproved,
        PaymentDeclined,
        PaymentRefunded,
        PaymentVoided,
    )
}
