"""Measures how long a record takes from its producer to a row in the live tail.

Run with the lab up. It opens `lab.live_tail("orders-events")`, the view a
notebook shows, places real orders at a steady rate, and notes when each
record's row reaches the view. Latency is the arrival time minus the
record's timestamp, which the producer sets when it sends (both clocks are
this machine's). Prints p50, p99 and max.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from saga import percentile

from cqrs_lab import Lab


def main() -> None:
    """Places orders under a live tail and prints produce-to-row latency."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--rate", type=float, default=5)
    args = parser.parse_args()
    lab = Lab()
    lab.gateway.request("POST", "/api/inventory/book-001/restock",
                        {"quantity": 100_000}).raise_for_status()
    view = lab.live_tail("orders-events")
    arrived: dict[tuple[int, int], float] = {}
    delivered: set[str] = set()
    show = view.add

    def add(rows: list[dict[str, Any]]) -> None:
        now = time.time()
        for row in rows:
            latency = now - row["timestamp"].timestamp()
            arrived[(row["partition"], row["offset"])] = latency * 1000
            if row["event_type"] == "OrderReadyForDelivery":
                delivered.add(row["key"])
        show(rows)

    # The view's consumer thread calls `add` for every batch it receives.
    view.add = add  # type: ignore[method-assign]
    placed = _place(lab, args.rate, args.seconds)
    deadline = time.monotonic() + 30
    # The last record of each order's saga closes the measurement.
    while len(delivered) < placed and time.monotonic() < deadline:
        time.sleep(0.1)
    view.stop()
    lab.close()
    millis = list(arrived.values())
    print(f"produce to live-tail row: n={len(millis)} (orders placed "
          f"{placed}), p50 {percentile(millis, 50):.1f} ms, "
          f"p99 {percentile(millis, 99):.1f} ms, max {max(millis):.1f} ms")


def _place(lab: Lab, rate: float, seconds: float) -> int:
    began = time.monotonic()
    n = 0
    while time.monotonic() - began < seconds:
        lab.place_order(f"tail-bench-{n % 20}", [("book-001", 1, "19.99")])
        n += 1
        time.sleep(max(0.0, began + n / rate - time.monotonic()))
    return n


if __name__ == "__main__":
    main()
