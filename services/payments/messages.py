"""The payment service's view of the order events it consumes."""

from __future__ import annotations

from decimal import Decimal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field


class Incoming(BaseModel):
    """Base of every consumed message: tolerant of extra fields."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    order_id: UUID


class OrderStockReserved(Incoming):
    """An order's stock is reserved: charge the customer."""

    customer_id: str
    total_amount: Decimal = Field(ge=0)


class OrderCancelled(Incoming):
    """An order was cancelled: refund or void its payment."""

    reason: str
