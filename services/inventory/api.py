"""The inventory service's HTTP API: stock per product, restocking, reservations."""

from __future__ import annotations

import logging
import uuid
from typing import Annotated

from fastapi import HTTPException, Path, Request
from fastapi.responses import JSONResponse
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from services.inventory import adapters, handlers, projections
from services.inventory.adapters import reservations_by_order, stock_levels
from services.inventory.domain import InvalidQuantity, UnknownProduct
from services.inventory.schemas import (
    PRODUCT_ID_PATTERN,
    ReservationView,
    Restocked,
    RestockRequest,
    StockView,
)
from services.shared.commands import run_command
from services.shared.eventstore import ConcurrencyConflict
from services.shared.http import Answer, correlation_id_of, error_body
from services.shared.repository import MessageContext
from services.shared.service import ServiceSpec, create_app, runtime_of
from services.shared.settings import LabSettings

logger = logging.getLogger(__name__)


async def _seed(engine: AsyncEngine, settings: LabSettings) -> None:
    try:
        async with engine.begin() as conn:
            added = await handlers.seed_catalogue(conn)
    except ConcurrencyConflict:
        # Another instance seeded at the same moment; its products stand.
        return
    if added:
        logger.info("catalogue seeded products=%s", added)


SPEC = ServiceSpec(
    name="inventory",
    plumbing=adapters.plumbing,
    codec=adapters.codec,
    topics=handlers.CONSUMED_TOPICS,
    subscriptions=handlers.SUBSCRIPTIONS,
    projections=[projections.StockLevelsProjection(),
                 projections.ReservationsProjection()],
    setup=_seed,
)

app = create_app(SPEC, "CQRS Lab: inventory service",
                 "Stock per product, reserved per order by the order saga.")

ProductId = Annotated[str, Path(min_length=1, max_length=64,
                                pattern=PRODUCT_ID_PATTERN,
                                description="A product id, e.g. laptop-001.")]


@app.exception_handler(UnknownProduct)
async def _unknown(request: Request, exc: Exception) -> JSONResponse:
    return error_body(404, "product_not_found", str(exc))


@app.exception_handler(InvalidQuantity)
async def _invalid(request: Request, exc: Exception) -> JSONResponse:
    return error_body(422, "invalid_quantity", str(exc),
                      [{"field": "quantity", "problem": str(exc)}])


def _view(row: object) -> StockView:
    r = dict(row)  # type: ignore[call-overload]
    return StockView(productId=r["product_id"], name=r["name"],
                     available=r["available"], reserved=r["reserved"],
                     inTransit=r["in_transit"],
                     lowStockThreshold=r["low_stock_threshold"],
                     lowStock=r["low_stock"])


@app.get("/inventory", tags=["inventory"], summary="List every product's stock")
async def list_stock() -> Answer[list[StockView]]:
    """Every product with its available, reserved and in-transit units."""
    async with runtime_of(app).engine.connect() as conn:
        rows = (await conn.execute(select(stock_levels)
                                   .order_by(stock_levels.c.product_id)))
        views = [_view(row) for row in rows.mappings()]
    return Answer(data=views)


@app.get("/inventory/{product_id}", tags=["inventory"],
         summary="Read one product's stock")
async def get_stock(product_id: ProductId) -> Answer[StockView]:
    """One product's stock, from the read model."""
    async with runtime_of(app).engine.connect() as conn:
        row = (await conn.execute(select(stock_levels).where(
            stock_levels.c.product_id == product_id))).mappings().first()
    if row is None:
        raise UnknownProduct(product_id)
    return Answer(data=_view(row))


@app.post("/inventory/{product_id}/restock", tags=["inventory"],
          summary="Add units to a product's stock")
async def restock(request: Request, product_id: ProductId,
                  body: RestockRequest) -> Answer[Restocked]:
    """Records that units arrived; they become available at once."""
    context = MessageContext(correlation_id_of(request))
    stock = await run_command(
        runtime_of(app).engine,
        lambda conn: handlers.add_stock(conn, product_id, body.quantity,
                                        context))
    return Answer(data=Restocked(productId=product_id,
                                 available=stock.available))


@app.get("/reservations/{order_id}", tags=["inventory"],
         summary="Read what is reserved for an order")
async def get_reservation(order_id: uuid.UUID) -> Answer[ReservationView]:
    """The order's reservation: its lines and state, from the read model."""
    async with runtime_of(app).engine.connect() as conn:
        row = (await conn.execute(select(reservations_by_order).where(
            reservations_by_order.c.order_id == order_id))).mappings().first()
    if row is None:
        raise HTTPException(404, f"no reservation for order {order_id} (yet)")
    return Answer(data=ReservationView(
        orderId=row["order_id"], status=row["status"], lines=row["lines"],
        reason=row["reason"], correlationId=row["correlation_id"]))
