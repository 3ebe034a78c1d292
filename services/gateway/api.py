"""The API gateway: one entry point and one OpenAPI document for every service.

It validates requests with the services' own models, so bad input is
answered here and never reaches a service, forwards the caller's
correlation id, and turns a stopped service into a clear 503.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

import httpx
from fastapi import APIRouter, Body, Depends, FastAPI, Header, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from services.inventory.schemas import (
    PRODUCT_ID_PATTERN,
    ReservationView,
    Restocked,
    RestockRequest,
    StockView,
)
from services.orders.schemas import (
    CancelOrderRequest,
    OrderChanged,
    OrderCreated,
    OrderView,
    PlaceOrderRequest,
)
from services.payments.schemas import PaymentView
from services.shared.correlation import HEADER
from services.shared.http import (
    ERROR_RESPONSES,
    Answer,
    BodyLimitMiddleware,
    CorrelationMiddleware,
    ExpectedVersion,
    correlation_id_of,
    error_body,
    install_error_handlers,
)
from services.shared.settings import get_settings
from services.shared.tracing import instrument_app

logger = logging.getLogger(__name__)

NAMES = {"orders": "order service", "payments": "payment service",
         "inventory": "inventory service"}


def correlation_header(
    x_correlation_id: Annotated[str | None, Header(
        alias=HEADER, description="Ties every log line, event and trace of "
        "this request together; generated when absent.",
        examples=["flow-test-001"])] = None,
) -> None:
    """Documents the correlation header; the middleware does the work."""


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    async with httpx.AsyncClient(timeout=10.0) as client:
        app.state.client = client
        yield


app = FastAPI(
    title="CQRS Lab API gateway",
    description="The single entry point of the lab. Commands go to the order "
    "service; queries read each service's read models. Every answer carries "
    "the `X-Correlation-ID` of the request.",
    lifespan=lifespan,
    responses=ERROR_RESPONSES,
)
install_error_handlers(app)
app.add_middleware(BodyLimitMiddleware)
# Added last, so outermost: even a 413 carries the correlation id.
app.add_middleware(CorrelationMiddleware)
instrument_app(app)

api = APIRouter(prefix="/api", dependencies=[Depends(correlation_header)])

OrderId = Annotated[uuid.UUID, Path(description="The order's UUID.")]


class Health(BaseModel):
    """A service's health answer."""

    status: str
    service: str
    checks: dict[str, str] = {}
ProductId = Annotated[str, Path(min_length=1, max_length=64,
                                pattern=PRODUCT_ID_PATTERN,
                                description="A product id, e.g. laptop-001.")]


# Headers that cross the gateway as they are, both ways.
PASSED_ON = ("if-match",)
PASSED_BACK = ("etag",)


async def forward(request: Request, service: str, method: str, path: str,
                  body: Any = None, params: dict[str, Any] | None = None
                  ) -> JSONResponse:
    """Sends the request on to a service and hands back its answer."""
    url = get_settings().service_url(service) + path
    headers = {HEADER: correlation_id_of(request)}
    headers.update({k: v for k in PASSED_ON
                    if (v := request.headers.get(k)) is not None})
    query = {k: v for k, v in (params or {}).items() if v is not None}
    client: httpx.AsyncClient = request.app.state.client
    try:
        response = await client.request(method, url, json=body, params=query,
                                        headers=headers)
    except httpx.TimeoutException:
        logger.warning("timeout service=%s path=%s", service, path)
        return error_body(504, "service_timeout",
                          f"the {NAMES[service]} did not answer in time")
    except httpx.TransportError:
        logger.warning("unavailable service=%s path=%s", service, path)
        return error_body(503, "service_unavailable",
                          f"the {NAMES[service]} is not answering at "
                          f"{url}; start it with `cqrs-lab start {service}`")
    back = {k: v for k in PASSED_BACK if (v := response.headers.get(k))}
    return JSONResponse(response.json(), status_code=response.status_code,
                        headers=back)


@app.get("/health", tags=["health"], summary="Health of the gateway")
async def health() -> dict[str, str]:
    """Answers while the gateway runs; each service has its own health route."""
    return {"status": "ok", "service": "gateway"}


@api.get("/orders/health", tags=["health"], summary="Health of the order service",
         response_model=Health)
async def orders_health(request: Request) -> JSONResponse:
    """The order service's own health answer."""
    return await forward(request, "orders", "GET", "/health")


@api.get("/payments/health", tags=["health"],
         summary="Health of the payment service", response_model=Health)
