"""The payment service's HTTP API: payments by order, from the read model."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import HTTPException, Path, Query
from sqlalchemy import select

from services.payments import adapters, handlers, projections
from services.payments.adapters import payments_by_order
from services.payments.schemas import PaymentView
from services.shared.http import Answer
from services.shared.service import ServiceSpec, create_app, runtime_of

SPEC = ServiceSpec(
    name="payments",
    plumbing=adapters.plumbing,
    codec=adapters.codec,
    topics=handlers.CONSUMED_TOPICS,
    subscriptions=handlers.SUBSCRIPTIONS,
    projections=[projections.PaymentsProjection()],
)

app = create_app(
    SPEC, "CQRS Lab: payment service",
    "Charges orders whose stock is reserved; refunds cancelled ones. Payments "
    "above CQRS_LAB_PAYMENT_DECLINE_ABOVE (default 5000.00), or for customer "
    "ids starting with `decline-`, are declined.",
)


def _view(row: object) -> PaymentView:
    r = dict(row)  # type: ignore[call-overload]
    return PaymentView(
        orderId=r["order_id"], paymentId=r["payment_id"],
        customerId=r["customer_id"], status=r["status"], amount=r["amount"],
        reason=r["reason"], correlationId=r["correlation_id"],
        updatedAt=r["updated_at"])


@app.get("/payments/{order_id}", tags=["payments"],
         summary="Read the payment of an order")
async def get_payment(
    order_id: Annotated[uuid.UUID, Path(description="The order's UUID.")],
) -> Answer[PaymentView]:
    """The order's payment: approved, declined, refunded or voided."""
    async with runtime_of(app).engine.connect() as conn:
        row = (await conn.execute(select(payments_by_order).where(
            payments_by_order.c.order_id == order_id))).mappings().first()
    if row is None:
        raise HTTPException(404, f"no payment for order {order_id} (yet)")
    return Answer(data=_view(row))


@app.get("/payments", tags=["payments"], summary="List recent payments")
async def list_payments(
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> Answer[list[PaymentView]]:
    """The newest payments first."""
    query = (select(payments_by_order)
             .order_by(payments_by_order.c.updated_at.desc()).limit(limit))
    async with runtime_of(app).engine.connect() as conn:
        rows = (await conn.execute(query)).mappings().all()
    return Answer(data=[_view(row) for row in rows])
