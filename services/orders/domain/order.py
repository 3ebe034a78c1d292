"""The order aggregate: an order's life from placement to delivery."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from enum import StrEnum
from uuid import UUID

from services.orders.domain.commands import PlaceOrder
from services.orders.domain.errors import (
    InvalidOrder,
    OrderNotCancellable,
    OrderNotConfirmable,
)
from services.orders.domain.events import (
    OrderCancelled,
    OrderConfirmed,
    OrderLine,
    OrderPaid,
    OrderPlaced,
    OrderReadyForDelivery,
    OrderRejected,
    OrderStockReserved,
)
from services.shared.aggregate import Aggregate, Event
from services.shared.catalogue import PRODUCT_IDS

CONFIRMATION_MODES = frozenset({"auto", "manual"})
CENT = Decimal("0.01")
# Stands in for the id until OrderPlaced is applied, so the attribute is
# never None for code that only sees placed orders.
NO_ORDER = UUID(int=0)


class OrderStatus(StrEnum):
    """The stages an order moves through."""

    PENDING = "pending"
    STOCK_RESERVED = "stock_reserved"
    PAID = "paid"
    CONFIRMED = "confirmed"
    READY_FOR_DELIVERY = "ready_for_delivery"
    REJECTED = "rejected"
    CANCELLED = "cancelled"

    @property
    def is_final(self) -> bool:
        """Tells whether the order has ended without being fulfilled."""
        return self in (OrderStatus.REJECTED, OrderStatus.CANCELLED)


def order_stream(order_id: UUID) -> str:
    """Returns the event-store stream id of an order."""
    return f"order-{order_id}"


class Order(Aggregate):
    """An order whose state is rebuilt from its events."""

    def __init__(self) -> None:
        super().__init__()
        self.order_id: UUID = NO_ORDER
        self.customer_id = ""
        self.lines: tuple[OrderLine, ...] = ()
        self.total_amount = Decimal("0.00")
        self.status = OrderStatus.PENDING
        self.confirmation = "auto"
        self.reason: str | None = None

    @classmethod
    def place(cls, cmd: PlaceOrder) -> Order:
        """Validates a new order and records that it was placed."""
        customer_id = cmd.customer_id.strip()
        if not customer_id:
            raise InvalidOrder("customerId", "must not be empty")
        total = _validated_total(cmd.lines)
        if cmd.confirmation not in CONFIRMATION_MODES:
            raise InvalidOrder(
                "confirmation", "must be 'auto' or 'manual'"
            )
        if cmd.total_amount is not None and cmd.total_amount != total:
            raise InvalidOrder(
                "totalAmount",
                f"must equal the sum of the items, expected {total}",
            )
        order = cls()
        order.record(
            OrderPlaced(
                cmd.order_id,
                customer_id,
                tuple(cmd.lines),
                total,
                cmd.confirmation,
            )
        )
        return order

    def mark_stock_reserved(self) -> None:
        """Records that inventory reserved the stock of a pending order."""
        if self.status is not OrderStatus.PENDING:
            return
        self.record(
            OrderStockReserved(
                self.order_id, self.customer_id, self.total_amount
            )
        )

    def reject(self, reason: str) -> None:
        """Records that a pending order was turned down."""
        if self.status is OrderStatus.PENDING:
            self.record(OrderRejected(self.order_id, reason))

    def mark_paid(self, payment_id: UUID, amount: Decimal) -> None:
        """Records the payment, and the confirmation when it is automatic."""
        if self.status is not OrderStatus.STOCK_RESERVED:
            return
        self.record(OrderPaid(self.order_id, payment_id, amount))
        if self.confirmation == "auto":
            self.record(OrderConfirmed(self.order_id))

    def decline_payment(self, reason: str) -> None:
        """Cancels an order whose payment was declined."""
        if self.status is OrderStatus.STOCK_RESERVED:
            self._record_cancelled(f"payment declined: {reason}")

    def confirm(self) -> bool:
        """Confirms a paid order; False when it was already confirmed."""
        if self.status is OrderStatus.PAID:
            self.record(OrderConfirmed(self.order_id))
            return True
        if self.status in (
            OrderStatus.CONFIRMED,
            OrderStatus.READY_FOR_DELIVERY,
        ):
            return False
        raise OrderNotConfirmable(self._why_not_confirmable())

    def mark_ready_for_delivery(self) -> None:
        """Records that a confirmed order's stock is on its way."""
        if self.status is OrderStatus.CONFIRMED:
            self.record(OrderReadyForDelivery(self.order_id))

    def cancel(self, reason: str) -> None:
        """Cancels the order unless it already ended."""
        if not reason.strip():
            raise InvalidOrder("reason", "must not be empty")
        if self.status.is_final:
            raise OrderNotCancellable(
                f"order {self.order_id} is already {self.status}"
                " and cannot be cancelled"
            )
        self._record_cancelled(reason.strip())

    def apply(self, event: Event) -> None:
        """Changes the order's state by one of its events."""
        match event:
            case OrderPlaced():
                self._apply_placed(event)
            case OrderStockReserved():
                self.status = OrderStatus.STOCK_RESERVED
            case OrderRejected():
                self.status = OrderStatus.REJECTED
                self.reason = event.reason
            case OrderPaid():
                self.status = OrderStatus.PAID
            case OrderConfirmed():
                self.status = OrderStatus.CONFIRMED
            case OrderReadyForDelivery():
                self.status = OrderStatus.READY_FOR_DELIVERY
            case OrderCancelled():
                self.status = OrderStatus.CANCELLED
                self.reason = event.reason
            case _:
                raise TypeError(f"Order cannot apply {event.type_name()}")

    def _apply_placed(self, event: OrderPlaced) -> None:
        self.order_id = event.order_id
        self.customer_id = event.customer_id
        self.lines = event.lines
        self.total_amount = event.total_amount
        self.confirmation = event.confirmation
        self.status = OrderStatus.PENDING

    def _record_cancelled(self, reason: str) -> None:
        self.record(OrderCancelled(self.order_id, reason, str(self.status)))

    def _why_not_confirmable(self) -> str:
        if self.status.is_final:
            return (
                f"order {self.order_id} is {self.status}"
                " and can no longer be confirmed"
            )
        if self.confirmation == "auto":
            return (
                f"order {self.order_id} is not paid yet; it will be"
                " confirmed automatically once paid"
            )
        return (
            f"order {self.order_id} is not paid yet; confirm it once it"
            " is paid"
        )


