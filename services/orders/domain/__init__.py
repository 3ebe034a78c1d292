"""The order context's domain model: commands, events, errors, aggregate."""

from __future__ import annotations

from services.orders.domain.commands import (
    COMMANDS,
    CancelOrder,
    ConfirmOrder,
    PlaceOrder,
)
from services.orders.domain.errors import (
    InvalidOrder,
    OrderConflict,
    OrderError,
    OrderNotCancellable,
    OrderNotConfirmable,
    OrderNotFound,
)
from services.orders.domain.events import (
    EVENTS,
    OrderCancelled,
    OrderConfirmed,
    OrderLine,
    OrderPaid,
    OrderPlaced,
    OrderReadyForDelivery,
    OrderRejected,
    OrderStockReserved,
)
from services.orders.domain.order import Order, OrderStatus, order_stream

__all__ = [
    "COMMANDS",
    "EVENTS",
    "CancelOrder",
    "ConfirmOrder",
    "InvalidOrder",
    "Order",
    "OrderCancelled",
    "OrderConfirmed",
    "OrderConflict",
    "OrderError",
    "OrderLine",
    "OrderNotCancellable",
    "OrderNotConfirmable",
    "OrderNotFound",
    "OrderPaid",
    "OrderPlaced",
    "OrderReadyForDelivery",
    "OrderRejected",
    "OrderStatus",
    "OrderStockReserved",
    "PlaceOrder",
    "order_stream",
]
