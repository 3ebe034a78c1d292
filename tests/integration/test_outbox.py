"""The transactional outbox: events and messages commit together, then relay."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal

import pytest
from aiokafka import AIOKafkaProducer
from sqlalchemy import MetaData, Table, func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from services.orders.adapters import codec
from services.orders.domain import Order, OrderLine, PlaceOrder, order_stream
from services.shared.db import create_engine, create_schema
from services.shared.eventstore import EventStore, event_tables
from services.shared.outbox import Outbox, OutboxRelay, outbox_table
from services.shared.repository import MessageContext, Publication, Repository
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


@dataclass
class Lab:
    """The order repository on a test schema, announcing to a test topic."""

    events: Table
    outbox: Table
    repository: Repository[Order]
    topic: str


@pytest.fixture
async def lab(engine: AsyncEngine, schema: str, new_topic: NewTopic) -> Lab:
    metadata = MetaData(schema=schema)
    events, outbox = event_tables(metadata), outbox_table(metadata)
    await create_schema(engine, metadata)
    topic = await new_topic()
    repository = Repository(EventStore(events), codec, Order, Outbox(outbox),
                            Publication(topic, "orders"))
    return Lab(events, outbox, repository, topic)


def _placed(order_id: uuid.UUID) -> Order:
    return Order.place(PlaceOrder(
        order_id=order_id, customer_id="customer-1",
        lines=(OrderLine("book-001", 2, Decimal("12.50")),)))


async def _save(engine: AsyncEngine, lab: Lab, order_id: uuid.UUID,
                order: Order) -> None:
    async with engine.begin() as conn:
        await lab.repository.save(conn, order_stream(order_id), order,
                                  MessageContext(), key=str(order_id))


async def _change(engine: AsyncEngine, lab: Lab, order_id: uuid.UUID,
                  change: str) -> None:
    async with engine.connect() as conn:
        order = await lab.repository.load(conn, order_stream(order_id))
    assert order is not None
    if change == "paid":
        order.mark_stock_reserved()
        order.mark_paid(uuid.uuid4(), order.total_amount)
    else:
        order.mark_ready_for_delivery()
    await _save(engine, lab, order_id, order)


async def _outbox_rows(engine: AsyncEngine, lab: Lab) -> list[dict]:
    async with engine.connect() as conn:
        rows = await conn.execute(select(lab.outbox).order_by(lab.outbox.c.id))
        return [dict(row) for row in rows.mappings()]


@contextlib.asynccontextmanager
async def relaying(settings: LabSettings, lab: Lab,
                   producer: AIOKafkaProducer) -> AsyncIterator[None]:
    """A relay as one service process runs it, stopped like the process.

    It gets an engine of its own: the relay holds its leadership lock on a
    session, which only ends when that engine's connections close.
    """
    engine = create_engine(settings, pool_size=2)
    relay = OutboxRelay(engine, lab.outbox, producer, asyncio.Event())
    task = asyncio.create_task(relay.run())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await engine.dispose()


async def _logged(caplog: pytest.LogCaptureFixture, message: str) -> bool:
    return any(message in r.getMessage() for r in caplog.records)


async def _all_published(engine: AsyncEngine, lab: Lab) -> bool:
    async with engine.connect() as conn:
        unsent = await conn.execute(select(func.count()).select_from(lab.outbox)
                                    .where(lab.outbox.c.published_at.is_(None)))
        return unsent.scalar_one() == 0


async def test_a_rolled_back_save_leaves_neither_events_nor_outbox_rows(
        engine: AsyncEngine, lab: Lab) -> None:
    order_id = uuid.uuid4()
    with pytest.raises(RuntimeError, match="after the save"):
        async with engine.begin() as conn:
            await lab.repository.save(conn, order_stream(order_id),
                                      _placed(order_id), MessageContext(),
                                      key=str(order_id))
            # Both inserts happened on this connection; now the command fails.
            raise RuntimeError("the command failed after the save")
    async with engine.connect() as conn:
        for table in (lab.events, lab.outbox):
            count = await conn.execute(select(func.count()).select_from(table))
            assert count.scalar_one() == 0, table.name

    # The same save, committed, writes both: the rollback was the difference.
    await _save(engine, lab, order_id, _placed(order_id))
    rows = await _outbox_rows(engine, lab)
    assert [r["key"] for r in rows] == [str(order_id)]


async def test_rows_committed_while_no_relay_runs_are_all_published_in_order(
        settings: LabSettings, engine: AsyncEngine, lab: Lab,
        producer: AIOKafkaProducer) -> None:
    # The service "crashed" after committing: only the database has the rows.
    orders = [uuid.uuid4() for _ in range(3)]
    for order_id in orders:
        await _save(engine, lab, order_id, _placed(order_id))
    for change in ("paid", "ready"):
        for order_id in orders:
            await _change(engine, lab, order_id, change)
    rows = await _outbox_rows(engine, lab)
    assert len(rows) == 15
    assert all(r["published_at"] is None for r in rows)

    consumer = await tail(settings.bootstrap_servers, lab.topic)
    try:
        async with relaying(settings, lab, producer):
            records = await collect(consumer, lambda got: len(got) >= 15)
            await wait_for(lambda: _all_published(engine, lab),
                           what="every outbox row marked published")
    finally:
        await consumer.stop()

    assert len(records) == 15
    for order_id in orders:
        key = str(order_id)
        expected = [str(r["event_id"]) for r in rows if r["key"] == key]
        received = [header(r, "event_id") for r in records
                    if r.key == key.encode()]
        assert received == expected, key
    types = [header(r, "event_type") for r in records
             if r.key == str(orders[0]).encode()]
    assert types == ["OrderPlaced", "OrderStockReserved", "OrderPaid",
                     "OrderConfirmed", "OrderReadyForDelivery"]


async def test_a_row_relayed_again_reaches_kafka_twice_with_one_event_id(
        settings: LabSettings, engine: AsyncEngine, lab: Lab,
        producer: AIOKafkaProducer) -> None:
    order_id = uuid.uuid4()
    await _save(engine, lab, order_id, _placed(order_id))
    consumer = await tail(settings.bootstrap_servers, lab.topic)
    try:
        async with relaying(settings, lab, producer):
            await collect(consumer, lambda got: len(got) >= 1)
            await wait_for(lambda: _all_published(engine, lab),
                           what="the row marked published")
        # As if the relay crashed after sending but before marking it sent.
        async with engine.begin() as conn:
            await conn.execute(update(lab.outbox).values(published_at=None))
        async with relaying(settings, lab, producer):
            again: list[Record] = await collect(consumer,
                                                lambda got: len(got) >= 1)
    finally:
        await consumer.stop()

    rows = await _outbox_rows(engine, lab)
    assert len(rows) == 1
    # Both copies carry the same event id: consumers drop the second by it.
    assert header(again[0], "event_id") == str(rows[0]["event_id"])
    assert again[0].key == str(order_id).encode()


async def test_the_relay_publishes_again_once_a_failing_row_is_removed(
        settings: LabSettings, engine: AsyncEngine, lab: Lab,
        caplog: pytest.LogCaptureFixture) -> None:
    # The relay shares the engine, as in a service. A row for a topic that
    # does not exist (topics are not auto-created) fails every publish
    # until an operator removes it.
    stray = uuid.uuid4()
    async with engine.begin() as conn:
        await conn.execute(lab.outbox.insert().values(
            event_id=stray, topic=unique("it-missing"), key="k",
            payload={}, headers={}))
    order_id = uuid.uuid4()
    await _save(engine, lab, order_id, _placed(order_id))

    producer = AIOKafkaProducer(bootstrap_servers=settings.bootstrap_servers,
                                enable_idempotence=True,
                                request_timeout_ms=1500)
    await producer.start()
    consumer = await tail(settings.bootstrap_servers, lab.topic)
    relay = OutboxRelay(engine, lab.outbox, producer, asyncio.Event())
    task = asyncio.create_task(relay.run())
    try:
        await wait_for(lambda: _logged(caplog, "outbox relay failed"),
                       what="the relay failing on the stray row")
        async with engine.begin() as conn:
            await conn.execute(lab.outbox.delete()
                               .where(lab.outbox.c.event_id == stray))
        records = await collect(consumer, lambda got: len(got) >= 1,
                                timeout=15)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await consumer.stop()
        await producer.stop()
    assert records[0].key == str(order_id).encode()
