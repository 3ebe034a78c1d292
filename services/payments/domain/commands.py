"""Commands the payment context accepts."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from uuid import UUID

from services.shared.aggregate import Command


@dataclass(frozen=True)
class ProcessPayment(Command):
    """Charges the customer for an order whose stock is reserved."""

    order_id: UUID
    payment_id: UUID
    customer_id: str
    amount: Decimal


@dataclass(frozen=True)
class RefundPayment(Command):
    """Pays back an order's charge, or voids it if none was taken."""

    order_id: UUID
    reason: str


COMMANDS: dict[str, type[Command]] = {
    command.type_name(): command
    for command in (ProcessPayment, RefundPayment)
}
