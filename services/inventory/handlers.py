"""What the inventory service does: reserve, dispatch and release stock.

Reacting to an order touches several product streams and the order's
reservation stream; all of them are saved in one transaction, so stock
is either reserved for every line of an order or for none.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from sqlalchemy.ext.asyncio import AsyncConnection

from services.inventory import messages
from services.inventory.adapters import reservations, stocks
from services.inventory.domain import (
    ProductStock,
    Reservation,
    ReservedLine,
    UnknownProduct,
    reservation_stream,
    reserve_stock,
    stock_stream,
)
from services.shared.catalogue import CATALOGUE
from services.shared.consumer import Subscription
from services.shared.messages import Envelope
from services.shared.repository import MessageContext

logger = logging.getLogger(__name__)

Stocks = dict[str, ProductStock | None]


async def seed_catalogue(conn: AsyncConnection) -> int:
    """Adds every catalogue product that has no stock stream yet."""
    added = 0
    for item in CATALOGUE:
        stream = stock_stream(item.product_id)
        if await stocks.store.current_version(conn, stream) > 0:
            continue
        stock = ProductStock.add_product(item.product_id, item.name,
                                         item.low_stock_threshold,
                                         item.initial_stock)
        await stocks.save(conn, stream, stock, MessageContext("seed"),
                          key=item.product_id)
        added += 1
    return added


async def add_stock(conn: AsyncConnection, product_id: str, quantity: int,
                    context: MessageContext) -> ProductStock:
    """Records that units of a product arrived."""
    stock = await stocks.load(conn, stock_stream(product_id))
    if stock is None:
        raise UnknownProduct(product_id)

    stock.add_stock(quantity)

    await stocks.save(conn, stock_stream(product_id), stock, context,
                      key=product_id)
    logger.info("stock added product_id=%s quantity=%s", product_id, quantity)
    return stock


async def reserve_for_order(conn: AsyncConnection, envelope: Envelope,
                            message: messages.OrderPlaced) -> None:
    """Reserves an order's items, all or nothing, and says which it was."""
    stream = reservation_stream(message.order_id)
    if await reservations.store.current_version(conn, stream) > 0:
        return
    lines = [ReservedLine(line.product_id, line.quantity) for line in message.lines]
    held = await _load_stocks(conn, (line.product_id for line in lines))

    reservation = reserve_stock(message.order_id, lines, held)

    await _save(conn, envelope, reservation, held)
    logger.info("reservation order_id=%s status=%s", message.order_id,
                reservation.status)


async def dispatch_for_order(conn: AsyncConnection, envelope: Envelope,
                             message: messages.OrderConfirmed) -> None:
    """Moves a confirmed order's stock to in transit: ready for delivery."""
    reservation = await reservations.load(conn, reservation_stream(message.order_id))
    if reservation is None:
        logger.warning("no reservation to dispatch order_id=%s", message.order_id)
        return
    held = await _load_stocks(conn, (line.product_id for line in reservation.lines))

    reservation.dispatch(held)

    await _save(conn, envelope, reservation, held)


async def release_for_order(conn: AsyncConnection, envelope: Envelope,
                            message: messages.OrderCancelled) -> None:
    """Gives a cancelled order's stock back to available."""
    reservation = await reservations.load(conn, reservation_stream(message.order_id))
    if reservation is None:
        return
    held = await _load_stocks(conn, (line.product_id for line in reservation.lines))

    reservation.release(held, message.reason)

    await _save(conn, envelope, reservation, held)


async def _load_stocks(conn: AsyncConnection, product_ids: Iterable[str]) -> Stocks:
    held: Stocks = {}
    for product_id in sorted(set(product_ids)):
        held[product_id] = await stocks.load(conn, stock_stream(product_id))
    return held


async def _save(conn: AsyncConnection, envelope: Envelope,
                reservation: Reservation, held: Stocks) -> None:
    context = MessageContext(envelope.correlation_id, str(envelope.event_id))
    for product_id, stock in held.items():
        if stock is not None:
            await stocks.save(conn, stock_stream(product_id), stock, context,
                              key=product_id)
    order_id = str(reservation.order_id)
    await reservations.save(conn, reservation_stream(reservation.order_id),
                            reservation, context, key=order_id)


SUBSCRIPTIONS = {
    "OrderPlaced": Subscription(messages.OrderPlaced, reserve_for_order),
    "OrderConfirmed": Subscription(messages.OrderConfirmed, dispatch_for_order),
    "OrderCancelled": Subscription(messages.OrderCancelled, release_for_order),
}

CONSUMED_TOPICS = ("orders-events",)
