"""Small helpers the lessons need that `Lab` does not offer (yet).

Most are thin: restocking through the gateway, scaling a service, waiting
until a consumer group has read a record, copying a published envelope,
showing which consumer holds which partition.

The outbox lesson's demonstration lives here too, and it is deliberately
naive in one place: `naive_save_then_publish` is the WRONG way to publish
events, written so a learner can watch it lose one. It works on its own
schema (`outbox_demo`) and topic (`outbox-demo`), never on the services'
tables; `cleanup_outbox_demo` removes both.
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import pandas as pd
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.coordinator.protocol import ConsumerProtocolMemberAssignment
from sqlalchemy import MetaData, Table, select, text

from cqrs_lab.commands import CommandResult, OrderRef, order_id_of
from cqrs_lab.errors import LabError
from cqrs_lab.kafka import partition_for_key
from cqrs_lab.lab import Lab
from services.shared.eventstore import EventStore, NewEvent, event_tables
from services.shared.messages import Envelope
from services.shared.outbox import Outbox, OutboxRelay, outbox_table
from services.shared.topics import ensure_topics

# -- small helpers ---------------------------------------------------------------


def restock(lab: Lab, product: str, quantity: int) -> CommandResult:
    """Adds `quantity` units of a product through the gateway."""
    return lab.gateway.command("Restock", "POST",
                               f"/api/inventory/{product}/restock",
                               {"quantity": int(quantity)})


def ensure_stock(lab: Lab, product: str, needed: int) -> int:
    """Restocks a product so at least `needed` units are available; returns them."""
    available = int(lab.stock(product)["available"].iloc[0])
    if available < needed:
        restock(lab, product, needed - available)
        available = needed
    return available


@contextmanager
def stopped(lab: Lab, name: str) -> Iterator[None]:
    """Stops a part for the `with` block and ALWAYS starts it again after."""
    lab.stop(name)
    try:
        yield
    finally:
        lab.start(name)


def scale(lab: Lab, service: str, count: int) -> list[str]:
    """Runs exactly `count` instances of a service; returns their names."""
    return lab._run(lab.stack.scale(service, count))


def wait_consumed(lab: Lab, group: str, sent: Mapping[str, Any],
                  timeout: float = 30.0) -> bool:
    """Waits until `group` has committed past a record `lab.send_raw` sent."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        lag = lab.lag(group)
        row = lag[(lag["topic"] == sent["topic"])
                  & (lag["partition"] == sent["partition"])]
        if not row.empty and int(row["committed"].iloc[0]) > sent["offset"]:
            return True
        time.sleep(0.3)
    return False


def envelope_of(lab: Lab, order: OrderRef, event_type: str,
                service: str = "orders") -> dict[str, Any]:
    """The envelope a service published for one of an order's stored events."""
    found = lab.events(service, order=order, event_type=event_type, limit=None)
    if found.empty:
        raise LookupError(f"order {order_id_of(order)} has no {event_type} "
                          f"in the {service} store yet")
    e = found.iloc[0]
    envelope = Envelope(
        event_id=e["event_id"], event_type=e["event_type"],
        schema_version=int(e["schema_version"]), source=service,
        stream_id=e["stream_id"], version=int(e["version"]),
        occurred_at=e["recorded_at"], correlation_id=e["correlation_id"],
        causation_id=e["causation_id"], data=e["data"])
    return envelope.model_dump(mode="json")


def try_append(lab: Lab, order: OrderRef, expected_version: int) -> int:
    """Appends to an order's stream expecting a version, then ROLLS BACK.

    Shows the store's optimistic concurrency check on the real store without
    changing it: a stale `expected_version` raises ConcurrencyConflict; a
    current one returns the version the event would have had.
    """
    return lab._run(_try_append(lab, order_id_of(order), expected_version))


async def _try_append(lab: Lab, order_id: uuid.UUID, expected: int) -> int:
    from services.orders.adapters import store
    from services.orders.domain import order_stream

    probe = NewEvent("LabProbe", {"order_id": str(order_id)})
    async with lab.engine.connect() as conn:
        transaction = await conn.begin()
        try:
            recorded = await store.append(conn, order_stream(order_id),
                                          expected, [probe])
            return recorded[0].version
        finally:
            await transaction.rollback()


def headers_of(envelope: Mapping[str, Any]) -> dict[str, str]:
    """The record headers the services send with an envelope."""
    return Envelope.model_validate(dict(envelope)).headers()


