"""The order service's HTTP API: commands change orders, queries read summaries."""

from __future__ import annotations

import logging
import uuid
from typing import Annotated

from fastapi import Body, Path, Query, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy import select

from services.orders import adapters, handlers, projections
from services.orders.adapters import order_history, order_summaries
from services.orders.domain import (
    CancelOrder,
    ConfirmOrder,
    InvalidOrder,
    OrderConflict,
    OrderLine,
    OrderNotFound,
    PlaceOrder,
)
from services.orders.schemas import (
    CancelOrderRequest,
    HistoryEntry,
    OrderChanged,
    OrderCreated,
    OrderView,
    PlaceOrderRequest,
)
from services.shared.commands import run_command
from services.shared.http import (
    Answer,
    ExpectedVersion,
    correlation_id_of,
    error_body,
    etag,
)
from services.shared.repository import MessageContext
from services.shared.service import ServiceSpec, create_app, runtime_of
from services.shared.settings import get_settings
from services.shared.tracing import annotate

logger = logging.getLogger(__name__)

SPEC = ServiceSpec(
    name="orders",
    plumbing=adapters.plumbing,
    codec=adapters.codec,
    topics=handlers.CONSUMED_TOPICS,
    subscriptions=handlers.SUBSCRIPTIONS,
    projections=[projections.OrderSummaryProjection()],
)

app = create_app(SPEC, "CQRS Lab: order service",
                 "Places, confirms and cancels orders; reads order summaries.")

OrderId = Annotated[uuid.UUID, Path(description="The order's UUID.")]


@app.exception_handler(InvalidOrder)
async def _invalid(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, InvalidOrder)
    return error_body(422, "invalid_order", str(exc),
                      [{"field": exc.field, "problem": exc.problem}])


@app.exception_handler(OrderNotFound)
async def _not_found(request: Request, exc: Exception) -> JSONResponse:
    return error_body(404, "order_not_found", str(exc))


@app.exception_handler(OrderConflict)
async def _conflict(request: Request, exc: Exception) -> JSONResponse:
    return error_body(409, "order_conflict", str(exc))


def _context(request: Request) -> MessageContext:
    return MessageContext(correlation_id=correlation_id_of(request))


@app.post("/orders", status_code=201, tags=["orders"],
          summary="Place an order")
async def create_order(request: Request,
                       body: PlaceOrderRequest) -> Answer[OrderCreated]:
    """Places an order; the saga then reserves stock and takes payment."""
    command = PlaceOrder(
        order_id=uuid.uuid4(),
        customer_id=body.customerId,
        lines=tuple(OrderLine(i.productId, i.quantity, i.unitPrice)
                    for i in body.items),
        total_amount=body.totalAmount,
        confirmation=body.confirmation or get_settings().confirmation_mode,
    )
    annotate(order_id=command.order_id)
    async with runtime_of(app).engine.begin() as conn:
        await handlers.place_order(conn, command, _context(request))
    return Answer(data=OrderCreated(orderId=command.order_id,
                                    correlationId=correlation_id_of(request)))


@app.put("/orders/{order_id}/confirm", tags=["orders"],
         summary="Confirm a paid order")
async def confirm_order(request: Request, order_id: OrderId,
                        expected: ExpectedVersion) -> Answer[OrderChanged]:
    """Confirms a paid order; an order already confirmed stays as it is."""
    annotate(order_id=order_id)
    command, context = ConfirmOrder(order_id, expected), _context(request)
    order, changed = await run_command(
        runtime_of(app).engine,
        lambda conn: handlers.confirm_order(conn, command, context),
        retry=expected is None)
    return Answer(data=OrderChanged(orderId=order_id, status=order.status.value,
                                    changed=changed,
                                    correlationId=correlation_id_of(request)))


@app.put("/orders/{order_id}/cancel", tags=["orders"], summary="Cancel an order")
async def cancel_order(
    request: Request, order_id: OrderId, expected: ExpectedVersion,
    body: Annotated[CancelOrderRequest | None, Body()] = None,
) -> Answer[OrderChanged]:
    """Cancels an order; payment is refunded and stock released by the saga."""
    reason = body.reason if body else "cancelled by the customer"
    annotate(order_id=order_id)
    command, context = CancelOrder(order_id, reason, expected), _context(request)
    order = await run_command(
        runtime_of(app).engine,
        lambda conn: handlers.cancel_order(conn, command, context),
        retry=expected is None)
    return Answer(data=OrderChanged(orderId=order_id, status=order.status.value,
                                    changed=True,
                                    correlationId=correlation_id_of(request)))


@app.get("/orders/{order_id}", tags=["orders"], summary="Read one order")
async def get_order(order_id: OrderId, response: Response) -> Answer[OrderView]:
    """The order's summary and its history, from the read model."""
    async with runtime_of(app).engine.connect() as conn:
        row = (await conn.execute(select(order_summaries).where(
            order_summaries.c.order_id == order_id))).mappings().first()
        if row is None:
            raise OrderNotFound(order_id)
        history = (await conn.execute(
            select(order_history).where(order_history.c.order_id == order_id)
            .order_by(order_history.c.version))).mappings().all()
    view = _view(row)
    # The version as the read model last saw it: send it back as If-Match.
    response.headers["ETag"] = etag(row["version"])
    view.history = [HistoryEntry(
        version=h["version"], type=h["event_type"], occurredAt=h["occurred_at"],
        correlationId=h["correlation_id"], data=h["data"]) for h in history]
    return Answer(data=view)


@app.get("/orders", tags=["orders"], summary="List recent orders")
async def list_orders(
    status: Annotated[str | None, Query(max_length=32)] = None,
    customerId: Annotated[str | None, Query(max_length=128)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> Answer[list[OrderView]]:
    """The newest orders first, optionally filtered by status or customer."""
    query = select(order_summaries).order_by(
        order_summaries.c.created_at.desc()).limit(limit)
    if status:
        query = query.where(order_summaries.c.status == status)
    if customerId:
        query = query.where(order_summaries.c.customer_id == customerId)
    async with runtime_of(app).engine.connect() as conn:
        rows = (await conn.execute(query)).mappings().all()
    return Answer(data=[_view(row) for row in rows])


def _view(row: object) -> OrderView:
    r = dict(row)  # type: ignore[call-overload]
    return OrderView(
        orderId=r["order_id"], customerId=r["customer_id"], status=r["status"],
        items=r["items"], totalAmount=r["total_amount"],
        confirmation=r["confirmation"], reason=r["reason"],
        correlationId=r["correlation_id"], version=r["version"],
        createdAt=r["created_at"], updatedAt=r["updated_at"],
    )
