"""The event store on PostgreSQL: versions, positions and optimistic locking."""

from __future__ import annotations

import asyncio
import uuid
from decimal import Decimal

import pytest
from sqlalchemy import MetaData, Table
from sqlalchemy.ext.asyncio import AsyncEngine

from services.orders.adapters import codec
from services.orders.domain import (
    Order,
    OrderLine,
    OrderStatus,
    PlaceOrder,
    order_stream,
)
from services.shared.db import create_schema
from services.shared.eventstore import (
    ConcurrencyConflict,
    EventStore,
    NewEvent,
    event_tables,
)
from services.shared.repository import MessageContext, Repository


@pytest.fixture
async def store(engine: AsyncEngine, schema: str) -> EventStore:
    metadata = MetaData(schema=schema)
    table: Table = event_tables(metadata)
    await create_schema(engine, metadata)
    return EventStore(table)


def _events(*names: str) -> list[NewEvent]:
    return [NewEvent(name, {"name": name}) for name in names]


async def test_appended_events_load_in_order_with_versions_and_positions(
        engine: AsyncEngine, store: EventStore) -> None:
    async with engine.begin() as conn:
        await store.append(conn, "s-1", 0, _events("A", "B"))
    async with engine.begin() as conn:
        await store.append(conn, "s-1", 2, _events("C"))
    async with engine.connect() as conn:
        loaded = await store.load(conn, "s-1")
    assert [e.event_type for e in loaded] == ["A", "B", "C"]
    assert [e.version for e in loaded] == [1, 2, 3]
    positions = [e.position for e in loaded]
    assert positions == sorted(set(positions))


async def test_appending_at_a_stale_version_raises_a_conflict(
        engine: AsyncEngine, store: EventStore) -> None:
    async with engine.begin() as conn:
        await store.append(conn, "s-1", 0, _events("A", "B"))
    with pytest.raises(ConcurrencyConflict) as caught:
        async with engine.begin() as conn:
            await store.append(conn, "s-1", 1, _events("late"))
    assert (caught.value.expected, caught.value.actual) == (1, 2)
    async with engine.connect() as conn:
        assert await store.current_version(conn, "s-1") == 2


async def test_of_concurrent_first_appends_to_one_stream_exactly_one_wins(
        engine: AsyncEngine, store: EventStore) -> None:
    async def attempt(n: int) -> str:
        # engine.begin() checks out its own pooled connection per writer.
        try:
            async with engine.begin() as conn:
                await store.append(conn, "contested", 0, _events(f"w{n}"))
        except ConcurrencyConflict:
            return "conflict"
        return "won"

    outcomes = await asyncio.gather(*(attempt(n) for n in range(10)))
    assert sorted(outcomes) == ["conflict"] * 9 + ["won"]
    async with engine.connect() as conn:
        assert len(await store.load(conn, "contested")) == 1


async def test_a_reader_following_commits_never_skips_a_late_commit(
        engine: AsyncEngine, store: EventStore) -> None:
    # Positions become visible out of order; a reader advancing past the
    # highest position it saw would miss a lower one committed later.
    writers_done = asyncio.Event()
    seen: list[int] = []

    async def write(stream: str) -> None:
        for version in range(15):
            async with engine.begin() as conn:
                await store.append(conn, stream, version, _events("E"))

    async def read() -> None:
        cursor = (0, 0)
        while True:
            finished = writers_done.is_set()
            async with engine.connect() as conn:
                batch = await store.read_committed(conn, cursor)
            seen.extend(e.position for e in batch)
            if batch:
                cursor = (batch[-1].transaction_id, batch[-1].position)
            if finished and not batch:
                return
            await asyncio.sleep(0)

    reader = asyncio.create_task(read())
    await asyncio.gather(*(write(f"s-{n}") for n in range(6)))
    writers_done.set()
    await reader
    async with engine.connect() as conn:
        everything = [e.position for e in await store.read_all(conn)]
    assert len(everything) == 90
    assert sorted(seen) == everything


async def test_an_order_saved_through_the_repository_loads_back_equal(
        engine: AsyncEngine, store: EventStore) -> None:
    repository = Repository(store, codec, Order)
    order_id = uuid.uuid4()
    order = Order.place(PlaceOrder(
        order_id=order_id, customer_id="customer-7",
        lines=(OrderLine("laptop-001", 1, Decimal("999.99")),
               OrderLine("mouse-001", 2, Decimal("29.99")))))
    async with engine.begin() as conn:
        recorded = await repository.save(
            conn, order_stream(order_id), order,
            MessageContext(correlation_id="corr-1"), key=str(order_id))
    assert [e.event_type for e in recorded] == ["OrderPlaced"]
    assert recorded[0].correlation_id == "corr-1"

    async with engine.connect() as conn:
        loaded = await repository.load(conn, order_stream(order_id))
    assert loaded is not None
    assert loaded.status is OrderStatus.PENDING
    assert loaded.total_amount == Decimal("1059.97")
    assert (loaded.order_id, loaded.customer_id) == (order_id, "customer-7")
    assert loaded.lines == order.lines
    assert (loaded.version, loaded.stored_version) == (1, 1)