def wait_until(check: Any, timeout: float = 30.0,
               interval: float = 0.3) -> Any:
    """Calls `check()` until it returns something truthy; TimeoutError after."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise TimeoutError(f"still not true after {timeout} s: {check}")
        time.sleep(interval)


SAGA_SERVICES = ("gateway", "orders", "inventory", "payments")


def wait_for_spans(lab: Lab, correlation_id: str,
                   services: Iterable[str] = SAGA_SERVICES,
                   timeout: float = 30.0) -> pd.DataFrame:
    """The spans of a correlation id once every service's have arrived."""
    wanted = set(services)
    deadline = time.monotonic() + timeout
    last = -1
    while True:
        try:
            spans = lab.spans(correlation_id=correlation_id)
        except LabError:
            spans = pd.DataFrame(columns=["service"])
        settled = len(spans) == last and wanted <= set(spans["service"])
        if settled or time.monotonic() >= deadline:
            return spans
        last = len(spans)
        time.sleep(1.0)


def logs(lab: Lab, text: str, service: str = "") -> pd.DataFrame:
    """Log lines of the services' instances that contain `text`."""
    rows = []
    for log in sorted(lab.stack.logs.glob(f"{service}*.log")):
        for line in log.read_text(errors="replace").splitlines():
            if text in line:
                found = re.search(r"service=(\S+)", line)
                rows.append({"instance": found.group(1) if found else log.stem,
                             "line": line})
    return pd.DataFrame(rows, columns=["instance", "line"])


def group_members(lab: Lab, group: str) -> pd.DataFrame:
    """The members of a consumer group and the partitions each one holds."""
    rows = lab._run(_group_members(lab.settings.bootstrap_servers, group))
    return pd.DataFrame(rows, columns=["member", "topic", "partitions"])


async def _group_members(bootstrap: str, group: str) -> list[dict[str, Any]]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        responses = await admin.describe_consumer_groups([group])
    finally:
        await admin.close()
    rows = []
    for response in responses:
        for described in response.groups:
            members = described[5] if len(described) > 5 else []
            for number, member in enumerate(sorted(members), start=1):
                raw = member[-1]
                if not raw:
                    continue
                assigned = ConsumerProtocolMemberAssignment.decode(raw)
                for topic, partitions in assigned.assignment:
                    rows.append({"member": f"member {number}", "topic": topic,
                                 "partitions": sorted(partitions)})
    return rows


def handled_by(lab: Lab, service: str, orders: Iterable[OrderRef],
               partitions: int | None = None) -> pd.DataFrame:
    """Which instance of a service logged each order, and the order's partition."""
    wanted = {str(order_id_of(o)) for o in orders}
    count = partitions or lab.settings.kafka_partitions
    found: dict[str, str] = {}
    pattern = re.compile(r"service=(\S+) .*order_id=([0-9a-f-]{36})")
    for log in sorted(lab.stack.logs.glob(f"{service}*.log")):
        for line in log.read_text(errors="replace").splitlines():
            match = pattern.search(line)
            if match and match.group(2) in wanted:
                found.setdefault(match.group(2), match.group(1))
    rows = [{"order_id": o, "partition": partition_for_key(o, count),
             "instance": found.get(o)} for o in sorted(wanted)]
    return pd.DataFrame(rows).sort_values(["partition", "order_id"],
                                          ignore_index=True)


# -- the outbox lesson's demonstration ---------------------------------------------

DEMO_SCHEMA = "outbox_demo"
DEMO_TOPIC = "outbox-demo"
_metadata = MetaData(schema=DEMO_SCHEMA)
demo_events: Table = event_tables(_metadata)
demo_outbox: Table = outbox_table(_metadata)
_store = EventStore(demo_events)


class SimulatedCrash(RuntimeError):
    """Stands for the process dying at the worst moment."""


def _event(order_id: uuid.UUID) -> NewEvent:
    return NewEvent("DemoOrderPlaced", {"order_id": str(order_id)},
                    metadata={"correlation_id": f"outbox-demo-{order_id}"})


async def _prepare(lab: Lab) -> None:
    async with lab.engine.begin() as conn:
        await conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{DEMO_SCHEMA}"'))
        await conn.run_sync(_metadata.create_all)
    await ensure_topics(lab.settings.bootstrap_servers, 1, (DEMO_TOPIC,))


async def _producer(lab: Lab) -> AIOKafkaProducer:
    producer = AIOKafkaProducer(bootstrap_servers=lab.settings.bootstrap_servers,
                                acks="all", enable_idempotence=True)
    await producer.start()
    return producer


def naive_save_then_publish(lab: Lab, order_id: uuid.UUID,
                            crash: bool = True) -> None:
    """THE WRONG WAY: commit the event, then publish it; a crash in between loses it."""
    lab._run(_naive(lab, order_id, crash))