def _validated_total(lines: tuple[OrderLine, ...]) -> Decimal:
    """Checks every line and returns the order's total in cents."""
    if not lines:
        raise InvalidOrder("items", "must contain at least one item")
    for index, line in enumerate(lines):
        _check_line(index, line)
    return sum((line.subtotal for line in lines), Decimal(0)).quantize(CENT)


def _check_line(index: int, line: OrderLine) -> None:
    """Raises InvalidOrder naming the first bad field of one line."""
    field = f"items[{index}]"
    quantity = line.quantity
    # bool is an int subclass, but True is not a quantity.
    if not isinstance(quantity, int) or isinstance(quantity, bool):
        raise InvalidOrder(f"{field}.quantity", "must be a whole number")
    if quantity <= 0:
        raise InvalidOrder(f"{field}.quantity", "must be greater than 0")
    if not _is_price(line.unit_price):
        raise InvalidOrder(
            f"{field}.unitPrice",
            "must be a number >= 0 with at most 2 decimal places",
        )
    if line.product_id not in PRODUCT_IDS:
        raise InvalidOrder(
            f"{field}.productId", f"unknown product {line.product_id!r}"
        )


def _is_price(price: object) -> bool:
    """Tells whether `price` is a finite, non-negative amount in cents."""
    if not isinstance(price, Decimal) or not price.is_finite() or price < 0:
        return False
    try:
        # Value-based, so "1.50" and "1.500" both count as cents.
        return price == price.quantize(CENT)
    except InvalidOperation:
        return False
