"""Spans in PostgreSQL (schema `traces`), with one summary row per trace.

Each export is stored in one transaction that also recomputes the summary
of every trace it touched, so listing traces never scans all spans.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Executable,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    and_,
    bindparam,
    func,
    literal_column,
    or_,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import (
    ARRAY,
    JSONB,
    aggregate_order_by,
    insert,
)
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.sql.elements import BindParameter, ColumnElement

from services.traces import views
from services.traces.otlp import SpanRecord

metadata = MetaData(schema="traces")

spans = Table(
    "spans", metadata,
    Column("trace_id", String(32), primary_key=True),
    Column("span_id", String(16), primary_key=True),
    Column("parent_span_id", String(16)),
    Column("name", Text, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("service", String(64), nullable=False),
    Column("start_ns", BigInteger, nullable=False),
    Column("end_ns", BigInteger, nullable=False),
    Column("start_time", DateTime(timezone=True), nullable=False),
    Column("duration_ms", Float, nullable=False),
    Column("status", String(8), nullable=False),
    Column("status_message", Text, nullable=False),
    Column("attributes", JSONB, nullable=False),
    Column("events", JSONB, nullable=False),
    Column("links", JSONB, nullable=False),
    Column("resource", JSONB, nullable=False),
    Column("correlation_id", String(256)),
    Column("order_id", String(256)),
    Column("recorded_events", JSONB, nullable=False),
    Column("health", Boolean, nullable=False),
    Column("failed", Boolean, nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False,
           server_default=func.now()),
    Index("spans_start_idx", "start_ns"),
)

summaries = Table(
    "summaries", metadata,
    Column("trace_id", String(32), primary_key=True),
    Column("correlation_id", String(256)),
    Column("order_id", String(256)),
    Column("services", ARRAY(String(64)), nullable=False),
    Column("span_count", Integer, nullable=False),
    Column("start_ns", BigInteger, nullable=False),
    Column("end_ns", BigInteger, nullable=False),
    Column("failed", Boolean, nullable=False),
    Column("has_root", Boolean, nullable=False),
    Column("health", Boolean, nullable=False),
    # [[start ns, service, [event types]], ...] of spans that recorded events.
    Column("recorded", JSONB, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False,
           server_default=func.now()),
    Index("summaries_start_idx", "start_ns"),
    Index("summaries_correlation_idx", "correlation_id"),
    Index("summaries_order_idx", "order_id"),
)

# A trace without its root span is still arriving for this long.
PENDING_NS = 30 * 1_000_000_000


@dataclass(frozen=True)
class TraceFilter:
    """What a listing of traces or records is narrowed to."""

    correlation_id: str | None = None
    order_id: str | None = None
    service: str | None = None
    status: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    include_health: bool = False
    limit: int = 100


@dataclass(frozen=True)
class Stored:
    """What one export changed: the spans it added and the traces it touched."""

    new_spans: list[dict[str, Any]]
    traces: list[dict[str, Any]]


def _row(span: SpanRecord) -> dict[str, Any]:
    return {
        "trace_id": span.trace_id, "span_id": span.span_id,
        "parent_span_id": span.parent_span_id, "name": span.name,
        "kind": span.kind, "service": span.service,
        "start_ns": span.start_ns, "end_ns": span.end_ns,
        "start_time": datetime.fromtimestamp(span.start_ns / 1e9, tz=UTC),
        "duration_ms": span.duration_ms, "status": span.status,
        "status_message": span.status_message, "attributes": span.attributes,
        "events": span.events, "links": span.links, "resource": span.resource,
        "correlation_id": span.correlation_id, "order_id": span.order_id,
        "recorded_events": span.recorded_events, "health": span.is_health,
        "failed": span.request_failed,
    }


async def store(engine: AsyncEngine, batch: Sequence[SpanRecord]) -> Stored:
    """Inserts spans (ignoring ones already stored) and refreshes summaries."""
    unique = {(s.trace_id, s.span_id): s for s in batch}
    # A fixed order of rows and locks keeps concurrent exports from deadlocking.
    rows = [_row(unique[key]) for key in sorted(unique)]
    trace_ids = sorted({r["trace_id"] for r in rows})
    if not rows:
        return Stored([], [])
    touched = {"trace_ids": trace_ids}
    async with engine.begin() as conn:
        await conn.execute(_LOCK_TRACES, touched)
        inserted = await conn.execute(_INSERT_SPANS, rows)
        added = {(r.trace_id, r.span_id) for r in inserted}
        await conn.execute(_REFRESH_SUMMARIES, touched)
        # The recorded events need the summary row's id, so they come second.
        await conn.execute(_REFRESH_RECORDED, touched)
        found = (await conn.execute(_SUMMARIES_OF, touched)).mappings().all()
        traces = await _views(conn, [dict(r) for r in found])
    new_spans = [r for r in rows if (r["trace_id"], r["span_id"]) in added]
    return Stored(new_spans, traces)


def _first_known(column: Any) -> Any:
    # The earliest span that knows the value speaks for the whole trace.
    ordered = func.array_agg(aggregate_order_by(column, spans.c.start_ns))
    return func.array_remove(ordered, None, type_=ARRAY(String))[1]


# Every export runs these, so they are built (and their cache keys made)
# once, not per call: rebuilding them took about a third of the
# collector's CPU.
_TRACE_IDS: BindParameter[list[str]] = bindparam("trace_ids", expanding=True)

_LOCK_TRACES = text(
    "SELECT pg_advisory_xact_lock(hashtext('trace:' || t)) "
    "FROM unnest(CAST(:trace_ids AS text[])) AS t")

_INSERT_SPANS = (insert(spans).on_conflict_do_nothing()
                 .returning(spans.c.trace_id, spans.c.span_id))

_SUMMARIES_OF = select(summaries).where(summaries.c.trace_id.in_(_TRACE_IDS))

_RECORDED_OF_ORDERS = (
    select(summaries.c.order_id, summaries.c.recorded)
    .where(summaries.c.order_id.in_(bindparam("order_ids", expanding=True))))


def _refresh_summaries() -> Executable:
    """Recomputes the summary of each touched trace from all its spans."""
    s = spans.c
    first = _first_known
    aggregate = (
        select(
            s.trace_id, first(s.correlation_id), first(s.order_id),
            func.array_agg(s.service.distinct()), func.count(),
            func.min(s.start_ns), func.max(s.end_ns),
            func.bool_or(s.status == "error"),
            func.bool_or(s.parent_span_id.is_(None)), func.bool_or(s.health),
            literal_column("'[]'::jsonb"),
        )
        .where(s.trace_id.in_(_TRACE_IDS))
        .group_by(s.trace_id))
    columns = ["trace_id", "correlation_id", "order_id", "services",
               "span_count", "start_ns", "end_ns", "failed", "has_root",
               "health", "recorded"]
    upsert = insert(summaries).from_select(columns, aggregate)
    excluded = upsert.excluded
    return upsert.on_conflict_do_update(
        index_elements=[summaries.c.trace_id],
        set_={name: excluded[name] for name in columns[1:]}
        | {"updated_at": func.now()})


def _refresh_recorded() -> Executable:
    """Gathers, per touched trace, the events its spans recorded, in time order."""
    s = spans.c
    recorded = (
        select(func.coalesce(func.jsonb_agg(aggregate_order_by(
            func.jsonb_build_array(s.start_ns, s.service, s.recorded_events),
            s.start_ns)), literal_column("'[]'::jsonb")))
        .where(s.trace_id == summaries.c.trace_id,
               func.jsonb_array_length(s.recorded_events) > 0)
        .scalar_subquery())
    return (summaries.update()
            .where(summaries.c.trace_id.in_(_TRACE_IDS))
            .values(recorded=recorded))


_REFRESH_SUMMARIES = _refresh_summaries()
_REFRESH_RECORDED = _refresh_recorded()


async def _summaries(conn: AsyncConnection,
                     *where: ColumnElement[bool]) -> list[dict[str, Any]]:
    rows = (await conn.execute(select(summaries).where(*where))).mappings().all()
    return await _views(conn, [dict(r) for r in rows])


async def _views(conn: AsyncConnection,
                 rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    recorded = await _order_recorded(conn, rows)
    now = time.time_ns()
    result = []
    for row in rows:
        status = views.trace_status(row["failed"], row["has_root"],
                                    row["end_ns"], now, PENDING_NS)
        source = recorded.get(row["order_id"], row["recorded"])
        view = views.summary(row, status, views.stages(source))
        view["health"] = row["health"]
        result.append(view)
    return result


async def _order_recorded(conn: AsyncConnection,
                          rows: list[dict[str, Any]]) -> dict[str, list[Any]]:
    # An order's stages gather the events of every trace about that order.
    order_ids = sorted({r["order_id"] for r in rows if r["order_id"]})
    if not order_ids:
        return {}
    merged: dict[str, list[Any]] = {}
    found = await conn.execute(_RECORDED_OF_ORDERS, {"order_ids": order_ids})
    for order_id, recorded in found.all():
        merged.setdefault(order_id, []).extend(recorded)
    return merged


def _status_clause(status: str) -> ColumnElement[bool]:
    t = summaries.c
    pending = and_(t.failed.is_(False), t.has_root.is_(False),
                   t.end_ns > _now_ns() - PENDING_NS)
    if status == "failed":
        return t.failed.is_(True)
    if status == "pending":
        return pending
    return and_(t.failed.is_(False), ~pending)


def _now_ns() -> Any:
    return func.cast(func.extract("epoch", func.clock_timestamp()) * 1e9,
                     BigInteger)


def _trace_filters(flt: TraceFilter) -> list[ColumnElement[bool]]:
    t = summaries.c
    where: list[ColumnElement[bool]] = []
    if not flt.include_health:
        where.append(t.health.is_(False))
    if flt.correlation_id:
        where.append(t.correlation_id == flt.correlation_id)
    if flt.order_id:
        where.append(t.order_id == flt.order_id)
    if flt.service:
        where.append(t.services.any(flt.service))
    if flt.status:
        where.append(_status_clause(flt.status))
    if flt.since:
        where.append(t.start_ns >= int(flt.since.timestamp() * 1e9))
    if flt.until:
        where.append(t.start_ns <= int(flt.until.timestamp() * 1e9))
    return where


async def list_traces(engine: AsyncEngine,
                      flt: TraceFilter) -> list[dict[str, Any]]:
    """Trace summaries matching the filter, newest first."""
    query = (select(summaries).where(*_trace_filters(flt))
             .order_by(summaries.c.start_ns.desc()).limit(flt.limit))
    async with engine.connect() as conn:
        rows = (await conn.execute(query)).mappings().all()
        return await _views(conn, [dict(r) for r in rows])


async def get_trace(engine: AsyncEngine,
                    trace_id: str) -> dict[str, Any] | None:
    """One trace's summary and all its spans ordered by start, or None."""
    async with engine.connect() as conn:
        found = await _summaries(conn, summaries.c.trace_id == trace_id)
        if not found:
            return None
        trace = found[0]
        rows = (await conn.execute(
            select(spans).where(spans.c.trace_id == trace_id)
            .order_by(spans.c.start_ns, spans.c.span_id))).mappings().all()
    start = min(r["start_ns"] for r in rows)
    filled = [_fill(dict(r), trace) for r in rows]
    trace["spans"] = [views.span_view(r, start) for r in filled]
    return trace


