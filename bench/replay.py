"""Measures replay speed: `lab.replay` vs a raw COPY vs the `eventsourcing` library.

Needs the lab up (`cqrs-lab up`). The third measurement needs
`pip install "eventsourcing[postgres]"`; it writes the same number of
events into a schema of its own, replays them and drops the schema.
Prints figures; asserts nothing.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from importlib.metadata import version
from typing import Any

import asyncpg
import pandas as pd

from cqrs_lab import Lab, StoredEvent
from services.shared.settings import LabSettings

BENCH_SCHEMA = "es_bench"
PAGE = 5000


class OrdersFrame:
    """A learner-style projection: one row per event, a DataFrame at the end."""

    def __init__(self) -> None:
        self.columns: dict[str, list[Any]] = {
            "position": [], "order_id": [], "event_type": []}

    def apply(self, event: StoredEvent) -> None:
        self.columns["position"].append(event.position)
        self.columns["order_id"].append(event.data.get("order_id"))
        self.columns["event_type"].append(event.event_type)

    def result(self) -> pd.DataFrame:
        return pd.DataFrame(self.columns)


def rate(count: int, seconds: float) -> str:
    return f"{count:>8} events in {seconds:6.3f} s = {count / seconds:>10,.0f} events/s"


def bench_lab(lab: Lab) -> int:
    lab.replay(OrdersFrame, upto_position=1)  # warm the loop and the pool
    start = time.perf_counter()
    frame = lab.replay(OrdersFrame)
    seconds = time.perf_counter() - start
    print("lab.replay -> pandas      ", rate(len(frame), seconds))
    return int(frame["position"].max())


async def bench_copy(settings: LabSettings, upto: int) -> None:
    conn = await asyncpg.connect(
        host=settings.postgres_host or settings.host, port=settings.postgres_port,
        user=settings.postgres_user, password=settings.postgres_password,
        database=settings.postgres_db)
    chunks: list[bytes] = []

    async def sink(data: bytes) -> None:
        chunks.append(data)

    query = ("SELECT position, stream_id, version, event_id, event_type, "
             "schema_version, data, metadata, correlation_id, recorded_at "
             "FROM orders.events WHERE position <= $1 ORDER BY position")
    try:
        start = time.perf_counter()
        await conn.copy_from_query(query, upto, output=sink)
        seconds = time.perf_counter() - start
    finally:
        await conn.close()
    rows = b"".join(chunks).count(b"\n")
    print("COPY ... TO STDOUT ceiling", rate(rows, seconds))


def bench_eventsourcing(settings: LabSettings, count: int) -> None:
    try:
        from eventsourcing.application import Application
        from eventsourcing.domain import Aggregate, event
    except ImportError:
        print("eventsourcing: not installed (pip install 'eventsourcing[postgres]')")
        return

    class Order(Aggregate):
        @event("Placed")
        def __init__(self, customer_id: str, total: str) -> None:
            self.customer_id = customer_id
            self.total = total
            self.status = "pending"

        @event("Progressed")
        def progress(self, status: str) -> None:
            self.status = status

    env = {"PERSISTENCE_MODULE": "eventsourcing.postgres",
           "POSTGRES_DBNAME": settings.postgres_db,
           "POSTGRES_HOST": settings.postgres_host or settings.host,
           "POSTGRES_PORT": str(settings.postgres_port),
           "POSTGRES_USER": settings.postgres_user,
           "POSTGRES_PASSWORD": settings.postgres_password,
           "POSTGRES_SCHEMA": BENCH_SCHEMA}
    asyncio.run(_schema(settings, f'CREATE SCHEMA IF NOT EXISTS "{BENCH_SCHEMA}"'))
    try:
        app = Application(env=env)
        _fill(app, Order, count)
        _replay_eventsourcing(app, count, version("eventsourcing"))
        app.close()
    finally:
        asyncio.run(_schema(settings, f'DROP SCHEMA "{BENCH_SCHEMA}" CASCADE'))


def _fill(app: Any, order_class: Any, count: int) -> None:
    # Five events per order, as in the lab's happy path; saved 200 at a time.
    orders = []
    written = 0
    while written < count:
        order = order_class("customer-123", "1059.97")
        for status in ("stock_reserved", "paid", "confirmed",
                       "ready_for_delivery")[:max(0, count - written - 1)]:
            order.progress(status)
        written += len(order.pending_events)
        orders.append(order)
        if len(orders) == 200:
            app.save(*orders)
            orders = []
    if orders:
        app.save(*orders)


def _replay_eventsourcing(app: Any, count: int, release: str) -> None:
    columns: dict[str, list[Any]] = {"position": [], "order_id": [],
                                     "event_type": []}
    start = time.perf_counter()
    after = 0
    while True:
        page = app.recorder.select_notifications(after + 1, PAGE)
        if not page:
            break
        for notification in page:
            domain_event = app.mapper.to_domain_event(notification)
            columns["position"].append(notification.id)
            columns["order_id"].append(domain_event.originator_id)
            columns["event_type"].append(type(domain_event).__name__)
        after = page[-1].id
    frame = pd.DataFrame(columns)
    seconds = time.perf_counter() - start
    print(f"eventsourcing {release:<12}", rate(len(frame), seconds))


async def _schema(settings: LabSettings, statement: str) -> None:
    conn = await asyncpg.connect(
        host=settings.postgres_host or settings.host, port=settings.postgres_port,
        user=settings.postgres_user, password=settings.postgres_password,
        database=settings.postgres_db)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


def main() -> None:
    settings = LabSettings()
    with Lab(settings) as lab:
        upto = bench_lab(lab)
        count = len(lab.events("orders", upto=upto, after=0, limit=None))
    asyncio.run(bench_copy(settings, upto))
    if "--no-eventsourcing" not in sys.argv:
        bench_eventsourcing(settings, count)
    print(f"(orders.events up to position {upto}; pid {os.getpid()})")


if __name__ == "__main__":
    main()
