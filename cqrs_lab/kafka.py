"""Reads and writes the lab's Kafka topics: tails, lag, raw sends, dead letters."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import pandas as pd
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaConnectionError
from aiokafka.partitioner import murmur2
from aiokafka.structs import TopicPartition

from cqrs_lab.errors import LabNotRunning, UnknownTopic

GROUPS = ("orders-service", "payments-service", "inventory-service")
TAIL_COLUMNS = ["topic", "partition", "offset", "key", "event_type",
                "correlation_id", "timestamp", "headers", "payload"]
LAG_COLUMNS = ["group", "topic", "partition", "committed", "end_offset", "lag"]
DLQ_HEADERS = ("dlq_reason", "dlq_consumer", "dlq_topic", "dlq_partition",
               "dlq_offset", "dlq_attempts")


class Record(Protocol):
    """What a tail row reads of a consumed record (aiokafka's ConsumerRecord)."""

    # aiokafka ships no type information, so the fields row_of reads are
    # spelled out here with the types aiokafka documents.
    @property
    def topic(self) -> str: ...
    @property
    def partition(self) -> int: ...
    @property
    def offset(self) -> int: ...
    @property
    def timestamp(self) -> int: ...
    @property
    def key(self) -> bytes | None: ...
    @property
    def value(self) -> bytes | None: ...
    @property
    def headers(self) -> Sequence[tuple[str, bytes]]: ...


@dataclass
class RecordFilter:
    """Which records to keep: by event type, correlation id and header values."""

    event_type: str | None = None
    correlation_id: str | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def matches(self, row: Mapping[str, Any]) -> bool:
        """True when a tail row passes every filter that is set."""
        if self.event_type and row.get("event_type") != self.event_type:
            return False
        if self.correlation_id and row.get("correlation_id") != self.correlation_id:
            return False
        found = row.get("headers") or {}
        return all(found.get(k) == v for k, v in self.headers.items())


def row_of(record: Record) -> dict[str, Any]:
    """A tail row of a record: position, key, headers and parsed payload."""
    headers = {k: v.decode(errors="replace") for k, v in record.headers or ()}
    payload = _payload(record.value)
    body = payload if isinstance(payload, dict) else {}
    return {
        "topic": record.topic, "partition": record.partition,
        "offset": record.offset,
        "key": record.key.decode(errors="replace") if record.key else None,
        "event_type": headers.get("event_type") or body.get("event_type"),
        "correlation_id": (headers.get("correlation_id")
                           or body.get("correlation_id")),
        "timestamp": datetime.fromtimestamp(record.timestamp / 1000, tz=UTC),
        "headers": headers, "payload": payload,
    }


def _payload(value: bytes | None) -> Any:
    if value is None:
        return None
    try:
        return json.loads(value)
    except ValueError:
        # A poison message is shown as the text it is.
        return value.decode(errors="replace")


def tail_frame(rows: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """A DataFrame of tail rows, oldest first."""
    frame = pd.DataFrame(list(rows), columns=TAIL_COLUMNS)
    return frame.sort_values(["timestamp", "partition", "offset"],
                             ignore_index=True)


def partition_for_key(key: str, partitions: int) -> int:
    """The partition Kafka's default partitioner puts a key in."""
    hashed: int = murmur2(key.encode())  # aiokafka's function is untyped
    return (hashed & 0x7FFFFFFF) % partitions


class Kafka:
    """Async helpers bound to one bootstrap address; run them on the lab's loop."""

    def __init__(self, bootstrap_servers: str) -> None:
        self.bootstrap_servers = bootstrap_servers

    def _down(self, error: BaseException) -> LabNotRunning:
        return LabNotRunning(f"Kafka at {self.bootstrap_servers} does not "
                             f"answer ({type(error).__name__}).")

    async def _consumer(self) -> AIOKafkaConsumer:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap_servers, enable_auto_commit=False,
            request_timeout_ms=10_000, fetch_max_wait_ms=100)
        try:
            await consumer.start()
        except KafkaConnectionError as error:
            await consumer.stop()
            raise self._down(error) from None
        return consumer

    async def topics(self) -> list[str]:
        """The topics on the broker, internal ones left out."""
        consumer = await self._consumer()
        try:
            return sorted(t for t in await consumer.topics()
                          if not t.startswith("__"))
        finally:
            await consumer.stop()

    async def _assign(self, consumer: AIOKafkaConsumer, topic: str,
                      from_beginning: bool) -> list[TopicPartition]:
        tps = await _partitions(consumer, topic)
        if from_beginning:
            await consumer.seek_to_beginning(*tps)
        else:
            await consumer.seek_to_end(*tps)
        for tp in tps:
            # Fixing each position now means nothing sent later is missed.
            await consumer.position(tp)
        return tps

    async def tail(self, topic: str, n: int | None, timeout: float,
                   from_beginning: bool, keep: RecordFilter
                   ) -> list[dict[str, Any]]:
        """Up to n matching rows, all existing ones, or what arrives in timeout."""
        consumer = await self._consumer()
        try:
            tps = await self._assign(consumer, topic, from_beginning)
            ends = await consumer.end_offsets(tps) if from_beginning else {}
            return await self._collect(consumer, n, timeout, keep, ends)
        finally:
            await consumer.stop()

    async def _collect(self, consumer: AIOKafkaConsumer, n: int | None,
                       timeout: float, keep: RecordFilter,
                       ends: dict[TopicPartition, int]) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            batches = await consumer.getmany(timeout_ms=int(min(left, 0.2) * 1000))
            for records in batches.values():
                found.extend(r for r in map(row_of, records) if keep.matches(r))
            if n is not None and len(found) >= n:
                return sorted(found, key=lambda r: r["timestamp"])[:n]
            if n is None and ends and await _caught_up(consumer, ends):
                break
        return found

    async def follow(self, topic: str, from_beginning: bool
                     ) -> AsyncIterator[list[dict[str, Any]]]:
        """Yields batches of rows as they arrive, until the caller stops."""
        consumer = await self._consumer()
        try:
            await self._assign(consumer, topic, from_beginning)
            yield []  # positions are fixed: nothing sent from now is missed
            while True:
                batches = await consumer.getmany(timeout_ms=200)
                rows = [row_of(r) for records in batches.values()
                        for r in records]
                if rows:
                    yield rows
        finally:
            await consumer.stop()

    async def lag(self, groups: Iterable[str]) -> list[dict[str, Any]]:
        """Committed offset, end offset and lag per partition of each group."""
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap_servers)
        try:
            await admin.start()
        except KafkaConnectionError as error:
            raise self._down(error) from None
        consumer = await self._consumer()
        try:
            rows: list[dict[str, Any]] = []
            for group in groups:
                committed = await admin.list_consumer_group_offsets(group)
                if not committed:
                    continue
                ends = await consumer.end_offsets(list(committed))
                rows.extend(_lag_row(group, tp, meta.offset, ends[tp])
                            for tp, meta in sorted(committed.items()))
            return rows
        finally:
            await consumer.stop()
            await admin.close()

    async def send(self, topic: str, value: bytes, key: bytes | None,
                   headers: list[tuple[str, bytes]]) -> dict[str, Any]:
        """Publishes one record as is and returns where it landed."""
        producer = AIOKafkaProducer(bootstrap_servers=self.bootstrap_servers)
        try:
            await producer.start()
        except KafkaConnectionError as error:
            await producer.stop()
            raise self._down(error) from None
        try:
            meta = await producer.send_and_wait(topic, value, key=key,
                                                headers=headers)
        finally:
            await producer.stop()
        return {"topic": meta.topic, "partition": meta.partition,
                "offset": meta.offset}

    async def records_for_key(self, topic: str, key: str, since_ms: int,
                              timeout: float = 10.0) -> list[dict[str, Any]]:
        """Records with a key, read from the key's partition since a time."""
        consumer = await self._consumer()
        try:
            tps = await _partitions(consumer, topic)
            tp = tps[partition_for_key(key, len(tps))]
            await consumer.seek_to_end(*tps)
            await _seek_to_time(consumer, tp, since_ms)
            end = (await consumer.end_offsets([tp]))[tp]
            return await _read_until(consumer, tp, end, key, timeout)
        finally:
            await consumer.stop()


