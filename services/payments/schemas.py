"""The payment API's response bodies."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from uuid import UUID

from pydantic import BaseModel


class PaymentView(BaseModel):
    """An order's payment as the read model shows it."""

    orderId: UUID
    paymentId: UUID | None
    customerId: str | None
    status: str
    amount: Decimal | None
    reason: str | None
    correlationId: str | None
    updatedAt: datetime
