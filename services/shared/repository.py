"""Loads event-sourced aggregates and saves their new events with the outbox."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar, cast

from sqlalchemy import Table, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from services.shared.aggregate import Aggregate
from services.shared.codec import EventCodec
from services.shared.eventstore import EventStore, NewEvent, RecordedEvent
from services.shared.messages import Envelope, traceparent_of
from services.shared.outbox import Outbox
from services.shared.tracing import current_traceparent, note_recorded

logger = logging.getLogger(__name__)

A = TypeVar("A", bound=Aggregate)


@dataclass(frozen=True)
class MessageContext:
    """Why new events happen: the request or message that caused them."""

    correlation_id: str | None = None
    causation_id: str | None = None
    traceparent: str | None = None

    def metadata(self) -> dict[str, str]:
        """The metadata stored with each event."""
        data = {"occurred_at": datetime.now(UTC).isoformat()}
        for key in ("correlation_id", "causation_id", "traceparent"):
            value = getattr(self, key)
            if value:
                data[key] = value
        return data


@dataclass(frozen=True)
class Publication:
    """Where a stream's events are announced: a topic, keyed by a function."""

    topic: str
    source: str


class Repository(Generic[A]):
    """Event-sourced storage for one aggregate type.

    With a snapshot table, an aggregate whose class has `snapshot` and
    `from_snapshot` is saved as a snapshot every `snapshot_every` events,
    and loading replays only the events after the latest one.
    """

    def __init__(self, store: EventStore, codec: EventCodec,
                 aggregate_type: type[A], outbox: Outbox | None = None,
                 publication: Publication | None = None,
                 snapshots: Table | None = None,
                 snapshot_every: int = 50) -> None:
        self.store = store
        self.codec = codec
        self.aggregate_type = aggregate_type
        self.outbox = outbox
        self.publication = publication
        self.snapshots = snapshots
        self.snapshot_every = snapshot_every

    async def load(self, conn: AsyncConnection, stream_id: str,
                   up_to_version: int | None = None) -> A | None:
        """Rebuilds an aggregate from its stream, or None if it has no events."""
        aggregate = None
        if up_to_version is None:
            aggregate = await self._from_snapshot(conn, stream_id)
        after = aggregate.version if aggregate else 0
        recorded = await self.store.load(conn, stream_id, up_to_version, after)
        if aggregate is None and not recorded:
            return None
        aggregate = aggregate or self.aggregate_type()
        aggregate.replay(self.codec.decode(r.event_type, r.schema_version, r.data)
                         for r in recorded)
        return aggregate

    async def _from_snapshot(self, conn: AsyncConnection, stream_id: str
                             ) -> A | None:
        if self.snapshots is None:
            return None
        query = select(self.snapshots).where(
            self.snapshots.c.stream_id == stream_id)
        row = (await conn.execute(query)).mappings().first()
        if row is None:
            return None
        # Only aggregates with snapshot support are given a snapshot table.
        restorable = cast(Any, self.aggregate_type)
        aggregate: A = restorable.from_snapshot(row["state"], row["version"])
        return aggregate

    async def save(self, conn: AsyncConnection, stream_id: str, aggregate: A,
                   context: MessageContext, key: str) -> list[RecordedEvent]:
        """Appends the aggregate's new events and queues their messages."""
        expected = aggregate.stored_version
        events = aggregate.take_pending()
        if not events:
            return []
        metadata = context.metadata()
        traceparent = context.traceparent or current_traceparent()
        if traceparent:
            metadata["traceparent"] = traceparent
        new = []
        for event in events:
            event_type, version, data = self.codec.encode(event)
            new.append(NewEvent(event_type, data, version, metadata))
        recorded = await self.store.append(conn, stream_id, expected, new)
        note_recorded([event.event_type for event in new])
        await self._publish(conn, recorded, key)
        if self._snapshot_due(expected, aggregate.version):
            await self._save_snapshot(conn, stream_id, aggregate)
        return recorded

    def _snapshot_due(self, before: int, after: int) -> bool:
        every = self.snapshot_every
        return self.snapshots is not None and after // every > before // every

    async def _save_snapshot(self, conn: AsyncConnection, stream_id: str,
                             aggregate: A) -> None:
        assert self.snapshots is not None
        values = {"version": aggregate.version,
                  "state": cast(Any, aggregate).snapshot()}
        await conn.execute(insert(self.snapshots)
                           .values(stream_id=stream_id, **values)
                           .on_conflict_do_update(index_elements=["stream_id"],
                                                  set_=values))

    async def _publish(self, conn: AsyncConnection,
                       recorded: list[RecordedEvent], key: str) -> None:
        if self.outbox is None or self.publication is None:
            return
        source = self.publication.source
        envelopes = [Envelope.of(event, source) for event in recorded]
        await self.outbox.add(conn, self.publication.topic, key, envelopes,
                              traceparent_of(recorded[0]))
        for event in recorded:
            logger.info("recorded event_type=%s stream_id=%s version=%s",
                        event.event_type, event.stream_id, event.version)
