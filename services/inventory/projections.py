"""Keeps stock levels per product and reservations per order up to date."""

from __future__ import annotations

from typing import Any

from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from services.inventory.adapters import reservations_by_order, stock_levels
from services.inventory.domain import (
    ProductAdded,
    StockAdded,
    StockAllocated,
    StockDeallocated,
    StockDispatched,
    StockInTransit,
    StockReleased,
    StockReservationRejected,
    StockReserved,
)
from services.shared.aggregate import Event
from services.shared.eventstore import RecordedEvent

c = stock_levels.c


class StockLevelsProjection:
    """One row per product: available, reserved and in-transit units."""

    name = "stock_levels"

    async def apply(self, conn: AsyncConnection, recorded: RecordedEvent,
                    event: Event) -> None:
        """Applies one stock event; reservation events are not its concern."""
        if isinstance(event, ProductAdded):
            await conn.execute(insert(stock_levels).values(
                product_id=event.product_id, name=event.name, available=0,
                reserved=0, in_transit=0,
                low_stock_threshold=event.low_stock_threshold, low_stock=True,
                updated_at=recorded.recorded_at,
            ).on_conflict_do_nothing())
            return
        change = _change(event)
        if change is None:
            return
        product_id, values = change
        values["updated_at"] = recorded.recorded_at
        await conn.execute(update(stock_levels)
                           .where(c.product_id == product_id).values(**values))
        await conn.execute(update(stock_levels)
                           .where(c.product_id == product_id)
                           .values(low_stock=c.available <= c.low_stock_threshold))


def _change(event: Event) -> tuple[str, dict[str, Any]] | None:
    match event:
        case StockAdded():
            return event.product_id, {"available": c.available + event.quantity}
        case StockAllocated():
            return event.product_id, {
                "available": c.available - event.quantity,
                "reserved": c.reserved + event.quantity}
        case StockDispatched():
            return event.product_id, {
                "reserved": c.reserved - event.quantity,
                "in_transit": c.in_transit + event.quantity}
        case StockDeallocated():
            held = c.reserved if event.source == "reserved" else c.in_transit
            return event.product_id, {
                "available": c.available + event.quantity,
                held.name: held - event.quantity}
    return None


class ReservationsProjection:
    """One row per order: what inventory holds for it and in which state."""

    name = "reservations"

    async def apply(self, conn: AsyncConnection, recorded: RecordedEvent,
                    event: Event) -> None:
        """Applies one reservation event; stock events are not its concern."""
        status = {StockReserved: "reserved", StockReservationRejected: "rejected",
                  StockReleased: "released", StockInTransit: "in_transit"}.get(
                      type(event))
        if status is None:
            return
        values = {"status": status, "updated_at": recorded.recorded_at,
                  "lines": recorded.data.get("lines", []),
                  "reason": recorded.data.get("reason"),
                  "correlation_id": recorded.correlation_id}
        statement = insert(reservations_by_order).values(
            order_id=recorded.data["order_id"], **values)
        await conn.execute(statement.on_conflict_do_update(
            index_elements=["order_id"], set_=values))
