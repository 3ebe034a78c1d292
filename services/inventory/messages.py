"""The inventory service's view of the order events it consumes."""

from __future__ import annotations

from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field


class Incoming(BaseModel):
    """Base of every consumed message: tolerant of extra fields."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    order_id: UUID


class Line(BaseModel):
    """A product and how many of it an order wants."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    product_id: str = Field(min_length=1)
    quantity: int = Field(gt=0)


class OrderPlaced(Incoming):
    """A customer placed an order: reserve its items."""

    lines: list[Line] = Field(min_length=1)


class OrderConfirmed(Incoming):
    """An order was confirmed: send its stock on its way."""


class OrderCancelled(Incoming):
    """An order was cancelled: give its stock back."""

    reason: str
