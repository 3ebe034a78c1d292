"""What the order service does: commands from HTTP, reactions to other contexts.

Each handler loads the order from its events, lets the aggregate decide,
and saves the new events (with their outgoing messages) in the caller's
transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncConnection

from services.orders import messages
from services.orders.adapters import orders
from services.orders.domain import (
    CancelOrder,
    ConfirmOrder,
    Order,
    OrderNotFound,
    PlaceOrder,
    order_stream,
)
from services.shared.consumer import Handler, Subscription, Unprocessable
from services.shared.eventstore import ConcurrencyConflict
from services.shared.messages import Envelope
from services.shared.repository import MessageContext

logger = logging.getLogger(__name__)


async def place_order(conn: AsyncConnection, cmd: PlaceOrder,
                      context: MessageContext) -> Order:
    """Places a new order: records OrderPlaced and announces it."""
    order = Order.place(cmd)

    await orders.save(conn, order_stream(cmd.order_id), order, context,
                      key=str(cmd.order_id))
    logger.info("order placed order_id=%s total=%s", cmd.order_id,
                order.total_amount)
    return order


async def confirm_order(conn: AsyncConnection, cmd: ConfirmOrder,
                        context: MessageContext) -> tuple[Order, bool]:
    """Confirms a paid order; True when this call changed it."""
    order = await _load(conn, cmd.order_id, cmd.expected_version)

    changed = order.confirm()

    await orders.save(conn, order_stream(cmd.order_id), order, context,
                      key=str(cmd.order_id))
    return order, changed


async def cancel_order(conn: AsyncConnection, cmd: CancelOrder,
                       context: MessageContext) -> Order:
    """Cancels an order that is not closed yet; compensations follow."""
    order = await _load(conn, cmd.order_id, cmd.expected_version)

    order.cancel(cmd.reason)

    await orders.save(conn, order_stream(cmd.order_id), order, context,
                      key=str(cmd.order_id))
    logger.info("order cancelled order_id=%s reason=%s", cmd.order_id,
                cmd.reason)
    return order


async def _load(conn: AsyncConnection, order_id: UUID,
                expected_version: int | None = None) -> Order:
    order = await orders.load(conn, order_stream(order_id))
    if order is None:
        raise OrderNotFound(order_id)
    # The caller decided on the order as it was at that version: if it has
    # moved on since, the decision may no longer hold.
    if expected_version is not None and order.version != expected_version:
        raise ConcurrencyConflict(order_stream(order_id), expected_version,
                                  order.version)
    return order


def _reaction(change: Callable[[Order, Any], None]) -> Handler:
    """A message handler that applies `change` to the message's order."""

    async def handle(conn: AsyncConnection, envelope: Envelope,
                     message: messages.Incoming) -> None:
        order = await orders.load(conn, order_stream(message.order_id))
        if order is None:
            raise Unprocessable(f"unknown order {message.order_id}")

        change(order, message)

        context = MessageContext(envelope.correlation_id, str(envelope.event_id))
        await orders.save(conn, order_stream(message.order_id), order, context,
                          key=str(message.order_id))

    return handle


def _subscribe(model: type[messages.Incoming],
               change: Callable[[Order, Any], None]) -> Subscription:
    return Subscription(model, _reaction(change))


# The saga, as seen from the order: which message moves it how.
SUBSCRIPTIONS = {
    "StockReserved": _subscribe(
        messages.StockReserved, lambda o, m: o.mark_stock_reserved()),
    "StockReservationRejected": _subscribe(
        messages.StockReservationRejected, lambda o, m: o.reject(m.reason)),
    "PaymentApproved": _subscribe(
        messages.PaymentApproved, lambda o, m: o.mark_paid(m.payment_id, m.amount)),
    "PaymentDeclined": _subscribe(
        messages.PaymentDeclined, lambda o, m: o.decline_payment(m.reason)),
    "StockInTransit": _subscribe(
        messages.StockInTransit, lambda o, m: o.mark_ready_for_delivery()),
}

CONSUMED_TOPICS = ("inventory-events", "payments-events")
