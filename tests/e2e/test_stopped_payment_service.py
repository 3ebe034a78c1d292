"""The README's failure test: orders wait while payments is down, then finish."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from cqrs_lab.stack.launcher import Stack
from services.shared.settings import LabSettings
from tests.e2e.shop import (
    error_of,
    place,
    restock,
    unique,
    wait_for_payment,
    wait_for_status,
)
from tests.helpers import order_body

ORDERS = 3
# The README promises the backlog drains within a minute of the restart.
RECOVERY_TIMEOUT = 60.0


def test_orders_wait_for_a_stopped_payment_service_and_then_complete(
        gateway: httpx.Client, settings: LabSettings) -> None:
    """Orders placed without payments stop at stock_reserved, then recover."""
    restock(gateway, "book-001", ORDERS)
    stack = Stack(settings)
    if not stack.stop("payments"):
        pytest.fail(f"payments is not running from {settings.state_dir}; set "
                    "CQRS_LAB_STATE_DIR to the state folder of the stack")
    try:
        ids = [place(gateway, order_body(("book-001", 1, "19.99"),
                                         customer=unique("no-payments")),
                     "failure-test")
               for _ in range(ORDERS)]

        health = gateway.get("/api/payments/health")

        assert health.status_code == 503, health.text
        error = error_of(health)
        assert error["code"] == "service_unavailable"
        assert "payment service" in error["message"]
        for order_id in ids:
            wait_for_status(gateway, order_id, "stock_reserved")
        # Not paid yet, so not confirmable, even though it confirms itself.
        early = gateway.put(f"/api/orders/{ids[0]}/confirm")
        assert early.status_code == 409, early.text
        assert "not paid yet" in error_of(early)["message"]
    finally:
        asyncio.run(Stack(settings).start("payments"))

    assert gateway.get("/api/payments/health").status_code == 200
    for order_id in ids:
        view = wait_for_status(gateway, order_id, "ready_for_delivery",
                               RECOVERY_TIMEOUT)
        assert [e["type"] for e in view["history"]].count("OrderPaid") == 1
        wait_for_payment(gateway, order_id, "approved")

