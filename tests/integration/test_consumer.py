"""EventConsumer on real Kafka and PostgreSQL: dedup and dead letters."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from pydantic import BaseModel
from sqlalchemy import Column, MetaData, Table, Text, Uuid, func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.shared.consumer import (
    DEAD_LETTER_TOPIC,
    EventConsumer,
    Subscription,
    processed_table,
)
from services.shared.db import create_schema
from services.shared.messages import Envelope
from services.shared.settings import LabSettings
from tests.integration.conftest import NewTopic
from tests.integration.support import (
    Record,
    collect,
    header,
    tail,
    unique,
    wait_for,
)


class Deposit(BaseModel):
    """The data this consumer needs from a DepositMade event."""

    account: str
    amount: int


@dataclass
class Rig:
    """A running consumer, what its handler wrote, and its dead letters."""

    topic: str
    name: str
    effects: Table
    processed: Table
    dead_letters: AIOKafkaConsumer


def _envelope(event_type: str, data: dict[str, Any], schema_version: int = 1,
              event_id: uuid.UUID | None = None) -> bytes:
    return Envelope(
        event_id=event_id or uuid.uuid4(), event_type=event_type,
        schema_version=schema_version, source="tests", stream_id="account-1",
        version=1, occurred_at=datetime.now(UTC), data=data,
    ).model_dump_json().encode()


@pytest.fixture
async def rig(settings: LabSettings, engine: AsyncEngine, schema: str,
              new_topic: NewTopic,
              producer: AIOKafkaProducer) -> AsyncIterator[Rig]:
    metadata = MetaData(schema=schema)
    effects = Table("effects", metadata, Column("event_id", Uuid),
                    Column("account", Text))
    processed = processed_table(metadata)
    await create_schema(engine, metadata)
    topic = await new_topic()

    async def deposit(conn: AsyncConnection, envelope: Envelope,
                      data: Deposit) -> None:
        await conn.execute(insert(effects).values(event_id=envelope.event_id,
                                                  account=data.account))

    async def explode(conn: AsyncConnection, envelope: Envelope,
                      data: Deposit) -> None:
        raise ValueError("the handler always fails")

    name = unique("it-consumer")
    consumer = EventConsumer(
        name, settings.bootstrap_servers, [topic],
        {"DepositMade": Subscription(Deposit, deposit),
         "DepositExploded": Subscription(Deposit, explode)},
        engine, processed, producer, max_attempts=3)
    # Positions are fixed at the end before anything is produced, so only
    # this test's dead letters (filtered by topic below) can follow.
    dead_letters = await tail(settings.bootstrap_servers, DEAD_LETTER_TOPIC,
                              from_end=True)
    task = asyncio.create_task(consumer.run())
    try:
        yield Rig(topic, name, effects, processed, dead_letters)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await dead_letters.stop()


async def _effects(engine: AsyncEngine, rig: Rig,
                   account: str) -> list[uuid.UUID]:
    async with engine.connect() as conn:
        rows = await conn.execute(select(rig.effects.c.event_id)
                                  .where(rig.effects.c.account == account))
        return [row.event_id for row in rows]


async def _dead_letters(rig: Rig, count: int) -> list[Record]:
    mine = rig.topic.encode()
    return await collect(
        rig.dead_letters, lambda got: len(got) >= count,
        keep=lambda r: dict(r.headers or ()).get("dlq_topic") == mine)


async def test_a_redelivered_event_takes_effect_once(
        engine: AsyncEngine, rig: Rig, producer: AIOKafkaProducer) -> None:
    event_id = uuid.uuid4()
    value = _envelope("DepositMade", {"account": "a-1", "amount": 5},
                      event_id=event_id)
    await producer.send_and_wait(rig.topic, value, key=b"account-1")
    await producer.send_and_wait(rig.topic, value, key=b"account-1")
    # A later event on the same partition proves both copies were handled.
    await producer.send_and_wait(
        rig.topic, _envelope("DepositMade", {"account": "a-2", "amount": 1}),
        key=b"account-1")
    await wait_for(lambda: _effects(engine, rig, "a-2"),
                   what="the event after the duplicate handled")

    assert await _effects(engine, rig, "a-1") == [event_id]
    async with engine.connect() as conn:
        claims = await conn.execute(
            select(func.count()).select_from(rig.processed)
            .where(rig.processed.c.event_id == event_id,
                   rig.processed.c.consumer == rig.name))
        assert claims.scalar_one() == 1


async def test_unreadable_records_are_dead_lettered_and_consuming_goes_on(
        engine: AsyncEngine, rig: Rig, producer: AIOKafkaProducer) -> None:
    bad = [
        (b"not json", "malformed envelope"),
        (_envelope("DepositMade", {"account": "x", "amount": 1},
                   schema_version=2), "schema version 2 is not supported"),
        (_envelope("DepositMade", {"account": "x", "amount": "lots"}),
         "data is invalid"),
    ]
    offsets = []
    for value, _ in bad:
        sent = await producer.send_and_wait(rig.topic, value, key=b"k")
        offsets.append(sent.offset)
    await producer.send_and_wait(
        rig.topic, _envelope("DepositMade", {"account": "good", "amount": 3}),
        key=b"k")

    await wait_for(lambda: _effects(engine, rig, "good"),
                   what="the good record after the bad ones handled")
    letters = await _dead_letters(rig, 3)
    assert [r.value for r in letters] == [value for value, _ in bad]
    for letter, (_, reason), offset in zip(letters, bad, offsets):
        assert reason in (header(letter, "dlq_reason") or "")
        assert header(letter, "dlq_topic") == rig.topic
        assert header(letter, "dlq_offset") == str(offset)
        assert header(letter, "dlq_consumer") == rig.name
        assert header(letter, "dlq_attempts") == "0"
    assert await _effects(engine, rig, "x") == []


async def test_a_handler_that_keeps_failing_is_dead_lettered_after_its_attempts(
        engine: AsyncEngine, rig: Rig, producer: AIOKafkaProducer) -> None:
    doomed = _envelope("DepositExploded", {"account": "boom", "amount": 1})
    sent = await producer.send_and_wait(rig.topic, doomed, key=b"k")
    await producer.send_and_wait(
        rig.topic, _envelope("DepositMade", {"account": "after", "amount": 1}),
        key=b"k")

    await wait_for(lambda: _effects(engine, rig, "after"),
                   what="the record after the failing one handled")
    [letter] = await _dead_letters(rig, 1)
    assert letter.value == doomed
    assert "the handler always fails" in (header(letter, "dlq_reason") or "")
    assert header(letter, "dlq_attempts") == "3"
    assert header(letter, "dlq_offset") == str(sent.offset)
    # The failed attempts rolled back their claim: no trace of the event.
    async with engine.connect() as conn:
        claims = await conn.execute(select(func.count())
                                    .select_from(rig.processed))
        assert claims.scalar_one() == 1