def _fill(row: dict[str, Any], trace: dict[str, Any]) -> dict[str, Any]:
    # Spans that did not know the ids take the ones their trace knows.
    row["correlation_id"] = row["correlation_id"] or trace["correlationId"]
    row["order_id"] = row["order_id"] or trace["orderId"]
    return row


async def order_stages(engine: AsyncEngine,
                       order_id: str) -> list[dict[str, Any]] | None:
    """The stages of one order over all its traces, or None when unknown."""
    query = select(summaries.c.recorded).where(summaries.c.order_id == order_id)
    async with engine.connect() as conn:
        found = (await conn.execute(query)).scalars().all()
    if not found:
        return None
    return views.stages(entry for recorded in found for entry in recorded)


async def list_records(engine: AsyncEngine,
                       flt: TraceFilter) -> list[dict[str, Any]]:
    """Request and Response records of SERVER and CONSUMER spans, newest first."""
    s, t = spans.c, summaries.c
    correlation = func.coalesce(s.correlation_id, t.correlation_id)
    order = func.coalesce(s.order_id, t.order_id)
    query = (
        select(s.trace_id, s.span_id, s.name, s.kind, s.service, s.start_ns,
               s.end_ns, s.duration_ms, s.attributes, s.failed,
               correlation.label("correlation_id"), order.label("order_id"))
        .join_from(spans, summaries, s.trace_id == t.trace_id)
        .where(s.kind.in_(("server", "consumer")))
        .order_by(s.end_ns.desc()).limit(flt.limit))
    if not flt.include_health:
        query = query.where(t.health.is_(False))
    if flt.correlation_id:
        query = query.where(correlation == flt.correlation_id)
    if flt.order_id:
        query = query.where(order == flt.order_id)
    if flt.service:
        query = query.where(s.service == flt.service)
    if flt.status == "failed":
        query = query.where(s.failed.is_(True))
    elif flt.status == "completed":
        query = query.where(s.failed.is_(False))
    async with engine.connect() as conn:
        rows = (await conn.execute(query)).mappings().all()
    found = [rec for row in rows for rec in views.records(dict(row))]
    if flt.status:
        found = [rec for rec in found if rec["status"] == flt.status]
    found.sort(key=lambda rec: (rec["timestamp"], rec["id"]), reverse=True)
    return found[:flt.limit]


