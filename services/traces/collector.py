"""The trace collector ("trace BFF"): receives spans and serves trace records.

Services export OpenTelemetry spans to `POST /v1/traces`; the collector
stores them in PostgreSQL and serves traces, the demo's request/response
records, order stages and a live stream of them to the dashboard.
"""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import threading
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import FastAPI, Path, Query, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, Response, StreamingResponse
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceResponse,
)
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from services.shared.db import create_engine, create_schema
from services.shared.http import (
    BodyLimitMiddleware,
    CorrelationMiddleware,
    error_body,
    install_error_handlers,
)
from services.shared.settings import LabSettings, get_settings
from services.traces import otlp, store
from services.traces.hub import Hub, Message, Subscription

logger = logging.getLogger(__name__)

# One export of a busy service easily exceeds the services' 64 KiB limit.
MAX_EXPORT_BYTES = 16 * 1024 * 1024
KEEPALIVE_SECONDS = 15.0
PRUNE_EVERY_SECONDS = 60.0
SCHEMA_RETRY_SECONDS = 1.0
PROTOBUF = "application/x-protobuf"

Status = Literal["completed", "failed", "pending"]
Limit = Annotated[int, Query(ge=1, le=10_000)]
Text = Annotated[str | None, Query(max_length=256)]
Service = Annotated[str | None, Query(max_length=64)]


class Collector:
    """The collector's live resources: database, broadcast hub, background loops."""

    def __init__(self, settings: LabSettings) -> None:
        self.settings = settings
        self.engine: AsyncEngine = create_engine(settings, pool_size=5)
        self.hub = Hub()
        self.ready = asyncio.Event()
        self.tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        """Starts preparing the schema, then pruning old traces every minute."""
        self.tasks.append(asyncio.create_task(self._run(), name="traces"))

    async def _run(self) -> None:
        await self._prepare()
        hours = self.settings.trace_retention_hours
        max_spans = self.settings.trace_max_spans
        while True:
            try:
                deleted = await store.prune(self.engine, hours, max_spans)
                if deleted:
                    logger.info("pruned traces=%d", deleted)
            except (OSError, DBAPIError) as error:
                logger.warning("prune failed error=%r", error)
            await asyncio.sleep(PRUNE_EVERY_SECONDS)

    async def _prepare(self) -> None:
        # PostgreSQL may still be starting; /health says 503 until this ends.
        while True:
            try:
                await create_schema(self.engine, store.metadata)
                self.ready.set()
                logger.info("trace schema ready")
                return
            except (OSError, DBAPIError) as error:
                logger.warning("database not ready error=%r", error)
                await asyncio.sleep(SCHEMA_RETRY_SECONDS)

    async def stop(self) -> None:
        """Ends the streams and loops, then closes the database pool."""
        self.hub.close()
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        await self.engine.dispose()


def dashboard_origins(settings: LabSettings) -> list[str]:
    """The only origins whose pages may read the collector's API."""
    hosts = {"127.0.0.1", "localhost", settings.host, settings.dashboard_host}
    usable = sorted(h for h in hosts if h and h not in ("0.0.0.0", "::"))
    return [f"http://{host}:{settings.dashboard_port}" for host in usable]


def _end_streams_on_exit(hub: Hub) -> None:
    # Uvicorn waits for open responses before shutting down, and a stream
    # never ends by itself: close the streams when the exit signal arrives.
    if threading.current_thread() is not threading.main_thread():
        return
    loop = asyncio.get_running_loop()
    for number in (signal.SIGINT, signal.SIGTERM):
        previous = signal.getsignal(number)
        if not callable(previous):
            continue

        def handler(signum: int, frame: Any,
                    chained: Callable[..., Any] = previous) -> None:
            loop.call_soon_threadsafe(hub.close)
            chained(signum, frame)

        signal.signal(number, handler)


