"""The order service's view of the events it consumes from other contexts.

Each model names only the fields this service reads and ignores the rest,
so the publisher can add fields without breaking it.
"""

from __future__ import annotations

from decimal import Decimal
from uuid import UUID

from pydantic import BaseModel, ConfigDict


class Incoming(BaseModel):
    """Base of every consumed message: tolerant of extra fields."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    order_id: UUID


class StockReserved(Incoming):
    """Inventory reserved every item of an order."""


class StockReservationRejected(Incoming):
    """Inventory could not reserve an order's items."""

    reason: str


class StockInTransit(Incoming):
    """Inventory moved an order's stock to in transit: ready for delivery."""


class PaymentApproved(Incoming):
    """Payments took the money for an order."""

    payment_id: UUID
    amount: Decimal


class PaymentDeclined(Incoming):
    """Payments refused to take the money for an order."""

    reason: str
