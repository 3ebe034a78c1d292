"""Helpers for checks that drive the live stack: unique names, bounded waits."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any, TypeVar

from cqrs_lab.commands import CommandResult

# Every wait of a check ends within this many seconds.
TIMEOUT = 30.0

T = TypeVar("T")


def run_id() -> str:
    """A short id of one check run, so its orders never meet others' data."""
    return uuid.uuid4().hex[:10]


def short(order: Any) -> str:
    """The first characters of an order id, as messages show it."""
    return str(getattr(order, "order_id", order))[:8] + "…"


def wait_all(lab: Any, pairs: Sequence[tuple[CommandResult, str]],
             timeout: float = TIMEOUT) -> list[dict[str, Any]]:
    """Waits for each order to reach its status, all within one deadline."""
    deadline = time.monotonic() + timeout
    found = []
    for order, status in pairs:
        left = max(deadline - time.monotonic(), 0.5)
        found.append(lab.wait_for(order, status, timeout=left))
    return found


def cents(value: Any) -> Decimal:
    """A money amount rounded to cents, from a Decimal, float, int or text."""
    return Decimal(str(value)).quantize(Decimal("0.01"))


def poll(probe: Callable[[], T], timeout: float = TIMEOUT,
         interval: float = 0.2) -> T:
    """Calls probe until it returns neither None nor False; that, or the last."""
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if (found is not None and found is not False) or \
                time.monotonic() >= deadline:
            return found
        time.sleep(interval)
