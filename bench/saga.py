"""Measures the order saga on the running lab: latency, sustained rate, store speed.

Run with the lab up (`cqrs-lab up`), then `python bench/saga.py`. It prints:
- latency from `POST /api/orders` to the order's OrderReadyForDelivery
  event, p50 and p99, at a steady rate (20 orders/s unless told);
- the highest rate, of those tried, at which every saga of a 60 s run
  finished within 10 s of the run's end;
- event-store appends per second and replay (read and decode) per second.
Latency is the event's commit time in PostgreSQL minus the client's send
time; both clocks are this machine's.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid
from datetime import datetime

import httpx
from sqlalchemy import MetaData, text
from sqlalchemy.ext.asyncio import AsyncEngine

from services.orders.adapters import codec as order_codec
from services.orders.domain import Order, OrderLine, PlaceOrder
from services.shared.db import create_engine, create_schema
from services.shared.eventstore import EventStore, NewEvent, event_tables
from services.shared.settings import LabSettings

PRODUCTS = ("book-001", "shirt-001", "pants-001", "mouse-001", "keyboard-001")


async def restock(client: httpx.AsyncClient, quantity: int) -> None:
    """Makes sure the benchmark never runs out of stock."""
    for product in PRODUCTS:
        response = await client.post(f"/api/inventory/{product}/restock",
                                     json={"quantity": quantity})
        response.raise_for_status()


async def send_orders(client: httpx.AsyncClient, rate: float,
                      seconds: float) -> dict[str, float]:
    """Places orders at a steady rate; returns order id -> send time."""
    sent: dict[str, float] = {}
    failures = 0
    interval = 1.0 / rate
    start = time.monotonic()
    tasks = []

    async def place(n: int) -> None:
        nonlocal failures
        body = {"customerId": f"bench-{n % 50}",
                "items": [{"productId": PRODUCTS[n % len(PRODUCTS)],
                           "quantity": 1, "unitPrice": 10.0}]}
        at = time.time()
        try:
            response = await client.post("/api/orders", json=body)
            sent[response.json()["data"]["orderId"]] = at
        except (httpx.HTTPError, KeyError, ValueError):
            failures += 1

    n = 0
    while (now := time.monotonic() - start) < seconds:
        tasks.append(asyncio.create_task(place(n)))
        n += 1
        await asyncio.sleep(max(0.0, n * interval - now))
    await asyncio.gather(*tasks)
    if failures:
        print(f"  {failures} requests failed")
    return sent


async def finished_at(engine: AsyncEngine, ids: list[str]) -> dict[str, float]:
    """Commit times of the orders' OrderReadyForDelivery events."""
    query = text(
        "SELECT data->>'order_id' AS id, recorded_at FROM orders.events "
        "WHERE event_type = 'OrderReadyForDelivery' "
        "AND data->>'order_id' = ANY(:ids)")
    async with engine.connect() as conn:
        rows = (await conn.execute(query, {"ids": ids})).all()
    return {row.id: _epoch(row.recorded_at) for row in rows}


def _epoch(value: datetime) -> float:
    return value.timestamp()


async def wait_finished(engine: AsyncEngine, sent: dict[str, float],
                        timeout: float) -> dict[str, float]:
    """Polls until every sent order finished, or the timeout passes."""
    deadline = time.monotonic() + timeout
    done: dict[str, float] = {}
    while time.monotonic() < deadline:
        done = await finished_at(engine, list(sent))
        if len(done) == len(sent):
            break
        await asyncio.sleep(0.25)
    return done


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100) of values."""
    ordered = sorted(values)
    index = min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))
    return ordered[index]


async def latency(client: httpx.AsyncClient, engine: AsyncEngine,
                  rate: float, seconds: float) -> None:
    """Prints p50/p99 saga latency at a steady rate."""
    sent = await send_orders(client, rate, seconds)
    done = await wait_finished(engine, sent, 30)
    millis = [(done[i] - sent[i]) * 1000 for i in done]
    print(f"saga latency at {rate:.0f} orders/s for {seconds:.0f} s: "
          f"{len(done)}/{len(sent)} finished, p50 {percentile(millis, 50):.1f} ms,"
          f" p99 {percentile(millis, 99):.1f} ms, "
          f"mean {statistics.fmean(millis):.1f} ms")


async def sustained(client: httpx.AsyncClient, engine: AsyncEngine,
                    rates: list[float], seconds: float) -> None:
    """Prints the highest tried rate whose sagas all finished."""
    best = 0.0
    for rate in rates:
        began = time.monotonic()
        sent = await send_orders(client, rate, seconds)
        achieved = len(sent) / (time.monotonic() - began)
        done = await wait_finished(engine, sent, 10)
        ok = len(done) == len(sent)
        print(f"  {rate:.0f} orders/s asked, {achieved:.0f}/s accepted: "
              f"{len(done)}/{len(sent)} sagas finished"
              f"{'' if ok else ' (not all)'}")
        if not ok or achieved < rate * 0.95:
            break
        best = rate
    print(f"highest sustained rate tried: {best:.0f} sagas/s")


async def store_speed(settings: LabSettings, count: int) -> None:
    """Prints appends/s (one event per transaction) and replay events/s."""
    engine = create_engine(settings)
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    metadata = MetaData(schema=schema)
    store = EventStore(event_tables(metadata))
    await create_schema(engine, metadata)
    order = Order.place(PlaceOrder(uuid.uuid4(), "bench", (
        OrderLine("book-001", 1, __import__("decimal").Decimal("19.99")),)))
    event_type, version, data = order_codec.encode(order.pending[0])
    began = time.perf_counter()
    for n in range(count):
        async with engine.begin() as conn:
            await store.append(conn, f"bench-{n}", 0,
                               [NewEvent(event_type, data, version)])
    appends = count / (time.perf_counter() - began)
    began = time.perf_counter()
    replayed, position = 0, 0
    async with engine.connect() as conn:
        while batch := await store.read_all(conn, position, 5000):
            for recorded in batch:
                order_codec.decode(recorded.event_type, recorded.schema_version,
                                   recorded.data)
            replayed += len(batch)
            position = batch[-1].position
    replay = replayed / (time.perf_counter() - began)
    print(f"event store: {appends:.0f} appends/s (one event per transaction), "
          f"replay {replay:.0f} events/s (read and decode, {replayed} events)")
    async with engine.begin() as conn:
        await conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    await engine.dispose()


async def main() -> None:
    """Runs the chosen measurements against the lab from the settings."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--latency-rate", type=float, default=20)
    parser.add_argument("--rates", default="5,10,15,20,30,50,100,200,300")
    parser.add_argument("--store-events", type=int, default=5000)
    args = parser.parse_args()
    settings = LabSettings()
    # The store is measured first, while the stack is idle: after a rate
    # the stack could not keep up with, its backlog would slow the appends.
    await store_speed(settings, args.store_events)
    engine = create_engine(settings)
    limits = httpx.Limits(max_connections=200)
    async with httpx.AsyncClient(base_url=settings.service_url("gateway"),
                                 timeout=30, limits=limits) as client:
        await restock(client, 1_000_000)
        await latency(client, engine, args.latency_rate, min(args.seconds, 30))
        rates = [float(r) for r in args.rates.split(",")]
        await sustained(client, engine, rates, args.seconds)
    await engine.dispose()


if __name__ == "__main__":
    asyncio.run(main())
