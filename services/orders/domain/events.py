"""Events of the order context, and the order line they carry."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from uuid import UUID

from services.shared.aggregate import Event


@dataclass(frozen=True)
class OrderLine:
    """One product of an order, with its quantity and unit price."""

    product_id: str
    quantity: int
    unit_price: Decimal

    @property
    def subtotal(self) -> Decimal:
        """Returns the unit price times the quantity."""
        return self.unit_price * self.quantity


@dataclass(frozen=True)
class OrderPlaced(Event):
    """A customer placed an order."""

    order_id: UUID
    customer_id: str
    lines: tuple[OrderLine, ...]
    total_amount: Decimal
    confirmation: str


@dataclass(frozen=True)
class OrderStockReserved(Event):
    """Inventory set aside every item of the order."""

    order_id: UUID
    customer_id: str
    total_amount: Decimal


@dataclass(frozen=True)
class OrderRejected(Event):
    """The order was turned down before payment, e.g. out of stock."""

    order_id: UUID
    reason: str


@dataclass(frozen=True)
class OrderPaid(Event):
    """The customer's payment for the order was approved."""

    order_id: UUID
    payment_id: UUID
    amount: Decimal


@dataclass(frozen=True)
class OrderConfirmed(Event):
    """The order was confirmed, automatically or by hand."""

    order_id: UUID


@dataclass(frozen=True)
class OrderReadyForDelivery(Event):
    """The order's stock left the warehouse on its way to the customer."""

    order_id: UUID


@dataclass(frozen=True)
class OrderCancelled(Event):
    """The order was cancelled, by the customer or a declined payment."""

    order_id: UUID
    reason: str
    previous_status: str


EVENTS: dict[str, type[Event]] = {
    event.type_name(): event
    for event in (
        OrderPlaced,
        OrderStockReserved,
        OrderRejected,
        OrderPaid,
        OrderConfirmed,
        OrderReadyForDelivery,
        OrderCancelled,
    )
}
