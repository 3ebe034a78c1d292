"""Keeps the order summaries and histories up to date from order events."""

from __future__ import annotations

from typing import Any

from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from services.orders.adapters import order_history, order_summaries
from services.orders.domain import (
    OrderCancelled,
    OrderPlaced,
    OrderRejected,
    OrderStatus,
)
from services.shared.aggregate import Event
from services.shared.eventstore import RecordedEvent

# The status each event leaves the order in.
STATUS_AFTER = {
    "OrderPlaced": OrderStatus.PENDING,
    "OrderStockReserved": OrderStatus.STOCK_RESERVED,
    "OrderRejected": OrderStatus.REJECTED,
    "OrderPaid": OrderStatus.PAID,
    "OrderConfirmed": OrderStatus.CONFIRMED,
    "OrderReadyForDelivery": OrderStatus.READY_FOR_DELIVERY,
    "OrderCancelled": OrderStatus.CANCELLED,
}


class OrderSummaryProjection:
    """One row per order with its latest status, and one history row per event."""

    name = "order_summaries"

    async def apply(self, conn: AsyncConnection, recorded: RecordedEvent,
                    event: Event) -> None:
        """Applies one order event."""
        if isinstance(event, OrderPlaced):
            await self._insert_summary(conn, recorded, event)
        else:
            await self._update_summary(conn, recorded, event)
        await self._append_history(conn, recorded)

    async def _insert_summary(self, conn: AsyncConnection,
                              recorded: RecordedEvent, event: OrderPlaced) -> None:
        await conn.execute(insert(order_summaries).values(
            order_id=event.order_id,
            customer_id=event.customer_id,
            status=OrderStatus.PENDING.value,
            total_amount=event.total_amount,
            items=[_item(line) for line in recorded.data["lines"]],
            confirmation=event.confirmation,
            correlation_id=recorded.correlation_id,
            version=recorded.version,
            created_at=recorded.recorded_at,
            updated_at=recorded.recorded_at,
        ).on_conflict_do_nothing())

    async def _update_summary(self, conn: AsyncConnection,
                              recorded: RecordedEvent, event: Event) -> None:
        values: dict[str, Any] = {
            "status": STATUS_AFTER[recorded.event_type].value,
            "version": recorded.version,
            "updated_at": recorded.recorded_at,
        }
        if isinstance(event, (OrderRejected, OrderCancelled)):
            values["reason"] = event.reason
        order_id = recorded.data["order_id"]
        await conn.execute(update(order_summaries)
                           .where(order_summaries.c.order_id == order_id)
                           .values(**values))

    async def _append_history(self, conn: AsyncConnection,
                              recorded: RecordedEvent) -> None:
        await conn.execute(insert(order_history).values(
            order_id=recorded.data["order_id"],
            version=recorded.version,
            position=recorded.position,
            event_type=recorded.event_type,
            data=recorded.data,
            correlation_id=recorded.correlation_id,
            occurred_at=recorded.recorded_at,
        ).on_conflict_do_nothing())


def _item(line: dict[str, Any]) -> dict[str, Any]:
    # The API speaks camelCase, as the order was placed.
    return {"productId": line["product_id"], "quantity": line["quantity"],
            "unitPrice": line["unit_price"]}
