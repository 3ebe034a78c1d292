"""The order API's request and response bodies (camelCase, as the README shows)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, WithJsonSchema

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                        max_length=128)]
ProductId = Annotated[str, StringConstraints(min_length=1, max_length=64,
                                             pattern=r"^[A-Za-z0-9._-]+$")]
# Documented as a number of cents precision; decimal strings are accepted too.
Money = Annotated[Decimal, Field(ge=0, max_digits=12, decimal_places=2,
                                 allow_inf_nan=False),
                  WithJsonSchema({"type": "number", "minimum": 0,
                                  "maximum": 9999999999.99,
                                  "multipleOf": 0.01})]


class Strict(BaseModel):
    """Rejects unknown fields, so a typo is an error rather than ignored."""

    model_config = ConfigDict(extra="forbid")


class OrderItem(Strict):
    """One line of a new order."""

    productId: ProductId
    quantity: Annotated[int, Field(strict=True, gt=0, le=10_000)]
    unitPrice: Money


class PlaceOrderRequest(Strict):
    """Body of `POST /orders`."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "customerId": "customer-123",
        "items": [
            {"productId": "laptop-001", "quantity": 1, "unitPrice": 999.99},
            {"productId": "mouse-001", "quantity": 2, "unitPrice": 29.99},
        ],
        "totalAmount": 1059.97,
    }]})

    customerId: Text
    items: Annotated[list[OrderItem], Field(min_length=1, max_length=100)]
    totalAmount: Money | None = None
    confirmation: Literal["auto", "manual"] | None = Field(
        default=None,
        description="`manual` stops the order at `paid` until "
        "`PUT /orders/{id}/confirm`; the default is the service's setting.",
    )


class CancelOrderRequest(Strict):
    """Body of `PUT /orders/{id}/cancel`."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "examples": [{"reason": "Customer changed mind"}]})

    reason: Annotated[str, StringConstraints(strip_whitespace=True,
                                             min_length=1, max_length=500)]


class OrderCreated(BaseModel):
    """What `POST /orders` answers."""

    orderId: UUID
    correlationId: str


class OrderChanged(BaseModel):
    """What confirm and cancel answer."""

    orderId: UUID
    status: str
    changed: bool
    correlationId: str


class HistoryEntry(BaseModel):
    """One event of an order's history."""

    version: int
    type: str
    occurredAt: datetime
    correlationId: str | None
    data: dict[str, Any]


class OrderView(BaseModel):
    """An order as the read model shows it."""

    orderId: UUID
    customerId: str
    status: str
    items: list[dict[str, Any]]
    totalAmount: Decimal
    confirmation: str
    reason: str | None
    correlationId: str | None
    version: int
    createdAt: datetime
    updatedAt: datetime
    history: list[HistoryEntry] = []
