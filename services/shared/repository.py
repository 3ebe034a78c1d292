"""Loads event-sourced aggregates and saves their new events with the outbox."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection

from services.shared.aggregate import Aggregate
from services.shared.codec import EventCodec
from services.shared.eventstore import EventStore, NewEvent, RecordedEvent
from services.shared.messages import Envelope
from services.shared.outbox import Outbox

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
    """Event-sourced storage for one aggregate type."""

    def __init__(self, store: EventStore, codec: EventCodec,
                 aggregate_type: type[A], outbox: Outbox | None = None,
                 publication: Publication | None = None) -> None:
        self.store = store
        self.codec = codec
        self.aggregate_type = aggregate_type
        self.outbox = outbox
        self.publication = publication

    async def load(self, conn: AsyncConnection, stream_id: str,
                   up_to_version: int | None = None) -> A | None:
        """Rebuilds an aggregate from its stream, or None if it has no events."""
        recorded = await self.store.load(conn, stream_id, up_to_version)
        if not recorded:
            return None
        events = [self.codec.decode(r.event_type, r.schema_version, r.data)
                  for r in recorded]
        return self.aggregate_type.rebuild(events)

    async def save(self, conn: AsyncConnection, stream_id: str, aggregate: A,
                   context: MessageContext, key: str) -> list[RecordedEvent]:
        """Appends the aggregate's new events and queues their messages."""
        expected = aggregate.stored_version
        events = aggregate.take_pending()
        if not events:
            return []
        metadata = context.metadata()
        new = []
        for event in events:
            event_type, version, data = self.codec.encode(event)
            new.append(NewEvent(event_type, data, version, metadata))
        recorded = await self.store.append(conn, stream_id, expected, new)
        await self._publish(conn, recorded, key)
        return recorded

    async def _publish(self, conn: AsyncConnection,
                       recorded: list[RecordedEvent], key: str) -> None:
        if self.outbox is None or self.publication is None:
            return
        source = self.publication.source
        envelopes = [Envelope.of(event, source) for event in recorded]
        await self.outbox.add(conn, self.publication.topic, key, envelopes)
        for event in recorded:
            logger.info("recorded event_type=%s stream_id=%s version=%s",
                        event.event_type, event.stream_id, event.version)
