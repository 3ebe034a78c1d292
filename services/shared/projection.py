"""Projections: read models kept up to date from the event store, in order.

A projection's rows and its place in the store change in one transaction,
so after a crash it resumes exactly where its last commit left it, never
applying an event twice or skipping one. Its place is a cursor in commit
order (see `EventStore.read_committed`); `position` records the highest
global position it has applied, for people and tools to compare.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Protocol

from sqlalchemy import BigInteger, Column, MetaData, Table, Text, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.shared.aggregate import Event
from services.shared.codec import EventCodec
from services.shared.eventstore import Cursor, EventStore, RecordedEvent
from services.shared.notify import wait
from services.shared.tracing import suppress_instrumentation

logger = logging.getLogger(__name__)

BATCH = 500


class Projection(Protocol):
    """Turns events into rows of a read model."""

    name: str

    async def apply(self, conn: AsyncConnection, recorded: RecordedEvent,
                    event: Event) -> None:
        """Applies one event to the read model inside the caller's transaction."""


def positions_table(metadata: MetaData) -> Table:
    """Declares the table where each projection keeps its position."""
    return Table(
        "projection_positions",
        metadata,
        Column("name", Text, primary_key=True),
        Column("position", BigInteger, nullable=False),
        Column("cursor_transaction", BigInteger, nullable=False,
               server_default="0"),
        Column("cursor_position", BigInteger, nullable=False,
               server_default="0"),
    )


class ProjectionRunner:
    """Feeds a projection every event after its stored position."""

    def __init__(self, engine: AsyncEngine, store: EventStore, codec: EventCodec,
                 positions: Table, projection: Projection,
                 wakeup: asyncio.Event) -> None:
        self.engine = engine
        self.store = store
        self.codec = codec
        self.positions = positions
        self.projection = projection
        self.wakeup = wakeup

    async def run(self) -> None:
        """Catches up, then follows new events until cancelled."""
        while True:
            try:
                with suppress_instrumentation():
                    caught_up = await self.catch_up_once()
                if not caught_up:
                    await wait(self.wakeup)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("projection failed name=%s; retrying in 1 s",
                                 self.projection.name)
                await asyncio.sleep(1.0)

    async def catch_up_once(self) -> int:
        """Applies one batch of new events; returns how many."""
        async with self.engine.begin() as conn:
            highest, cursor = await self._place(conn)
            events = await self.store.read_committed(conn, cursor, BATCH)
            for recorded in events:
                event = self.codec.decode(recorded.event_type,
                                          recorded.schema_version, recorded.data)
                await self.projection.apply(conn, recorded, event)
            if events:
                await self._save_place(conn, events, highest)
        return len(events)

    async def _place(self, conn: AsyncConnection) -> tuple[int, Cursor]:
        name = self.projection.name
        await conn.execute(insert(self.positions)
                           .values(name=name, position=0)
                           .on_conflict_do_nothing())
        c = self.positions.c
        query = (select(c.position, c.cursor_transaction, c.cursor_position)
                 .where(c.name == name).with_for_update())
        row = (await conn.execute(query)).one()
        return int(row[0]), (int(row[1]), int(row[2]))

    async def _save_place(self, conn: AsyncConnection,
                          events: list[RecordedEvent], highest: int) -> None:
        last = events[-1]
        await conn.execute(self.positions.update()
                           .where(self.positions.c.name == self.projection.name)
                           .values(position=max(highest,
                                                *(e.position for e in events)),
                                   cursor_transaction=last.transaction_id,
                                   cursor_position=last.position))