def create_app(settings: LabSettings | None = None) -> FastAPI:
    """The collector's FastAPI app."""
    lab = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        collector = Collector(lab)
        app.state.collector = collector
        collector.start()
        _end_streams_on_exit(collector.hub)
        try:
            yield
        finally:
            await collector.stop()

    app = FastAPI(title="CQRS Lab trace collector", lifespan=lifespan,
                  description="Receives OTLP spans; serves traces and records.")
    install_error_handlers(app)
    app.add_middleware(CorrelationMiddleware)
    app.add_middleware(BodyLimitMiddleware, limit=MAX_EXPORT_BYTES)
    app.add_middleware(CORSMiddleware, allow_origins=dashboard_origins(lab),
                       allow_methods=["GET"], allow_credentials=False,
                       allow_headers=["X-Correlation-ID"])
    _routes(app)
    return app


def _collector(request: Request) -> Collector:
    collector: Collector = request.app.state.collector
    return collector


async def _guarded(call: Callable[[], Awaitable[Response]]) -> Response:
    """Runs a database call, turning an unreachable database into a 503."""
    try:
        return await call()
    except (OSError, OperationalError, DBAPIError) as error:
        logger.warning("database unavailable error=%r", error)
        return error_body(503, "database_unavailable",
                          "the trace database is not reachable; retry later")


def _routes(app: FastAPI) -> None:
    @app.get("/health", tags=["health"], summary="Health of the trace collector")
    async def health(request: Request) -> JSONResponse:
        """Answers 200 while the collector's database works, 503 otherwise."""
        collector = _collector(request)
        try:
            if not collector.ready.is_set():
                raise ConnectionError("schema not ready")
            await asyncio.wait_for(store.ping(collector.engine), 2)
        except (OSError, DBAPIError, TimeoutError) as error:
            return JSONResponse({"status": "degraded", "service": "traces",
                                 "checks": {"database": repr(error)}}, 503)
        return JSONResponse({"status": "ok", "service": "traces"})

    @app.post("/v1/traces", tags=["otlp"], summary="Receive an OTLP export")
    async def export(request: Request) -> Response:
        """Stores the spans of an OTLP/HTTP export (protobuf or JSON)."""
        return await _export(request)

    @app.get("/api/traces", tags=["traces"], summary="List traces")
    async def traces(
        request: Request, correlationId: Text = None, orderId: Text = None,
        service: Service = None, status: Status | None = None,
        since: datetime | None = None, until: datetime | None = None,
        limit: Limit = 100, includeHealth: bool = False,
    ) -> Response:
        """Trace summaries, newest first, with their order's stages."""
        flt = store.TraceFilter(correlationId, orderId, service, status, since,
                                until, includeHealth, limit)
        engine = _collector(request).engine
        return await _guarded(lambda: _answer(store.list_traces(engine, flt)))

    @app.get("/api/traces/{traceId}", tags=["traces"], summary="One trace")
    async def trace(
        request: Request,
        traceId: Annotated[str, Path(pattern="^[0-9a-fA-F]{32}$")],
    ) -> Response:
        """Every span of one trace, ordered by start."""
        engine = _collector(request).engine
        return await _guarded(lambda: _one(
            store.get_trace(engine, traceId.lower()), f"trace {traceId}"))

    @app.get("/api/records", tags=["traces"], summary="Request/response records")
    async def records(
        request: Request, correlationId: Text = None, orderId: Text = None,
        service: Service = None, status: Status | None = None,
        limit: Limit = 200, includeHealth: bool = False,
    ) -> Response:
        """The demo's Request and Response records, newest first."""
        flt = store.TraceFilter(correlationId, orderId, service, status,
                                include_health=includeHealth, limit=limit)
        engine = _collector(request).engine
        return await _guarded(lambda: _answer(store.list_records(engine, flt)))

    @app.get("/api/orders/{orderId}/stages", tags=["traces"],
             summary="Stages of one order")
    async def stages(
        request: Request,
        orderId: Annotated[str, Path(max_length=256)],
    ) -> Response:
        """The stages the order's traces recorded, oldest first."""
        engine = _collector(request).engine
        return await _guarded(lambda: _one(
            store.order_stages(engine, orderId), f"order {orderId}"))

    @app.get("/api/stream", tags=["traces"], summary="Live records and traces")
    async def stream(
        request: Request, includeHealth: bool = False,
        correlationId: Text = None,
    ) -> StreamingResponse:
        """Server-sent events: a `record` per new record, a `trace` per update."""
        hub = _collector(request).hub
        body = _events(hub, includeHealth, correlationId)
        return StreamingResponse(body, media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache",
                                          "X-Accel-Buffering": "no"})


