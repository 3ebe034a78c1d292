"""The transactional outbox: messages saved with their events, published later.

A command's events and the messages announcing them commit in one
transaction. The relay then publishes unsent rows to Kafka and marks them
sent. A crash between the two publishes again on restart: consumers drop
the duplicate by event id, so nothing is lost and nothing is done twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from typing import Any

import orjson
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Identity,
    Index,
    MetaData,
    Table,
    Text,
    Uuid,
    delete,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.shared.messages import Envelope
from services.shared.notify import wait
from services.shared.tracing import publishing, suppress_instrumentation

logger = logging.getLogger(__name__)

BATCH = 500


def outbox_table(metadata: MetaData) -> Table:
    """Declares the outbox table in a service's metadata."""
    return Table(
        "outbox",
        metadata,
        Column("id", BigInteger, Identity(), primary_key=True),
        Column("event_id", Uuid, nullable=False),
        Column("topic", Text, nullable=False),
        Column("key", Text, nullable=False),
        Column("payload", JSONB, nullable=False),
        Column("headers", JSONB, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False,
               server_default=func.now()),
        Column("published_at", DateTime(timezone=True)),
        Index("outbox_unpublished", "id",
              postgresql_where=text("published_at IS NULL")),
    )


class Outbox:
    """Adds messages to the outbox inside the caller's transaction."""

    def __init__(self, table: Table) -> None:
        self.table = table

    async def add(self, conn: AsyncConnection, topic: str, key: str,
                  envelopes: Sequence[Envelope],
                  trace_headers: Mapping[str, str] | None = None) -> None:
        """Queues envelopes for `topic`, keyed so one key's messages stay in order."""
        if not envelopes:
            return
        rows = [{
            "event_id": envelope.event_id,
            "topic": topic,
            "key": key,
            "payload": envelope.model_dump(mode="json"),
            "headers": {**envelope.headers(), **(trace_headers or {})},
        } for envelope in envelopes]
        await conn.execute(insert(self.table), rows)


class OutboxRelay:
    """Publishes unsent outbox rows to Kafka in order, then marks them sent."""

    def __init__(self, engine: AsyncEngine, table: Table,
                 producer: AIOKafkaProducer, wakeup: asyncio.Event) -> None:
        self.engine = engine
        self.table = table
        self.producer = producer
        self.wakeup = wakeup
        self.lock_key = f"{table.schema}.outbox"

    async def run(self) -> None:
        """Relays for as long as the service lives, surviving outages."""
        while True:
            try:
                # Polling queries are not worth a trace each; the publish
                # spans below are made by hand and still recorded.
                with suppress_instrumentation():
                    async with self.engine.connect() as conn:
                        try:
                            await self._lead(conn)
                        finally:
                            # Closing, not pooling, the connection frees its
                            # leadership lock for whichever relay comes next.
                            await conn.invalidate()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("outbox relay failed; retrying in 1 s")
            await asyncio.sleep(1.0)

    async def _lead(self, conn: AsyncConnection) -> None:
        # One relay per service publishes at a time (a session lock held by
        # this connection), so a second instance cannot reorder a key's rows.
        while not await self._try_lock(conn):
            await asyncio.sleep(1.0)
        logger.info("outbox relay leads lock=%s", self.lock_key)
        cycles = 0
        while True:
            if not await self.publish_batch(conn):
                await wait(self.wakeup)
            cycles += 1
            if cycles % 1000 == 0:
                await self._prune(conn)

    async def _try_lock(self, conn: AsyncConnection) -> bool:
        query = text("SELECT pg_try_advisory_lock(hashtext(:k))")
        locked = bool((await conn.execute(query, {"k": self.lock_key})).scalar())
        await conn.commit()
        return locked

    async def publish_batch(self, conn: AsyncConnection) -> int:
        """Publishes up to one batch of unsent rows; returns how many."""
        t = self.table
        query = (select(t).where(t.c.published_at.is_(None))
                 .order_by(t.c.id).limit(BATCH))
        rows = (await conn.execute(query)).mappings().all()
        if not rows:
            await conn.commit()
            return 0
        await self._send(rows)
        ids = [row["id"] for row in rows]
        await conn.execute(update(t).where(t.c.id.in_(ids))
                           .values(published_at=func.now()))
        await conn.commit()
        return len(rows)

    async def _send(self, rows: Sequence[Any]) -> None:
        pending = []
        for row in rows:
            value = orjson.dumps(row["payload"])
            with publishing(row["topic"], row["headers"]) as outgoing:
                headers = [(k, str(v).encode()) for k, v in outgoing.items()]
                pending.append(await self.producer.send(
                    row["topic"], value,
                    key=row["key"].encode(), headers=headers,
                ))
        try:
            await asyncio.gather(*pending)
        except KafkaError:
            logger.warning("publish failed rows=%s; will retry", len(rows))
            raise

    async def _prune(self, conn: AsyncConnection) -> None:
        # Sent rows are kept a day so lessons can show them, then dropped.
        t = self.table
        await conn.execute(delete(t).where(
            t.c.published_at < func.now() - text("interval '1 day'")))
        await conn.commit()
