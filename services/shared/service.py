"""Wires one service: its database schema, Kafka clients and background loops.

A service declares what it is (a `ServiceSpec`); `create_app` turns that
into a FastAPI app whose lifespan starts the outbox relay, the projections
and the consumer, and stops them in `finally`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from fastapi import FastAPI, HTTPException
from fastapi.responses import JSONResponse
from sqlalchemy import MetaData, Table, text
from sqlalchemy.ext.asyncio import AsyncEngine

from services.shared.codec import EventCodec
from services.shared.consumer import EventConsumer, Subscription, processed_table
from services.shared.db import create_engine, create_schema
from services.shared.eventstore import EventStore, event_tables, snapshot_table
from services.shared.http import (
    ERROR_RESPONSES,
    BodyLimitMiddleware,
    CorrelationMiddleware,
    install_error_handlers,
)
from services.shared.notify import Wakeup
from services.shared.outbox import OutboxRelay, outbox_table
from services.shared.projection import (
    Projection,
    ProjectionRunner,
    positions_table,
)
from services.shared.settings import LabSettings, get_settings
from services.shared.topics import ensure_topics
from services.shared.tracing import instrument_app, suppress_instrumentation

logger = logging.getLogger(__name__)

Setup = Callable[[AsyncEngine, LabSettings], Awaitable[None]]


@dataclass(frozen=True)
class Plumbing:
    """The tables every service keeps in its own schema, and its event store."""

    metadata: MetaData
    events: Table
    outbox: Table
    processed: Table
    positions: Table
    snapshots: Table
    store: EventStore

    @classmethod
    def in_schema(cls, schema: str) -> Plumbing:
        """Declares the plumbing tables in a new metadata for `schema`."""
        metadata = MetaData(schema=schema)
        events = event_tables(metadata)
        return cls(metadata, events, outbox_table(metadata),
                   processed_table(metadata), positions_table(metadata),
                   snapshot_table(metadata), EventStore(events))


@dataclass(frozen=True)
class ServiceSpec:
    """Everything that makes one service: its tables, messages and loops."""

    name: str
    plumbing: Plumbing
    codec: EventCodec
    topics: Sequence[str] = ()
    subscriptions: Mapping[str, Subscription] = field(default_factory=dict)
    projections: Sequence[Projection] = ()
    setup: Setup | None = None


class ServiceRuntime:
    """The live resources of a running service, started and stopped together."""

    def __init__(self, spec: ServiceSpec, settings: LabSettings) -> None:
        self.spec = spec
        self.settings = settings
        self.engine = create_engine(settings)
        self.producer: AIOKafkaProducer | None = None
        self.consumer: EventConsumer | None = None
        self.tasks: list[asyncio.Task[None]] = []
        self.connecting: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Creates the schema and starts the loops; Kafka's join in when it answers."""
        await create_schema(self.engine, self.spec.plumbing.metadata)
        if self.spec.setup:
            await self.spec.setup(self.engine, self.settings)
        self.wakeup = Wakeup(self.settings, self.spec.plumbing.store.channel)
        self._spawn("wakeup", self.wakeup.run)
        if self.spec.projections:
            runner = ProjectionRunner(self.engine, self.spec.plumbing.store,
                                      self.spec.codec, self.spec.plumbing.positions,
                                      self.spec.projections, self.wakeup.waiter())
            self._spawn("projections", runner.run)
        # Waiting for the broker in the background keeps start-up (and a
        # stop request during it) prompt; /health says 503 until connected.
        self.connecting = asyncio.create_task(
            _supervise("kafka-connect", self._connect_kafka))

    async def _connect_kafka(self) -> None:
        self.producer = await self._start_producer()
        relay = OutboxRelay(self.engine, self.spec.plumbing.outbox, self.producer,
                            self.wakeup.waiter())
        self._spawn("outbox-relay", relay.run)
        if self.spec.subscriptions:
            self._start_consumer()

    async def _start_producer(self) -> AIOKafkaProducer:
        while True:
            try:
                await ensure_topics(self.settings.bootstrap_servers,
                                    self.settings.kafka_partitions)
                return await self._connect_producer()
            except (KafkaError, OSError) as error:
                logger.info("waiting for Kafka error=%r", error)
                await asyncio.sleep(0.5)

    async def _connect_producer(self) -> AIOKafkaProducer:
        # Idempotence (and so acks=all) keeps retried sends from duplicating
        # or reordering a key's messages.
        producer = AIOKafkaProducer(
            bootstrap_servers=self.settings.bootstrap_servers,
            enable_idempotence=True,
            acks="all",
        )
        try:
            await producer.start()
        except BaseException:
            await producer.stop()
            raise
        return producer

    def _start_consumer(self) -> None:
        assert self.producer is not None
        self.consumer = EventConsumer(
            name=f"{self.spec.name}-service",
            bootstrap_servers=self.settings.bootstrap_servers,
            topics=list(self.spec.topics),
            subscriptions=self.spec.subscriptions,
            engine=self.engine,
            processed=self.spec.plumbing.processed,
            dead_letters=self.producer,
            max_attempts=self.settings.consumer_max_attempts,
        )
        self._spawn("consumer", self.consumer.run)

    def _spawn(self, name: str, loop: Callable[[], Awaitable[None]]) -> None:
        self.tasks.append(asyncio.create_task(_supervise(name, loop), name=name))

    async def stop(self) -> None:
        """Stops the loops, then the Kafka producer and the database pool."""
        if self.connecting is not None:
            self.connecting.cancel()
        for task in self.tasks:
            task.cancel()
        # Bounded, so a broker or database that stopped answering cannot
        # hold the process hostage; what was not committed is redone later.
        await _within(asyncio.gather(*self.tasks, return_exceptions=True))
        if self.producer is not None:
            await _within(self.producer.stop())
        await _within(self.engine.dispose())

    async def health(self) -> dict[str, Any]:
        """The state of the service's database connection and loops."""
        checks: dict[str, str] = {}
        try:
            with suppress_instrumentation():
                async with self.engine.connect() as conn:
                    await asyncio.wait_for(conn.execute(text("SELECT 1")), 2)
            checks["database"] = "ok"
        except Exception as error:  # noqa: BLE001 - any failure is "unhealthy"
            checks["database"] = f"unavailable: {type(error).__name__}"
        checks["kafka"] = "ok" if self.producer is not None else "connecting"
        dead = [t.get_name() for t in self.tasks if t.done()]
        checks["loops"] = "ok" if not dead else "stopped: " + ", ".join(dead)
        return checks


