"""Projections: read models kept up to date from the event store, by position.

A projection's rows and its position change in one transaction, so after a
crash it resumes exactly where its last commit left it, never applying an
event twice or skipping one.
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
from services.shared.eventstore import EventStore, RecordedEvent
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
            position = await self._position(conn)
            events = await self.store.read_all(conn, position, BATCH)
            for recorded in events:
                event = self.codec.decode(recorded.event_type,
                                          recorded.schema_version, recorded.data)
                await self.projection.apply(conn, recorded, event)
            if events:
                await self._save_position(conn, events[-1].position)
        return len(events)

    async def _position(self, conn: AsyncConnection) -> int:
        name = self.projection.name
        await conn.execute(insert(self.positions)
                           .values(name=name, position=0)
                           .on_conflict_do_nothing())
        query = (select(self.positions.c.position)
                 .where(self.positions.c.name == name).with_for_update())
        return int((await conn.execute(query)).scalar_one())

    async def _save_position(self, conn: AsyncConnection, position: int) -> None:
        await conn.execute(self.positions.update()
                           .where(self.positions.c.name == self.projection.name)
                           .values(position=position))