def fill_new_spans(stored: Stored) -> list[dict[str, Any]]:
    """The new spans' records, their ids filled from their trace's summary."""
    by_trace = {t["traceId"]: t for t in stored.traces}
    found: list[dict[str, Any]] = []
    for row in stored.new_spans:
        if row["kind"] not in ("server", "consumer"):
            continue
        trace = by_trace.get(row["trace_id"])
        if trace is not None:
            row = _fill(dict(row), trace)
        for record in views.records(row):
            record["health"] = bool(trace and trace["health"])
            found.append(record)
    found.sort(key=lambda rec: (rec["timestamp"], rec["id"]))
    return found


async def prune(engine: AsyncEngine, retention_hours: float,
                max_spans: int) -> int:
    """Deletes traces older than the retention and the oldest beyond the cap.

    Whole traces go, so a trace is never shown with half its spans.
    """
    cutoff = time.time_ns() - int(retention_hours * 3600 * 1e9)
    t = summaries.c
    running = func.sum(t.span_count).over(order_by=(t.start_ns.desc(),
                                                    t.trace_id.desc()))
    ranked = select(t.trace_id, t.end_ns, running.label("total")).subquery()
    doomed = select(ranked.c.trace_id).where(
        or_(ranked.c.end_ns < cutoff, ranked.c.total > max_spans))
    async with engine.begin() as conn:
        ids = list((await conn.execute(doomed)).scalars().all())
        for start in range(0, len(ids), 1000):
            chunk = ids[start:start + 1000]
            await conn.execute(spans.delete().where(spans.c.trace_id.in_(chunk)))
            await conn.execute(
                summaries.delete().where(summaries.c.trace_id.in_(chunk)))
    return len(ids)


async def ping(engine: AsyncEngine) -> None:
    """Raises unless the database answers."""
    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))
