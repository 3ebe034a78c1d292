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
from collections.abc import Sequence
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
    """Feeds a service's projections every event after their stored places.

    All of a service's projections share one runner: each batch of events
    is read and decoded once, then handed to every projection that has not
    seen it yet.
    """

    def __init__(self, engine: AsyncEngine, store: EventStore, codec: EventCodec,
                 positions: Table, projections: Sequence[Projection],
                 wakeup: asyncio.Event) -> None:
        self.engine = engine
        self.store = store
        self.codec = codec
        self.positions = positions
        self.projections = list(projections)
        self.wakeup = wakeup
        self.registered = False

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
                logger.exception("projections failed names=%s; retrying in 1 s",
                                 [p.name for p in self.projections])
                await asyncio.sleep(1.0)

    async def catch_up_once(self) -> int:
        """Applies one batch of new events; returns how many."""
        async with self.engine.begin() as conn:
            places = await self._places(conn)
            events = await self.store.read_committed(
                conn, min(cursor for _, cursor in places.values()), BATCH)
            for recorded in events:
                await self._apply(conn, recorded, places)
            if events:
                await self._save_places(conn, events, places)
        return len(events)

    async def _apply(self, conn: AsyncConnection, recorded: RecordedEvent,
                     places: dict[str, tuple[int, Cursor]]) -> None:
        event = self.codec.decode(recorded.event_type, recorded.schema_version,
                                  recorded.data)
        here = (recorded.transaction_id, recorded.position)
        for projection in self.projections:
            if here > places[projection.name][1]:
                await projection.apply(conn, recorded, event)

    async def _places(self, conn: AsyncConnection
                      ) -> dict[str, tuple[int, Cursor]]:
        names = [p.name for p in self.projections]
        if not self.registered:
            await conn.execute(insert(self.positions)
                               .values([{"name": n, "position": 0} for n in names])
                               .on_conflict_do_nothing())
            self.registered = True
        c = self.positions.c
        query = (select(c.name, c.position, c.cursor_transaction,
                        c.cursor_position)
                 .where(c.name.in_(names)).with_for_update())
        rows = (await conn.execute(query)).all()
        return {row[0]: (int(row[1]), (int(row[2]), int(row[3]))) for row in rows}

    async def _save_places(self, conn: AsyncConnection,
                           events: list[RecordedEvent],
                           places: dict[str, tuple[int, Cursor]]) -> None:
        last = events[-1]
        newest = max(e.position for e in events)
        for name, (highest, _) in places.items():
            await conn.execute(
                self.positions.update().where(self.positions.c.name == name)
                .values(position=max(highest, newest),
                        cursor_transaction=last.transaction_id,
                        cursor_position=last.position))
