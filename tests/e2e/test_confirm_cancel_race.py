"""Confirm and cancel sent at the same moment leave a consistent order."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from threading import Barrier
from typing import Any

import httpx
import pytest

from tests.e2e.shop import (
    FLOW_TIMEOUT,
    history_types,
    place,
    restock,
    unique,
    wait_for_payment,
    wait_for_reservation,
    wait_for_status,
)
from tests.helpers import order_body

RACES = 10


def _paid_manual_orders(gateway: httpx.Client, count: int) -> list[str]:
    restock(gateway, "keyboard-001", count)
    ids = []
    for _ in range(count):
        body = {**order_body(("keyboard-001", 1, "89.90"),
                             customer=unique("race")),
                "confirmation": "manual"}
        ids.append(place(gateway, body))
    for order_id in ids:
        wait_for_status(gateway, order_id, "paid")
    return ids


def _race(client: httpx.Client, order_id: str,
          pool: ThreadPoolExecutor) -> tuple[httpx.Response, httpx.Response]:
    # The barrier releases both threads together, so neither request has a
    # head start from thread scheduling.
    barrier = Barrier(2)

    def send(action: str) -> httpx.Response:
        body = {"reason": "race"} if action == "cancel" else None
        barrier.wait()
        return client.put(f"/api/orders/{order_id}/{action}", json=body)

    confirm = pool.submit(send, "confirm")
    cancel = pool.submit(send, "cancel")
    return confirm.result(), cancel.result()


def _settled(gateway: httpx.Client, order_id: str,
             status: str) -> dict[str, Any]:
    return wait_for_status(gateway, order_id, status, FLOW_TIMEOUT)


@pytest.fixture(scope="module")
def races(gateway: httpx.Client) -> list[tuple[str, httpx.Response,
                                               httpx.Response]]:
    """Ten paid manual orders, each hit by a confirm and a cancel at once."""
    ids = _paid_manual_orders(gateway, RACES)
    with ThreadPoolExecutor(max_workers=2) as pool:
        return [(order_id, *_race(gateway, order_id, pool))
                for order_id in ids]


def test_each_race_has_a_winner_and_any_loser_gets_409(
        races: list[tuple[str, httpx.Response, httpx.Response]]) -> None:
    """At least one request wins; a loser is a 409, never a 500."""
    for order_id, confirm, cancel in races:
        codes = (confirm.status_code, cancel.status_code)
        assert codes in {(200, 200), (200, 409), (409, 200)}, (
            f"{order_id}: confirm {confirm.text}, cancel {cancel.text}")
        if confirm.status_code == 200:
            # Nobody else confirms a manual order, so this call did it.
            assert confirm.json()["data"]["changed"] is True
        for loser in (r for r in (confirm, cancel) if r.status_code == 409):
            assert loser.json()["success"] is False


def test_each_raced_order_ends_as_its_winner_left_it(
        gateway: httpx.Client,
        races: list[tuple[str, httpx.Response, httpx.Response]]) -> None:
    """A successful cancel ends cancelled; a lone confirm ends delivered."""
    for order_id, confirm, cancel in races:
        if cancel.status_code == 200:
            view = _settled(gateway, order_id, "cancelled")
            assert view["reason"] == "race"
            wait_for_payment(gateway, order_id, "refunded")
            wait_for_reservation(gateway, order_id, "released")
        else:
            view = _settled(gateway, order_id, "ready_for_delivery")
        types = history_types(view)
        assert ("OrderConfirmed" in types) == (confirm.status_code == 200)
        if confirm.status_code == 200 and cancel.status_code == 200:
            # Both won only if they ran one after the other: confirm first.
            assert types.index("OrderConfirmed") < types.index("OrderCancelled")


def test_each_raced_order_history_is_gapless_and_without_repeats(
        gateway: httpx.Client,
        races: list[tuple[str, httpx.Response, httpx.Response]]) -> None:
    """Versions run 1..n and no event type was recorded twice."""
    for order_id, _, cancel in races:
        # Waiting for the final status means the saga has added everything.
        won = cancel.status_code == 200
        final = "cancelled" if won else "ready_for_delivery"
        view = _settled(gateway, order_id, final)
        types = history_types(view)
        versions = [entry["version"] for entry in view["history"]]
        assert versions == list(range(1, len(versions) + 1)), order_id
        assert versions[-1] == view["version"], order_id
        assert len(types) == len(set(types)), f"{order_id}: {types}"
        assert types[:3] == ["OrderPlaced", "OrderStockReserved", "OrderPaid"]
