"""Measures what tracing costs and how fast a span reaches the dashboard.

Run with the lab up. In one run it:
- places orders at a steady rate (20 orders/s unless told) with tracing
  on, then restarts the gateway, orders, payments and inventory with
  tracing off and does the same, then turns tracing back on; it prints
  p50/p99 saga latency
  (POST to OrderReadyForDelivery) for both and the overhead;
- listens to the collector's live stream (what the dashboard listens to)
  while placing orders, and prints how long after a span ends its
  Response record arrives: p50, p99 and max.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from datetime import datetime

import httpx
from saga import percentile, restock, send_orders, wait_finished

from cqrs_lab.stack import Stack
from services.shared.db import create_engine
from services.shared.settings import LabSettings

TRACED = ("gateway", "orders", "payments", "inventory")


async def latency(settings: LabSettings, seconds: float,
                  rate: float) -> list[float]:
    """Saga latencies in ms at a steady rate against the running services."""
    engine = create_engine(settings)
    async with httpx.AsyncClient(base_url=settings.service_url("gateway"),
                                 timeout=30) as client:
        await restock(client, 100_000)
        sent = await send_orders(client, rate, seconds)
    done = await wait_finished(engine, sent, 30)
    await engine.dispose()
    return [(done[i] - sent[i]) * 1000 for i in done]


async def restart_services(settings: LabSettings) -> None:
    """Restarts the traced services with the given settings."""
    stack = Stack(settings)
    for name in TRACED:
        stack.stop(name)
    await stack.up()


async def stream_delays(settings: LabSettings, orders: int) -> list[float]:
    """Delays in ms from a span's end to its record on the live stream."""
    delays: list[float] = []
    url = settings.service_url("traces") + "/api/stream"
    async with (httpx.AsyncClient(timeout=None) as listener,
                listener.stream("GET", url) as stream):
        sender = asyncio.create_task(_place(settings, orders))
        await _collect(stream, delays, sender)
    return delays


async def _place(settings: LabSettings, orders: int) -> None:
    async with httpx.AsyncClient(base_url=settings.service_url("gateway"),
                                 timeout=30) as client:
        await send_orders(client, 10, orders / 10)


async def _collect(stream: httpx.Response, delays: list[float],
                   sender: asyncio.Task[None]) -> None:
    quiet_since: float | None = None
    lines = stream.aiter_lines()
    while True:
        try:
            line = await asyncio.wait_for(anext(lines), 2.0)
        except TimeoutError:
            line = ""
        except StopAsyncIteration:
            return
        now = time.time()
        if line.startswith("data:") and '"Response"' in line:
            record = json.loads(line[5:])
            ended = datetime.fromisoformat(record["timestamp"]).timestamp()
            delays.append((now - ended) * 1000)
        if sender.done():
            quiet_since = quiet_since or now
            if now - quiet_since > 3:
                return


def summary(name: str, values: list[float]) -> str:
    """p50/p99 of a list of milliseconds."""
    return (f"{name}: n={len(values)}, p50 {percentile(values, 50):.1f} ms, "
            f"p99 {percentile(values, 99):.1f} ms")


async def main() -> None:
    """Runs both measurements and prints them."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--rate", type=float, default=20)
    args = parser.parse_args()
    on = LabSettings()
    off = on.model_copy(update={"tracing": False})

    traced = await latency(on, args.seconds, args.rate)
    await restart_services(off)
    untraced = await latency(off, args.seconds, args.rate)
    await restart_services(on)
    print(f"at {args.rate:.0f} orders/s for {args.seconds:.0f} s:")
    print(summary("saga latency, tracing on ", traced))
    print(summary("saga latency, tracing off", untraced))
    overhead = percentile(traced, 50) / percentile(untraced, 50) - 1
    print(f"tracing overhead at p50: {overhead * 100:+.1f} %")

    delays = await stream_delays(on, 100)
    print(summary("span end to live-stream record", delays)
          + f", max {max(delays):.1f} ms")


if __name__ == "__main__":
    asyncio.run(main())
