"""Pausing a service's consumer keeps it in its group while its lag grows."""

from __future__ import annotations

import uuid

from cqrs_lab import Lab
from tests.helpers import eventually


def _payments_lag(lab: Lab) -> int:
    lag = lab.lag("payments-service")
    return int(lag["lag"].sum())


def test_a_paused_consumer_falls_behind_and_catches_up_when_resumed() -> None:
    lab = Lab()
    try:
        state = lab.pause_consumer("payments")
        assert state["paused"] is True and state["partitions"]

        order = lab.place_order(f"pause-{uuid.uuid4().hex[:8]}",
                                [("book-001", 1, "19.99")])
        lab.wait_for(order, "stock_reserved", timeout=30)
        eventually(lambda: _payments_lag(lab) > 0, 30,
                   what="payments' lag growing while paused")
        assert lab.order(order)["status"] == "stock_reserved"
        assert lab.consumer("payments")["partitions"] == state["partitions"]
    finally:
        lab.resume_consumer("payments")

    lab.wait_for(order, "ready_for_delivery", timeout=30)
    eventually(lambda: _payments_lag(lab) == 0, 30, what="lag back to zero")
    lab.close()
