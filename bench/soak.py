"""A soak: steady orders for ten minutes, one fault every minute.

Run with the lab up. Orders go through the gateway at a steady rate while,
once a minute, a part fails in turn: a service is killed with SIGKILL and
started again, or Kafka or PostgreSQL is restarted. At the end it prints:
orders sent, accepted, finished, lost; duplicated effects (from the event
stores); p99 saga latency of orders placed outside the fault windows; and
the resident memory of each service at the start and the end. A service
killed by a fault ends as a new process, so its growth is also shown for
that last process alone: from its first sample to the end.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import time
from pathlib import Path

import httpx
from saga import finished_at, percentile, restock

from cqrs_lab.consistency import duplicated_effects, streams_with_gaps
from cqrs_lab.stack import Stack
from services.shared.db import create_engine
from services.shared.settings import LabSettings

FAULTS = ("orders", "payments", "inventory", "gateway", "traces",
          "kafka", "postgres")
SERVICES = ("gateway", "orders", "payments", "inventory", "traces",
            "dashboard")


def rss_mb(stack: Stack, name: str) -> float:
    """Resident memory of one running part, in MB."""
    return pid_rss(stack, name)[1]


def pid_rss(stack: Stack, name: str) -> tuple[int, float]:
    """The PID of one running part and its resident memory in MB."""
    record = stack.table.alive(name)
    if record is None:
        return 0, 0.0
    try:
        status = Path(f"/proc/{record.pid}/status").read_text()
    except FileNotFoundError:
        return 0, 0.0
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return record.pid, int(line.split()[1]) / 1024
    return record.pid, 0.0


async def sample_memory(stack: Stack,
                        samples: dict[str, list[tuple[int, float]]]) -> None:
    """Notes each service's PID and memory every ten seconds, until cancelled."""
    while True:
        for name in SERVICES:
            pid, mb = pid_rss(stack, name)
            if pid:
                samples.setdefault(name, []).append((pid, mb))
        await asyncio.sleep(10)


async def fault(stack: Stack, name: str) -> tuple[float, float]:
    """Breaks one part and brings it back; returns the window it was out."""
    began = time.time()
    record = stack.table.alive(name)
    if name in ("kafka", "postgres") or record is None:
        await asyncio.to_thread(stack.stop, name)
    else:
        os.kill(record.pid, signal.SIGKILL)
        # Until the kernel has reaped it, the process still looks alive and
        # `start` would take it for running.
        deadline = time.monotonic() + 10
        while stack.table.alive(name) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
    if not await stack.start(name):
        raise RuntimeError(f"{name} could not be restarted after its fault")
    return began, time.time()


async def place(client: httpx.AsyncClient, n: int, sent: dict[str, float],
                outcomes: dict[str, int]) -> None:
    """Places one order and notes its outcome."""
    body = {"customerId": f"soak-{n % 20}", "items": [
        {"productId": ("book-001", "shirt-001", "pants-001")[n % 3],
         "quantity": 1, "unitPrice": 10}]}
    at = time.time()
    try:
        response = await client.post("/api/orders", json=body)
    except httpx.HTTPError:
        outcomes["refused"] = outcomes.get("refused", 0) + 1
        return
    key = str(response.status_code)
    outcomes[key] = outcomes.get(key, 0) + 1
    if response.status_code == 201:
        sent[response.json()["data"]["orderId"]] = at


async def main() -> None:
    """Runs the soak and prints its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10)
    # Below the rate the two-core machine sustains (bench/saga.py), so the
    # soak measures faults, not a backlog that only grows.
    parser.add_argument("--rate", type=float, default=8)
    args = parser.parse_args()
    settings = LabSettings()
    stack = Stack(settings)
    memory_start = {name: rss_mb(stack, name) for name in SERVICES}
    sent: dict[str, float] = {}
    outcomes: dict[str, int] = {}
    windows: list[tuple[float, float]] = []
    samples: dict[str, list[tuple[int, float]]] = {}
    sampler = asyncio.create_task(sample_memory(stack, samples))
    async with httpx.AsyncClient(base_url=settings.service_url("gateway"),
                                 timeout=30) as client:
        await restock(client, 1_000_000)
        faults = asyncio.create_task(_faults(stack, args.minutes, windows))
        tasks, n, began = [], 0, time.monotonic()
        while time.monotonic() - began < args.minutes * 60:
            tasks.append(asyncio.create_task(place(client, n, sent, outcomes)))
            n += 1
            await asyncio.sleep(max(0.0, n / args.rate - (time.monotonic() - began)))
        await asyncio.gather(*tasks)
        await faults
    await _report(settings, stack, sent, outcomes, windows, memory_start)
    sampler.cancel()
    _report_last_processes(stack, samples)


async def _faults(stack: Stack, minutes: float,
                  windows: list[tuple[float, float]]) -> None:
    began = time.monotonic()
    for minute in range(1, int(minutes)):
        await asyncio.sleep(max(0.0, began + minute * 60 - time.monotonic()))
        name = FAULTS[(minute - 1) % len(FAULTS)]
        start, end = await fault(stack, name)
        # Orders placed up to 5 s after recovery still feel the fault.
        windows.append((start, end + 5))
        print(f"  minute {minute}: {name} out for {end - start:.1f} s",
              flush=True)


async def _report(settings: LabSettings, stack: Stack, sent: dict[str, float],
                  outcomes: dict[str, int], windows: list[tuple[float, float]],
                  memory_start: dict[str, float]) -> None:
    engine = create_engine(settings)
    deadline = time.monotonic() + 120
    done: dict[str, float] = {}
    while time.monotonic() < deadline:
        done = await finished_at(engine, list(sent))
        if len(done) == len(sent):
            break
        await asyncio.sleep(1)
    duplicates = await duplicated_effects(engine)
    gaps = await streams_with_gaps(engine)
    await engine.dispose()
    calm = [(done[o] - t) * 1000 for o, t in sent.items()
            if o in done and not any(a <= t <= b for a, b in windows)]
    print(f"orders sent {sum(outcomes.values())} {outcomes}, accepted "
          f"{len(sent)}, finished {len(done)}, lost {len(sent) - len(done)}")
    print(f"duplicated effects: {sum(duplicates.values())} {duplicates}; "
          f"streams with gaps: {sum(len(v) for v in gaps.values())}")
    if calm:
        print(f"saga latency outside fault windows: p50 "
              f"{percentile(calm, 50):.0f} ms, p99 {percentile(calm, 99):.0f} ms")
    for name in SERVICES:
        end = rss_mb(stack, name)
        start = memory_start[name]
        growth = (end / start - 1) * 100 if start else float("nan")
        # A part restarted by a fault ends as a new process: say so.
        again = " (restarted by a fault)" if name in FAULTS else ""
        print(f"memory {name}: {start:.0f} MB -> {end:.0f} MB "
              f"({growth:+.0f} %){again}")



def _report_last_processes(stack: Stack,
                           samples: dict[str, list[tuple[int, float]]]) -> None:
    for name in SERVICES:
        pid, end = pid_rss(stack, name)
        mine = [mb for p, mb in samples.get(name, []) if p == pid]
        if not mine or not end:
            continue
        print(f"memory {name}, last process: {mine[0]:.0f} MB at its first "
              f"sample -> {end:.0f} MB ({(end / mine[0] - 1) * 100:+.0f} %) "
              f"over {len(mine) * 10} s")


if __name__ == "__main__":
    asyncio.run(main())