async def payments_health(request: Request) -> JSONResponse:
    """The payment service's own health answer."""
    return await forward(request, "payments", "GET", "/health")


@api.get("/inventory/health", tags=["health"],
         summary="Health of the inventory service", response_model=Health)
async def inventory_health(request: Request) -> JSONResponse:
    """The inventory service's own health answer."""
    return await forward(request, "inventory", "GET", "/health")


@api.post("/orders", status_code=201, tags=["orders"], summary="Place an order",
          response_model=Answer[OrderCreated])
async def create_order(request: Request, body: PlaceOrderRequest) -> JSONResponse:
    """Places an order; answers `{success, data: {orderId, correlationId}}`."""
    payload = body.model_dump(mode="json", exclude_none=True)
    return await forward(request, "orders", "POST", "/orders", payload)


@api.get("/orders", tags=["orders"], summary="List recent orders",
         response_model=Answer[list[OrderView]])
async def list_orders(
    request: Request,
    status: Annotated[str | None, Query(max_length=32)] = None,
    customerId: Annotated[str | None, Query(max_length=128)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> JSONResponse:
    """The newest orders, optionally filtered by status or customer."""
    params = {"status": status, "customerId": customerId, "limit": limit}
    return await forward(request, "orders", "GET", "/orders", params=params)


@api.get("/orders/{order_id}", tags=["orders"], summary="Read one order",
         response_model=Answer[OrderView])
async def get_order(request: Request, order_id: OrderId) -> JSONResponse:
    """The order's status, items and history (from the read model)."""
    return await forward(request, "orders", "GET", f"/orders/{order_id}")


@api.put("/orders/{order_id}/confirm", tags=["orders"],
         summary="Confirm a paid order", response_model=Answer[OrderChanged])
async def confirm_order(request: Request, order_id: OrderId,
                        _: ExpectedVersion) -> JSONResponse:
    """Confirms a paid order; 409 when it cannot be confirmed."""
    return await forward(request, "orders", "PUT", f"/orders/{order_id}/confirm")


@api.put("/orders/{order_id}/cancel", tags=["orders"], summary="Cancel an order",
         response_model=Answer[OrderChanged])
async def cancel_order(
    request: Request, order_id: OrderId, _: ExpectedVersion,
    body: Annotated[CancelOrderRequest | None, Body()] = None,
) -> JSONResponse:
    """Cancels an order; the saga refunds the payment and releases the stock."""
    payload = body.model_dump(mode="json") if body else None
    return await forward(request, "orders", "PUT", f"/orders/{order_id}/cancel",
                         payload)


@api.get("/payments", tags=["payments"], summary="List recent payments",
         response_model=Answer[list[PaymentView]])
async def list_payments(
    request: Request, limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> JSONResponse:
    """The newest payments first."""
    return await forward(request, "payments", "GET", "/payments",
                         params={"limit": limit})


@api.get("/payments/{order_id}", tags=["payments"],
         summary="Read the payment of an order",
         response_model=Answer[PaymentView])
async def get_payment(request: Request, order_id: OrderId) -> JSONResponse:
    """The order's payment: approved, declined, refunded or voided."""
    return await forward(request, "payments", "GET", f"/payments/{order_id}")


@api.get("/inventory", tags=["inventory"], summary="List every product's stock",
         response_model=Answer[list[StockView]])
async def list_stock(request: Request) -> JSONResponse:
    """Every product with available, reserved and in-transit units."""
    return await forward(request, "inventory", "GET", "/inventory")


@api.get("/inventory/{product_id}", tags=["inventory"],
         summary="Read one product's stock", response_model=Answer[StockView])
async def get_stock(request: Request, product_id: ProductId) -> JSONResponse:
    """One product's stock."""
    return await forward(request, "inventory", "GET", f"/inventory/{product_id}")


@api.post("/inventory/{product_id}/restock", tags=["inventory"],
          summary="Add units to a product's stock",
          response_model=Answer[Restocked])
async def restock(request: Request, product_id: ProductId,
                  body: RestockRequest) -> JSONResponse:
    """Records that units arrived."""
    return await forward(request, "inventory", "POST",
                         f"/inventory/{product_id}/restock", body.model_dump())


@api.get("/reservations/{order_id}", tags=["inventory"],
         summary="Read what inventory holds for an order",
         response_model=Answer[ReservationView])
async def get_reservation(request: Request, order_id: OrderId) -> JSONResponse:
    """The order's reservation: lines and state."""
    return await forward(request, "inventory", "GET", f"/reservations/{order_id}")


app.include_router(api)
