"""Rebuilds a service's read model from its events into shadow tables, then diffs.

The services' projections write through module-level tables bound to the
live schema; a `schema_translate_map` on the writing connection sends the
same statements to `<service>_shadow` instead, so their code runs unchanged.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pandas as pd
from sqlalchemy import MetaData, Table, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from cqrs_lab.store import StoredEvent, adapters, event_batches, last_position
from services.shared.eventstore import RecordedEvent

# Tables of the plumbing, not of a read model.
PLUMBING = {"events", "outbox", "processed_messages", "projection_positions",
            "snapshots"}
DIFF_COLUMNS = ["table", "key", "side", "column", "live", "shadow"]


def projections_of(service: str) -> list[Any]:
    """Fresh instances of every projection class the service defines."""
    module = importlib.import_module(f"services.{service}.projections")
    return [cls() for cls in vars(module).values()
            if inspect.isclass(cls) and cls.__module__ == module.__name__
            and callable(getattr(cls, "apply", None))]


def read_model_tables(service: str) -> list[Table]:
    """The read-model tables of a service (everything but the plumbing)."""
    metadata: MetaData = adapters(service).metadata
    return [t for t in metadata.sorted_tables if t.name not in PLUMBING]


def shadow_schema(service: str) -> str:
    """The schema that receives a rebuild of `service`'s read model."""
    return f"{service}_shadow"


async def create_shadow(conn: AsyncConnection, service: str) -> list[Table]:
    """Drops and recreates the shadow schema with copies of the read-model tables."""
    schema = shadow_schema(service)
    await conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    shadow = MetaData()
    tables = [t.to_metadata(shadow, schema=schema)
              for t in read_model_tables(service)]
    await conn.run_sync(shadow.create_all)
    return tables


def recorded(event: StoredEvent) -> RecordedEvent:
    """The services' RecordedEvent for a StoredEvent."""
    return RecordedEvent(
        position=event.position, stream_id=event.stream_id,
        version=event.version, event_id=event.event_id,
        event_type=event.event_type, schema_version=event.schema_version,
        data=event.data, metadata=event.metadata,
        recorded_at=event.recorded_at)


async def project_into_shadow(engine: AsyncEngine, service: str,
                              after: int, upto: int) -> None:
    """Applies the service's projections to events (after, upto] in the shadow."""
    codec = adapters(service).codec
    projections = projections_of(service)
    table = adapters(service).events
    async with engine.connect() as plain:
        conn = await plain.execution_options(
            schema_translate_map={service: shadow_schema(service)})
        async with conn.begin():
            async for batch in event_batches(engine, table, upto, after=after):
                for event in batch:
                    typed = codec.decode(event.event_type, event.schema_version,
                                         event.data)
                    stored = recorded(event)
                    for projection in projections:
                        await projection.apply(conn, stored, typed)


async def live_positions(engine: AsyncEngine, service: str) -> dict[str, int]:
    """The positions the service's own projections have reached."""
    positions: Table = adapters(service).positions
    async with engine.connect() as conn:
        rows = await conn.execute(select(positions.c.name, positions.c.position))
        return {name: int(pos) for name, pos in rows}


async def settled_position(engine: AsyncEngine, service: str,
                           tries: int = 50) -> int:
    """A position every live projection has reached with no event after it."""
    names = [p.name for p in projections_of(service)]
    table = adapters(service).events
    newest = 0
    for _ in range(tries):
        newest = await last_position(engine, table)
        positions = await live_positions(engine, service)
        if all(positions.get(n, 0) >= newest for n in names):
            return newest
        # The live projections are catching up; compare once they have.
        await asyncio.sleep(0.1)
    return newest


async def rebuild(engine: AsyncEngine, service: str) -> pd.DataFrame:
    """Rebuilds the shadow read model and returns its differences from the live one."""
    async with engine.begin() as conn:
        shadow = await create_shadow(conn, service)
    done = 0
    for _ in range(5):
        target = await settled_position(engine, service)
        await project_into_shadow(engine, service, done, target)
        done = target
        live = {t.name: await _rows(engine, t) for t in read_model_tables(service)}
        # Events may have arrived while we read; then go round again.
        if await last_position(engine, adapters(service).events) == target:
            break
    frames = [diff_rows(t.name, [c.name for c in t.primary_key.columns],
                        live[t.name], await _rows(engine, t)) for t in shadow]
    return pd.concat(frames, ignore_index=True) if frames else _empty()


async def _rows(engine: AsyncEngine, table: Table) -> list[dict[str, Any]]:
    async with engine.connect() as conn:
        result = await conn.execute(select(table))
        return [dict(row) for row in result.mappings()]


def diff_rows(table: str, key_columns: Sequence[str],
              live: Iterable[Mapping[str, Any]],
              shadow: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """Rows only in live, only in shadow, or different, one line per column."""
    def keyed(rows: Iterable[Mapping[str, Any]]) -> dict[Any, Mapping[str, Any]]:
        return {tuple(r[k] for k in key_columns): r for r in rows}

    left, right = keyed(live), keyed(shadow)
    found: list[dict[str, Any]] = []
    for key in sorted(left.keys() | right.keys(), key=str):
        shown = key[0] if len(key) == 1 else key
        if key not in right:
            found.append(_line(table, shown, "only_live", None, left[key], None))
        elif key not in left:
            found.append(_line(table, shown, "only_shadow", None, None,
                               right[key]))
        else:
            found.extend(_changed(table, shown, left[key], right[key]))
    return pd.DataFrame(found, columns=DIFF_COLUMNS, dtype=object)


def _changed(table: str, key: Any, live: Mapping[str, Any],
             shadow: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [_line(table, key, "different", column, live.get(column),
                  shadow.get(column))
            for column in sorted(live.keys() | shadow.keys())
            if live.get(column) != shadow.get(column)]


def _line(table: str, key: Any, side: str, column: str | None, live: Any,
          shadow: Any) -> dict[str, Any]:
    return {"table": table, "key": key, "side": side, "column": column,
            "live": live, "shadow": shadow}


def _empty() -> pd.DataFrame:
    return pd.DataFrame(columns=DIFF_COLUMNS)
