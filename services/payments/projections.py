"""Keeps one row per order's payment up to date."""

from __future__ import annotations

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from services.payments.adapters import payments_by_order
from services.shared.aggregate import Event
from services.shared.eventstore import RecordedEvent

STATUS_AFTER = {
    "PaymentApproved": "approved",
    "PaymentDeclined": "declined",
    "PaymentRefunded": "refunded",
    "PaymentVoided": "voided",
}


class PaymentsProjection:
    """The latest state of each order's payment."""

    name = "payments"

    async def apply(self, conn: AsyncConnection, recorded: RecordedEvent,
                    event: Event) -> None:
        """Applies one payment event."""
        data = recorded.data
        values = {
            "status": STATUS_AFTER[recorded.event_type],
            "reason": data.get("reason"),
            "correlation_id": recorded.correlation_id,
            "updated_at": recorded.recorded_at,
        }
        for column in ("payment_id", "customer_id", "amount"):
            if data.get(column) is not None:
                values[column] = data[column]
        statement = insert(payments_by_order).values(
            order_id=data["order_id"], **values)
        await conn.execute(statement.on_conflict_do_update(
            index_elements=["order_id"], set_=values))