async def _partitions(consumer: AIOKafkaConsumer, topic: str,
                      timeout: float = 10.0) -> list[TopicPartition]:
    """Every partition of a topic, assigned to a group-less consumer."""
    known = await consumer.topics()
    if topic not in known:
        names = ", ".join(sorted(t for t in known if not t.startswith("__")))
        raise UnknownTopic(f"unknown topic {topic!r}; the topics are: {names}")
    # Without a group, a subscription is given every partition as soon as
    # the topic's metadata arrives.
    consumer.subscribe([topic])
    deadline = time.monotonic() + timeout
    while not consumer.assignment():
        if time.monotonic() > deadline:
            raise UnknownTopic(f"topic {topic!r} has no partitions yet")
        await asyncio.sleep(0.05)
    return sorted(consumer.assignment(), key=lambda tp: tp.partition)


def _lag_row(group: str, tp: TopicPartition, committed: int,
             end: int) -> dict[str, Any]:
    return {"group": group, "topic": tp.topic, "partition": tp.partition,
            "committed": committed, "end_offset": end,
            "lag": max(end - committed, 0) if committed >= 0 else end}


async def _caught_up(consumer: AIOKafkaConsumer,
                     ends: dict[TopicPartition, int]) -> bool:
    for tp, end in ends.items():
        if await consumer.position(tp) < end:
            return False
    return True


async def _seek_to_time(consumer: AIOKafkaConsumer, tp: TopicPartition,
                        since_ms: int) -> None:
    found = await consumer.offsets_for_times({tp: since_ms})
    if found.get(tp) is None:
        await consumer.seek_to_end(tp)
    else:
        consumer.seek(tp, found[tp].offset)


async def _read_until(consumer: AIOKafkaConsumer, tp: TopicPartition, end: int,
                      key: str, timeout: float) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while await consumer.position(tp) < end and time.monotonic() < deadline:
        batch = await consumer.getmany(tp, timeout_ms=200)
        found.extend(row_of(r) for r in batch.get(tp, []) if r.key
                     and r.key.decode(errors="replace") == key)
    return found


def encode_value(value: bytes | str | Mapping[str, Any] | list[Any]) -> bytes:
    """Bytes to publish: bytes as they are, text as UTF-8, JSON for the rest."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode()
    return json.dumps(value, default=str).encode()


def encode_headers(headers: Mapping[str, Any] | None) -> list[tuple[str, bytes]]:
    """Record headers from a dict of names to text or bytes."""
    return [(k, v if isinstance(v, bytes) else str(v).encode())
            for k, v in (headers or {}).items()]


def dead_letter_frame(rows: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """Tail rows of the dead-letter topic with one column per dlq_* header."""
    frame = tail_frame(rows)
    for name in DLQ_HEADERS:
        frame[name] = [h.get(name) for h in frame["headers"]]
    return frame

