"""Helpers the test suites share: polling with a deadline, order bodies."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


def eventually(probe: Callable[[], T | None], timeout: float = 20.0,
               interval: float = 0.1, what: str = "the condition") -> T:
    """Calls `probe` until it returns something truthy, or fails at the deadline."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"{what} did not happen within {timeout} s "
                         f"(last seen: {last!r})")


def order_body(*items: tuple[str, int, str], customer: str = "customer-123",
               total: str | None = None) -> dict[str, Any]:
    """A `POST /api/orders` body from (product, quantity, unit price) tuples."""
    body: dict[str, Any] = {
        "customerId": customer,
        "items": [{"productId": p, "quantity": q, "unitPrice": float(price)}
                  for p, q, price in items],
    }
    if total is not None:
        body["totalAmount"] = float(total)
    return body
