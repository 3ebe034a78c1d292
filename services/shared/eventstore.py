"""An append-only event store in PostgreSQL, one per service schema.

Positions come from a sequence, so they are handed out in insert order but
become visible in commit order: a reader that jumped to the highest
position it saw could miss a lower one committed a moment later. Each row
therefore records the id of the transaction that wrote it, and followers
(`read_committed`) read in (transaction id, position) order, only from
transactions older than every transaction still running. They never skip
an event, and writers never wait for one another.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Identity,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
    func,
    insert,
    literal_column,
    select,
    text,
    tuple_,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.expression import ColumnClause

logger = logging.getLogger(__name__)


# A follower's place: the (transaction id, position) of the last event read.
Cursor = tuple[int, int]

# Every transaction with a smaller id has ended, committed or not. The
# price of reading in commit order: a transaction that has written and then
# stays open (a psql session left inside BEGIN, say) holds back every
# follower of every service until it ends. Read-only transactions take no
# id and hold nothing back. The lab does not bound the stall yet; setting
# PostgreSQL's idle_in_transaction_session_timeout would.
_OLDEST_RUNNING: ColumnClause[int] = literal_column(
    "pg_snapshot_xmin(pg_current_snapshot())::text::bigint", BigInteger)


class ConcurrencyConflict(Exception):
    """Another writer appended to the stream first (HTTP 409)."""

    def __init__(self, stream_id: str, expected: int, actual: int) -> None:
        super().__init__(
            f"stream {stream_id} is at version {actual}, "
            f"not {expected} as expected: another writer got there first"
        )
        self.stream_id = stream_id
        self.expected = expected
        self.actual = actual


@dataclass(frozen=True)
class NewEvent:
    """An event ready to append: its type, schema version, data and metadata."""

    event_type: str
    data: dict[str, Any]
    schema_version: int = 1
    metadata: dict[str, Any] = field(default_factory=dict)
    event_id: uuid.UUID = field(default_factory=uuid.uuid4)


@dataclass(frozen=True)
class RecordedEvent:
    """An event as stored: with its stream version and global position."""

    position: int
    stream_id: str
    version: int
    event_id: uuid.UUID
    event_type: str
    schema_version: int
    data: dict[str, Any]
    metadata: dict[str, Any]
    recorded_at: datetime
    transaction_id: int = 0

    @property
    def correlation_id(self) -> str | None:
        """The correlation id the event was recorded under."""
        value = self.metadata.get("correlation_id")
        return str(value) if value is not None else None


def event_tables(metadata: MetaData) -> Table:
    """Declares the events table in a service's metadata."""
    return Table(
        "events",
        metadata,
        Column("position", BigInteger, Identity(), primary_key=True),
        Column("stream_id", Text, nullable=False),
        Column("version", Integer, nullable=False),
        Column("event_id", Uuid, nullable=False, unique=True),
        Column("event_type", Text, nullable=False),
        Column("schema_version", Integer, nullable=False),
        Column("data", JSONB, nullable=False),
        Column("metadata", JSONB, nullable=False),
        Column("correlation_id", Text),
        Column("recorded_at", DateTime(timezone=True), nullable=False,
               server_default=func.now()),
        Column("transaction_id", BigInteger, nullable=False,
               server_default=text("pg_current_xact_id()::text::bigint")),
        UniqueConstraint("stream_id", "version", name="events_stream_version"),
        Index("events_correlation_id", "correlation_id"),
        Index("events_commit_order", "transaction_id", "position"),
    )


def snapshot_table(metadata: MetaData) -> Table:
    """Declares the table of aggregate snapshots: a cache, never the truth."""
    return Table(
        "snapshots",
        metadata,
        Column("stream_id", Text, primary_key=True),
        Column("version", Integer, nullable=False),
        Column("state", JSONB, nullable=False),
    )


class EventStore:
    """Appends to and reads from one service's events table."""

    def __init__(self, table: Table) -> None:
        self.table = table
        self.schema = table.schema or "public"
        self.channel = f"{self.schema}_events"

    async def append(
        self,
        conn: AsyncConnection,
        stream_id: str,
        expected_version: int,
        events: Sequence[NewEvent],
    ) -> list[RecordedEvent]:
        """Appends events after `expected_version`, or raises ConcurrencyConflict."""
        actual = await self.current_version(conn, stream_id)
        if actual != expected_version:
            raise ConcurrencyConflict(stream_id, expected_version, actual)
        rows = [self._row(stream_id, expected_version + n + 1, event)
                for n, event in enumerate(events)]
        try:
            result = await conn.execute(
                insert(self.table).returning(self.table), rows
            )
        except IntegrityError as error:
            raise ConcurrencyConflict(stream_id, expected_version,
                                      expected_version + 1) from error
        await conn.execute(text("SELECT pg_notify(:c, '')"), {"c": self.channel})
        return [self._recorded(row) for row in result.mappings()]

    def _row(self, stream_id: str, version: int, event: NewEvent) -> dict[str, Any]:
        return {
            "stream_id": stream_id,
            "version": version,
            "event_id": event.event_id,
            "event_type": event.event_type,
            "schema_version": event.schema_version,
            "data": event.data,
            "metadata": event.metadata,
            "correlation_id": event.metadata.get("correlation_id"),
        }

    async def current_version(self, conn: AsyncConnection, stream_id: str) -> int:
        """The version of a stream: the number of its events (0 when new)."""
        query = select(func.coalesce(func.max(self.table.c.version), 0)).where(
            self.table.c.stream_id == stream_id
        )
        return int((await conn.execute(query)).scalar_one())

    async def load(self, conn: AsyncConnection, stream_id: str,
                   up_to_version: int | None = None,
                   after_version: int = 0) -> list[RecordedEvent]:
        """The events of one stream in order, optionally within versions."""
        query = (select(self.table).where(self.table.c.stream_id == stream_id)
                 .where(self.table.c.version > after_version)
                 .order_by(self.table.c.version))
        if up_to_version is not None:
            query = query.where(self.table.c.version <= up_to_version)
        result = await conn.execute(query)
        return [self._recorded(row) for row in result.mappings()]

    async def read_all(self, conn: AsyncConnection, after_position: int = 0,
                       limit: int = 1000) -> list[RecordedEvent]:
        """Events of every stream after a global position, in order."""
        query = (select(self.table)
                 .where(self.table.c.position > after_position)
                 .order_by(self.table.c.position).limit(limit))
        result = await conn.execute(query)
        return [self._recorded(row) for row in result.mappings()]

    async def read_committed(self, conn: AsyncConnection, after: Cursor = (0, 0),
                             limit: int = 1000) -> list[RecordedEvent]:
        """Events after a cursor, in commit order, that no running writer precedes."""
        t = self.table
        query = (
            select(t)
            .where(tuple_(t.c.transaction_id, t.c.position) > tuple_(*after))
            .where(t.c.transaction_id < _OLDEST_RUNNING)
            .order_by(t.c.transaction_id, t.c.position)
            .limit(limit)
        )
        result = await conn.execute(query)
        return [self._recorded(row) for row in result.mappings()]

    @staticmethod
    def _recorded(row: Any) -> RecordedEvent:
        return RecordedEvent(
            position=row["position"], stream_id=row["stream_id"],
            version=row["version"], event_id=row["event_id"],
            event_type=row["event_type"], schema_version=row["schema_version"],
            data=row["data"], metadata=row["metadata"],
            recorded_at=row["recorded_at"],
            transaction_id=row["transaction_id"],
        )
