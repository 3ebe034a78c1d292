"""Reads the services' PostgreSQL schemas: event stores, outboxes, read models."""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator, Iterable
from datetime import datetime
from types import ModuleType
from typing import Any, NamedTuple

import orjson
import pandas as pd
from sqlalchemy import Select, Table, func, select
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from cqrs_lab.errors import LabError, LabNotRunning
from services.shared.settings import LabSettings

SERVICES = ("orders", "payments", "inventory")
# Batches big enough that a round trip costs little per event.
BATCH = 5000
DB_ERRORS = (OSError, OperationalError, InterfaceError)


class StoredEvent(NamedTuple):
    """One event as a projection sees it: where it is stored and its data."""

    position: int
    stream_id: str
    version: int
    event_id: Any
    event_type: str
    schema_version: int
    data: dict[str, Any]
    metadata: dict[str, Any]
    correlation_id: str | None
    recorded_at: datetime

    @property
    def order_id(self) -> str | None:
        """The order the event is about, when its data names one."""
        return self.data.get("order_id")


EVENT_COLUMNS = StoredEvent._fields


def adapters(service: str) -> ModuleType:
    """The `services.<service>.adapters` module, or a LabError naming the services."""
    if service not in SERVICES:
        raise LabError(f"unknown service {service!r}; the services with an "
                       f"event store are: {', '.join(SERVICES)}")
    return importlib.import_module(f"services.{service}.adapters")


def events_table(service: str) -> Table:
    """The events table of a service."""
    table: Table = adapters(service).events
    return table


def create_engine(settings: LabSettings) -> AsyncEngine:
    """A small async engine on the lab's database, for one notebook."""
    return create_async_engine(settings.database_url, pool_size=3,
                               max_overflow=3, pool_pre_ping=True,
                               json_deserializer=orjson.loads)


def not_running(settings: LabSettings, error: BaseException) -> LabNotRunning:
    """The error to raise when PostgreSQL does not answer."""
    host = settings.postgres_host or settings.host
    return LabNotRunning(f"PostgreSQL at {host}:{settings.postgres_port} does "
                         f"not answer ({type(error).__name__}).")


def event_query(table: Table, *, stream: str | None = None,
                event_type: str | Iterable[str] | None = None,
                correlation_id: str | None = None,
                order_id: str | None = None, after: int | None = None,
                upto: int | None = None,
                upto_time: datetime | None = None) -> Select[Any]:
    """A SELECT of the event columns narrowed by the given filters."""
    c = table.c
    query = select(*(c[name] for name in EVENT_COLUMNS))
    if stream is not None:
        query = query.where(c.stream_id == stream)
    if isinstance(event_type, str):
        query = query.where(c.event_type == event_type)
    elif event_type is not None:
        query = query.where(c.event_type.in_(list(event_type)))
    if correlation_id is not None:
        query = query.where(c.correlation_id == correlation_id)
    if order_id is not None:
        query = query.where(c.data["order_id"].astext == str(order_id))
    if after is not None:
        query = query.where(c.position > after)
    if upto is not None:
        query = query.where(c.position <= upto)
    if upto_time is not None:
        query = query.where(c.recorded_at <= upto_time)
    return query


async def fetch_events(engine: AsyncEngine, query: Select[Any]
                       ) -> list[StoredEvent]:
    """Runs an event query and returns StoredEvents."""
    async with engine.connect() as conn:
        result = await conn.execute(query)
        return [StoredEvent._make(row) for row in result]


async def last_position(engine: AsyncEngine, table: Table) -> int:
    """The newest position of an events table (0 when empty)."""
    async with engine.connect() as conn:
        query = select(func.coalesce(func.max(table.c.position), 0))
        return int((await conn.execute(query)).scalar_one())


async def event_batches(engine: AsyncEngine, table: Table, upto: int,
                        upto_time: datetime | None = None, after: int = 0,
                        batch: int = BATCH
                        ) -> AsyncIterator[list[StoredEvent]]:
    """Events up to a position in batches, paging by position (keyset)."""
    while after < upto:
        query = (event_query(table, after=after, upto=upto, upto_time=upto_time)
                 .order_by(table.c.position).limit(batch))
        rows = await fetch_events(engine, query)
        if not rows:
            return
        after = rows[-1].position
        yield rows


FRAME_COLUMNS = ["position", "stream_id", "version", "event_type",
                 "schema_version", "correlation_id", "causation_id",
                 "recorded_at", "data", "event_id"]


def events_frame(events: Iterable[StoredEvent]) -> pd.DataFrame:
    """A DataFrame of events, one row each, in position order."""
    rows = [{**e._asdict(), "causation_id": e.metadata.get("causation_id")}
            for e in events]
    return pd.DataFrame(rows, columns=FRAME_COLUMNS)


async def table_rows(engine: AsyncEngine, table: Table,
                     *where: Any) -> list[dict[str, Any]]:
    """Every row of a table matching the conditions, as dicts."""
    async with engine.connect() as conn:
        result = await conn.execute(select(table).where(*where))
        return [dict(row) for row in result.mappings()]