async def _within(step: Awaitable[Any], seconds: float = 5.0) -> None:
    try:
        await asyncio.wait_for(step, seconds)
    except TimeoutError:
        logger.warning("shutdown step took over %s s; moving on", seconds)


async def _supervise(name: str, loop: Callable[[], Awaitable[None]]) -> None:
    # A loop that fails (Kafka down at start, say) is restarted, not lost.
    while True:
        try:
            await loop()
            return
        except asyncio.CancelledError:
            raise
        except (KafkaError, OSError) as error:
            logger.warning("loop=%s failed error=%r; restarting in 1 s",
                           name, error)
        except Exception:
            logger.exception("loop=%s failed; restarting in 1 s", name)
        await asyncio.sleep(1.0)


def create_app(spec: ServiceSpec, title: str, description: str) -> FastAPI:
    """A FastAPI app for the service, with health, errors and correlation ids."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = ServiceRuntime(spec, get_settings())
        await runtime.start()
        app.state.runtime = runtime
        try:
            yield
        finally:
            await runtime.stop()

    app = FastAPI(title=title, description=description, lifespan=lifespan,
                  responses=ERROR_RESPONSES)
    install_error_handlers(app)
    app.add_middleware(BodyLimitMiddleware)
    # Added last, so outermost: even a 413 carries the correlation id.
    app.add_middleware(CorrelationMiddleware)
    instrument_app(app)

    @app.get("/admin/consumer", tags=["admin"],
             summary="The service's Kafka consumer: group, partitions, paused")
    async def consumer_state() -> dict[str, Any]:
        return _consumer(app).describe()

    @app.post("/admin/consumer/pause", tags=["admin"],
              summary="Stop fetching records, staying in the consumer group")
    async def pause_consumer() -> dict[str, Any]:
        consumer = _consumer(app)
        consumer.paused = True
        logger.info("consumer paused group=%s", consumer.name)
        return consumer.describe()

    @app.post("/admin/consumer/resume", tags=["admin"],
              summary="Fetch records again after a pause")
    async def resume_consumer() -> dict[str, Any]:
        consumer = _consumer(app)
        consumer.paused = False
        logger.info("consumer resumed group=%s", consumer.name)
        return consumer.describe()

    @app.get("/health", tags=["health"], summary="Health of this service")
    async def health() -> JSONResponse:
        checks = await app.state.runtime.health()
        ok = all(value == "ok" for value in checks.values())
        body = {"status": "ok" if ok else "degraded", "service": spec.name,
                "checks": checks}
        return JSONResponse(body, status_code=200 if ok else 503)

    return app


def _consumer(app: FastAPI) -> EventConsumer:
    consumer = runtime_of(app).consumer
    if consumer is None:
        raise HTTPException(503, "the consumer has not joined Kafka yet")
    return consumer


def runtime_of(app: FastAPI) -> ServiceRuntime:
    """The runtime the lifespan attached to an app."""
    runtime: ServiceRuntime = app.state.runtime
    return runtime
