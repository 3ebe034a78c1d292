"""Helpers of the integration suite: unique names, reading topics with a deadline."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import TypeVar

from aiokafka import AIOKafkaConsumer, ConsumerRecord

Record = ConsumerRecord[bytes, bytes]
T = TypeVar("T")


def unique(prefix: str) -> str:
    """A name no other run uses; lower case so it is also a valid schema."""
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


def header(record: Record, name: str) -> str | None:
    """The first header called `name`, decoded, or None."""
    for key, value in record.headers or ():
        if key == name:
            return value.decode()
    return None


async def tail(bootstrap_servers: str, topic: str,
               from_end: bool = False) -> AIOKafkaConsumer:
    """A group-less consumer of every partition, its positions already fixed.

    Fixing the positions before the test produces anything means a record
    produced afterwards can never fall before the starting point.
    """
    # Without a group, a subscription is assigned every partition of the
    # topic once its metadata arrives, which for a new topic takes a moment.
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap_servers,
                                enable_auto_commit=False,
                                auto_offset_reset="earliest")
    await consumer.start()
    deadline = time.monotonic() + 20.0
    while True:
        partitions = consumer.partitions_for_topic(topic) or set()
        tps = sorted(consumer.assignment(), key=lambda tp: tp.partition)
        if partitions and len(tps) == len(partitions):
            break
        if time.monotonic() > deadline:
            await consumer.stop()
            raise AssertionError(f"topic {topic} was not assigned in 20 s")
        await asyncio.sleep(0.1)
    if from_end:
        await consumer.seek_to_end(*tps)
    else:
        await consumer.seek_to_beginning(*tps)
    for tp in tps:
        await consumer.position(tp)
    return consumer


async def collect(consumer: AIOKafkaConsumer,
                  done: Callable[[list[Record]], bool],
                  keep: Callable[[Record], bool] = lambda r: True,
                  timeout: float = 30.0) -> list[Record]:
    """Records `keep` accepts, gathered until `done` says so or the deadline."""
    records: list[Record] = []
    deadline = time.monotonic() + timeout
    while not done(records):
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"only {len(records)} records arrived within "
                                 f"{timeout} s: {records!r}")
        batches = await consumer.getmany(timeout_ms=int(min(left, 0.5) * 1000))
        for batch in batches.values():
            records.extend(r for r in batch if keep(r))
    return records


async def wait_for(probe: Callable[[], Awaitable[T | None]],
                   timeout: float = 20.0, what: str = "the condition") -> T:
    """Awaits an async probe until it returns something truthy, or fails."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = await probe()
        if last:
            return last
        await asyncio.sleep(0.1)
    raise AssertionError(f"{what} did not happen within {timeout} s "
                         f"(last seen: {last!r})")
