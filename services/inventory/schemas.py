"""The inventory API's request and response bodies."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

# Letters, digits, dot, dash and underscore: safe in a URL path and a log line.
PRODUCT_ID_PATTERN = r"^[A-Za-z0-9._-]+$"


class RestockRequest(BaseModel):
    """Body of `POST /inventory/{productId}/restock`."""

    model_config = ConfigDict(extra="forbid",
                              json_schema_extra={"examples": [{"quantity": 10}]})

    quantity: Annotated[int, Field(strict=True, gt=0, le=1_000_000)]


class StockView(BaseModel):
    """A product's stock as the read model shows it."""

    productId: str
    name: str
    available: int
    reserved: int
    inTransit: int
    lowStockThreshold: int
    lowStock: bool


class Restocked(BaseModel):
    """What a restock answers: the units now available."""

    productId: str
    available: int


class ReservationView(BaseModel):
    """What inventory holds for an order, and in which state."""

    orderId: UUID
    status: str
    lines: list[dict[str, Any]]
    reason: str | None
    correlationId: str | None