async def _naive(lab: Lab, order_id: uuid.UUID, crash: bool) -> None:
    await _prepare(lab)
    stream = f"demo-order-{order_id}"
    async with lab.engine.begin() as conn:
        recorded = await _store.append(conn, stream, 0, [_event(order_id)])
    # Step 1 is committed. The process now "dies" before step 2.
    if crash:
        raise SimulatedCrash("the process died after saving, before publishing")
    producer = await _producer(lab)
    try:
        envelope = Envelope.of(recorded[0], "outbox-demo")
        await producer.send_and_wait(
            DEMO_TOPIC, envelope.model_dump_json().encode(),
            key=str(order_id).encode())
    finally:
        await producer.stop()


def save_with_outbox(lab: Lab, order_id: uuid.UUID, crash: bool = True) -> None:
    """The outbox way: the event and its message commit in ONE transaction."""
    lab._run(_with_outbox(lab, order_id, crash))


async def _with_outbox(lab: Lab, order_id: uuid.UUID, crash: bool) -> None:
    await _prepare(lab)
    stream = f"demo-order-{order_id}"
    async with lab.engine.begin() as conn:
        recorded = await _store.append(conn, stream, 0, [_event(order_id)])
        envelopes = [Envelope.of(r, "outbox-demo") for r in recorded]
        await Outbox(demo_outbox).add(conn, DEMO_TOPIC, str(order_id), envelopes)
    # Both rows are committed. The process "dies" before any relay runs.
    if crash:
        raise SimulatedCrash("the process died before the relay published")


def relay_outbox(lab: Lab) -> int:
    """Runs one pass of the services' own OutboxRelay on the demo outbox."""
    return lab._run(_relay(lab))


async def _relay(lab: Lab) -> int:
    await _prepare(lab)
    producer = await _producer(lab)
    try:
        relay = OutboxRelay(lab.engine, demo_outbox, producer, asyncio.Event())
        async with lab.engine.connect() as conn:
            return await relay.publish_batch(conn)
    finally:
        await producer.stop()


def saved_events(lab: Lab, order_id: uuid.UUID) -> pd.DataFrame:
    """The demo event store's rows about an order."""
    t = demo_events
    query = (select(t.c.position, t.c.stream_id, t.c.version, t.c.event_type)
             .where(t.c.stream_id == f"demo-order-{order_id}"))
    return pd.DataFrame(lab._run(_rows(lab, query)),
                        columns=["position", "stream_id", "version",
                                 "event_type"])


def outbox_rows(lab: Lab, order_id: uuid.UUID) -> pd.DataFrame:
    """The demo outbox's rows about an order, with `published_at`."""
    t = demo_outbox
    query = (select(t.c.id, t.c.topic, t.c.key, t.c.created_at,
                    t.c.published_at).where(t.c.key == str(order_id)))
    return pd.DataFrame(lab._run(_rows(lab, query)),
                        columns=["id", "topic", "key", "created_at",
                                 "published_at"])


async def _rows(lab: Lab, query: Any) -> list[dict[str, Any]]:
    await _prepare(lab)
    async with lab.engine.connect() as conn:
        return [dict(r) for r in (await conn.execute(query)).mappings()]


def published(lab: Lab, order_id: uuid.UUID, timeout: float = 5.0
              ) -> pd.DataFrame:
    """The records on the demo topic about an order."""
    lab._run(_prepare(lab))
    frame = lab.tail(DEMO_TOPIC, from_beginning=True, timeout=timeout)
    frame = frame[frame["key"] == str(order_id)]
    # Payloads are parsed JSON, so an event id may be any JSON value.
    event_ids: list[Any] = [p.get("event_id") if isinstance(p, dict) else None
                            for p in frame["payload"]]
    frame = frame.assign(event_id=event_ids)
    return frame[["topic", "partition", "offset", "key", "event_type",
                  "event_id"]].reset_index(drop=True)


def cleanup_outbox_demo(lab: Lab) -> bool:
    """Drops the demo schema and deletes the demo topic."""
    return lab._run(_cleanup(lab))


async def _cleanup(lab: Lab) -> bool:
    async with lab.engine.begin() as conn:
        await conn.execute(text(f'DROP SCHEMA IF EXISTS "{DEMO_SCHEMA}" CASCADE'))
    admin = AIOKafkaAdminClient(bootstrap_servers=lab.settings.bootstrap_servers)
    await admin.start()
    try:
        if DEMO_TOPIC in await admin.list_topics():
            await admin.delete_topics([DEMO_TOPIC])
    finally:
        await admin.close()
    return True


__all__ = [
    "DEMO_SCHEMA",
    "DEMO_TOPIC",
    "SimulatedCrash",
    "cleanup_outbox_demo",
    "ensure_stock",
    "envelope_of",
    "group_members",
    "handled_by",
    "headers_of",
    "logs",
    "naive_save_then_publish",
    "outbox_rows",
    "published",
    "relay_outbox",
    "restock",
    "save_with_outbox",
    "saved_events",
    "scale",
    "stopped",
    "try_append",
    "wait_consumed",
    "wait_for_spans",
    "wait_until",
]
