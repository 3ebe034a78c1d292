"""Kafka consumers that process each event at least once and apply it once.

A record is handled in one database transaction that also claims its event
id; the offset is committed only after that transaction. A redelivered
record finds its id claimed and is skipped. A record that cannot be parsed,
or keeps failing, goes to the dead-letter topic with the reason, and the
consumer carries on. Outages of the database are waited out, not
dead-lettered: the record is retried until the database is back.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord
from aiokafka.errors import KafkaError
from aiokafka.structs import TopicPartition
from pydantic import BaseModel, ValidationError
from sqlalchemy import Column, DateTime, MetaData, Table, Text, Uuid, func
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.shared import correlation
from services.shared.db import is_transient
from services.shared.eventstore import ConcurrencyConflict
from services.shared.messages import Envelope
from services.shared.tracing import consuming, mark_failed

logger = logging.getLogger(__name__)

DEAD_LETTER_TOPIC = "dead-letter"
# No event of the lab comes near this; a bigger record is a mistake or an
# attack, and parsing it would only slow the consumer down.
MAX_RECORD_BYTES = 256 * 1024

Handler = Callable[[AsyncConnection, Envelope, Any], Awaitable[None]]


@dataclass(frozen=True)
class Subscription:
    """What a consumer does with one event type: its view of the data, a handler."""

    model: type[BaseModel]
    handler: Handler
    versions: frozenset[int] = field(default_factory=lambda: frozenset({1}))


class Unprocessable(Exception):
    """A record that no retry can fix: it goes straight to the dead letters."""


def processed_table(metadata: MetaData) -> Table:
    """Declares the table of event ids each consumer has already handled."""
    return Table(
        "processed_messages",
        metadata,
        Column("consumer", Text, primary_key=True),
        Column("event_id", Uuid, primary_key=True),
        Column("processed_at", DateTime(timezone=True), nullable=False,
               server_default=func.now()),
    )


class EventConsumer:
    """Consumes topics for one consumer group and dispatches by event type."""

    def __init__(
        self,
        name: str,
        bootstrap_servers: str,
        topics: list[str],
        subscriptions: Mapping[str, Subscription],
        engine: AsyncEngine,
        processed: Table,
        dead_letters: AIOKafkaProducer,
        max_attempts: int = 3,
    ) -> None:
        self.name = name
        self.bootstrap_servers = bootstrap_servers
        self.topics = topics
        self.subscriptions = dict(subscriptions)
        self.engine = engine
        self.processed = processed
        self.dead_letters = dead_letters
        self.max_attempts = max_attempts
        self.consumer: AIOKafkaConsumer | None = None
        self.handled = 0
        # Paused, the consumer stays in its group (its partitions are not
        # handed to another member) but fetches nothing: lag grows.
        self.paused = False

    async def run(self) -> None:
        """Consumes until cancelled; the consumer leaves its group on the way out."""
        consumer = AIOKafkaConsumer(
            *self.topics,
            bootstrap_servers=self.bootstrap_servers,
            group_id=self.name,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=200,
            fetch_max_wait_ms=100,
        )
        await consumer.start()
        self.consumer = consumer
        try:
            while True:
                self._apply_pause(consumer)
                batches = await consumer.getmany(timeout_ms=500)
                for tp, records in batches.items():
                    await self._consume(consumer, tp, records)
        finally:
            self.consumer = None
            await consumer.stop()

    def _apply_pause(self, consumer: AIOKafkaConsumer) -> None:
        # Checked each round, so partitions gained in a rebalance pause too.
        if self.paused:
            consumer.pause(*consumer.assignment())
        elif consumer.paused():
            consumer.resume(*consumer.paused())

    def describe(self) -> dict[str, Any]:
        """The group, whether it is paused, its partitions and records handled."""
        assignment = self.consumer.assignment() if self.consumer else set()
        return {
            "group": self.name,
            "paused": self.paused,
            "partitions": sorted(f"{tp.topic}/{tp.partition}" for tp in assignment),
            "handled": self.handled,
        }

    async def _consume(self, consumer: AIOKafkaConsumer, tp: TopicPartition,
                       records: list[ConsumerRecord[bytes, bytes]]) -> None:
        for record in records:
            await self.process(record)
        try:
            await consumer.commit({tp: records[-1].offset + 1})
        except KafkaError as error:
            # A rebalance took the partition away: its new owner gets these
            # records again and skips them as duplicates.
            logger.warning("commit failed partition=%s error=%s", tp, error)

    async def process(self, record: ConsumerRecord[bytes, bytes]) -> None:
        """Handles one record: parse, dedup, handle; dead-letter what fails."""
        try:
            envelope, subscription, data = self._parse(record)
        except Unprocessable as error:
            await self._dead_letter(record, str(error), attempts=0)
            return
        if subscription is None:
            return
        token = correlation.bind(envelope.correlation_id)
        headers = _text_headers(record)
        try:
            with consuming(record.topic, record.partition, record.offset,
                           envelope.event_type, headers,
                           envelope.data.get("order_id")) as span:
                failure = await self._handle_with_retries(
                    record, envelope, subscription, data)
                if failure:
                    mark_failed(span, failure)
        finally:
            correlation.unbind(token)

    def _parse(self, record: ConsumerRecord[bytes, bytes]
               ) -> tuple[Envelope, Subscription | None, Any]:
        size = len(record.value or b"")
        if size > MAX_RECORD_BYTES:
            raise Unprocessable(
                f"record of {size} bytes exceeds the {MAX_RECORD_BYTES}-byte limit")
        try:
            envelope = Envelope.model_validate_json(record.value or b"")
        except ValidationError as error:
            raise Unprocessable(f"malformed envelope: {_short(error)}") from error
        subscription = self.subscriptions.get(envelope.event_type)
        if subscription is None:
            return envelope, None, None
        if envelope.schema_version not in subscription.versions:
            raise Unprocessable(
                f"{envelope.event_type} schema version {envelope.schema_version}"
                f" is not supported (supported: {sorted(subscription.versions)})"
            )
        try:
            data = subscription.model.model_validate(envelope.data)
        except ValidationError as error:
            raise Unprocessable(
                f"{envelope.event_type} data is invalid: {_short(error)}"
            ) from error
        return envelope, subscription, data

    async def _handle_with_retries(self, record: ConsumerRecord[bytes, bytes],
                                   envelope: Envelope, subscription: Subscription,
                                   data: Any) -> str | None:
        """Handles a record; returns why it was dead-lettered, if it was."""
        attempts = 0
        while True:
            try:
                await self._handle_once(envelope, subscription, data)
                return None
            except Exception as error:
                if is_transient(error):
                    logger.warning("database unavailable event_id=%s; waiting",
                                   envelope.event_id)
                    await asyncio.sleep(1.0)
                    continue
                attempts += 1
                if attempts >= self._limit(error):
                    logger.exception("giving up event_type=%s event_id=%s",
                                     envelope.event_type, envelope.event_id)
                    await self._dead_letter(record, repr(error), attempts)
                    return repr(error)
                await asyncio.sleep(0.05 * attempts)

    def _limit(self, error: Exception) -> int:
        # Losing a race to another writer is normal under load: retry longer.
        if isinstance(error, ConcurrencyConflict):
            return self.max_attempts * 5
        return self.max_attempts

    async def _handle_once(self, envelope: Envelope, subscription: Subscription,
                           data: Any) -> None:
        async with self.engine.begin() as conn:
            if not await self._claim(conn, envelope):
                logger.info("duplicate skipped event_type=%s event_id=%s",
                            envelope.event_type, envelope.event_id)
                return
            await subscription.handler(conn, envelope, data)
        self.handled += 1

    async def _claim(self, conn: AsyncConnection, envelope: Envelope) -> bool:
        statement = (
            insert(self.processed)
            .values(consumer=self.name, event_id=envelope.event_id)
            .on_conflict_do_nothing()
            .returning(self.processed.c.event_id)
        )
        return (await conn.execute(statement)).first() is not None

    async def _dead_letter(self, record: ConsumerRecord[bytes, bytes],
                           reason: str, attempts: int) -> None:
        logger.error("dead-lettered topic=%s partition=%s offset=%s reason=%s",
                     record.topic, record.partition, record.offset, reason)
        headers = list(record.headers or ()) + [
            ("dlq_reason", reason[:2000].encode()),
            ("dlq_consumer", self.name.encode()),
            ("dlq_topic", record.topic.encode()),
            ("dlq_partition", str(record.partition).encode()),
            ("dlq_offset", str(record.offset).encode()),
            ("dlq_attempts", str(attempts).encode()),
        ]
        await self.dead_letters.send_and_wait(
            DEAD_LETTER_TOPIC, record.value, key=record.key, headers=headers
        )


def _text_headers(record: ConsumerRecord[bytes, bytes]) -> dict[str, str]:
    return {key: value.decode(errors="replace")
            for key, value in (record.headers or ())}


def _short(error: ValidationError) -> str:
    first = error.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "value"
    return f"{where}: {first['msg']}"