async def _answer(found: Awaitable[list[dict[str, Any]]]) -> JSONResponse:
    data = await found
    return JSONResponse({"success": True, "count": len(data), "data": data})


async def _one(found: Awaitable[Any], what: str) -> JSONResponse:
    data = await found
    if data is None:
        return error_body(404, "not_found", f"no {what} is stored")
    return JSONResponse({"success": True, "data": data})


async def _export(request: Request) -> Response:
    content_type = request.headers.get("content-type", PROTOBUF)
    media = content_type.split(";", 1)[0].strip().lower()
    if media not in (PROTOBUF, "application/protobuf", "application/json"):
        return error_body(415, "unsupported_media_type",
                          f"send {PROTOBUF} or application/json, not {media}")
    try:
        body = _decompress(await request.body(),
                           request.headers.get("content-encoding", ""))
        batch = otlp.decode(body, media)
    except otlp.MalformedExport as error:
        return error_body(400, "malformed_export", str(error))
    collector = _collector(request)
    try:
        stored = await store.store(collector.engine, batch)
    except (OSError, OperationalError, DBAPIError) as error:
        # 503 makes the OpenTelemetry exporter retry the export later.
        logger.warning("could not store spans=%d error=%r", len(batch), error)
        return error_body(503, "database_unavailable",
                          "the trace database is not reachable; retry later")
    collector.hub.publish(_messages(stored))
    logger.debug("stored spans=%d new=%d", len(batch), len(stored.new_spans))
    if media == "application/json":
        return JSONResponse({})
    answer = ExportTraceServiceResponse().SerializeToString()
    return Response(answer, media_type=PROTOBUF)


def _decompress(body: bytes, encoding: str) -> bytes:
    encoding = encoding.strip().lower()
    if encoding in ("", "identity"):
        return body
    if encoding != "gzip":
        raise otlp.MalformedExport(f"unsupported content encoding {encoding}")
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        data = inflater.decompress(body, MAX_EXPORT_BYTES * 4)
    except zlib.error as error:
        raise otlp.MalformedExport(f"bad gzip body: {error}") from None
    if inflater.unconsumed_tail:
        raise otlp.MalformedExport("the decompressed export is too large")
    return data


def _messages(stored: store.Stored) -> list[Message]:
    messages = []
    for record in store.fill_new_spans(stored):
        health = bool(record.pop("health"))
        messages.append(Message("record", record, health))
    for trace in stored.traces:
        messages.append(Message("trace", trace, bool(trace["health"])))
    return messages


async def _events(hub: Hub, include_health: bool,
                  correlation_id: str | None) -> AsyncIterator[str]:
    async with hub.subscribe() as subscription:
        # Tells EventSource how soon to reconnect after the server restarts.
        yield "retry: 2000\n: connected\n\n"
        while True:
            message = await _next(subscription)
            if message is None:
                return
            if message == "keepalive":
                yield ": keepalive\n\n"
                continue
            assert isinstance(message, Message)
            if message.health and not include_health:
                continue
            if correlation_id and \
                    message.data.get("correlationId") != correlation_id:
                continue
            data = json.dumps(message.data, separators=(",", ":"))
            yield f"event: {message.event}\ndata: {data}\n\n"


async def _next(subscription: Subscription) -> Message | str | None:
    try:
        return await asyncio.wait_for(subscription.queue.get(),
                                      KEEPALIVE_SECONDS)
    except TimeoutError:
        return "keepalive"


app = create_app()
