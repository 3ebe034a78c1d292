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
GUARDED_RACES = 20


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


def _race(client: httpx.Client, order_id: str, pool: ThreadPoolExecutor,
          if_match: str | None = None) -> tuple[httpx.Response, httpx.Response]:
    # The barrier releases both threads together, so neither request has a
    # head start from thread scheduling.
    barrier = Barrier(2)
    headers = {"If-Match": if_match} if if_match else {}

    def send(action: str) -> httpx.Response:
        body = {"reason": "race"} if action == "cancel" else None
        barrier.wait()
        return client.put(f"/api/orders/{order_id}/{action}", json=body,
                          headers=headers)

    confirm = pool.submit(send, "confirm")
    cancel = pool.submit(send, "cancel")
    return confirm.result(), cancel.result()


def _settled(gateway: httpx.Client, order_id: str,
             status: str) -> dict[str, Any]:
    # A cancel that followed a confirm may land after the delivery notice,
    # so the read model can show ready_for_delivery before cancelled.
    leaving = "ready_for_delivery" if status == "cancelled" else None
    return wait_for_status(gateway, order_id, status, FLOW_TIMEOUT, leaving)


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


@pytest.fixture(scope="module")
def guarded_races(gateway: httpx.Client) -> list[tuple[str, httpx.Response,
                                                       httpx.Response]]:
    """Paid manual orders raced by confirm and cancel, both sent If-Match."""
    ids = _paid_manual_orders(gateway, GUARDED_RACES)
    with ThreadPoolExecutor(max_workers=2) as pool:
        return [(order_id, *_race(gateway, order_id, pool,
                                  gateway.get(f"/api/orders/{order_id}")
                                  .headers["ETag"]))
                for order_id in ids]


def test_with_if_match_exactly_one_of_each_race_wins(
        gateway: httpx.Client,
        guarded_races: list[tuple[str, httpx.Response, httpx.Response]]
        ) -> None:
    """Both decided on the same version: one wins, the other is a 409."""
    for order_id, confirm, cancel in guarded_races:
        codes = sorted((confirm.status_code, cancel.status_code))
        assert codes == [200, 409], (
            f"{order_id}: confirm {confirm.text}, cancel {cancel.text}")
        loser = confirm if confirm.status_code == 409 else cancel
        assert loser.json()["error"]["code"] == "concurrency_conflict"
        final = "cancelled" if cancel.status_code == 200 else "ready_for_delivery"
        types = history_types(_settled(gateway, order_id, final))
        assert ("OrderConfirmed" in types) == (confirm.status_code == 200)
        assert ("OrderCancelled" in types) == (cancel.status_code == 200)


def test_a_stale_if_match_is_refused_and_changes_nothing(
        gateway: httpx.Client) -> None:
    """A command decided on an older version is a 409; the order stays paid."""
    [order_id] = _paid_manual_orders(gateway, 1)
    before = gateway.get(f"/api/orders/{order_id}")

    response = gateway.put(f"/api/orders/{order_id}/confirm",
                           headers={"If-Match": '"1"'})

    assert response.status_code == 409, response.text
    assert "not 1 as expected" in response.json()["error"]["message"]
    after = gateway.get(f"/api/orders/{order_id}")
    assert after.headers["ETag"] == before.headers["ETag"]
    assert after.json()["data"]["status"] == "paid"


def test_a_malformed_if_match_is_a_422_naming_the_header(
        gateway: httpx.Client) -> None:
    """If-Match must be a version such as "3"."""
    [order_id] = _paid_manual_orders(gateway, 1)

    response = gateway.put(f"/api/orders/{order_id}/confirm",
                           headers={"If-Match": "yesterday"})

    assert response.status_code == 422, response.text
    assert "If-Match" in response.text
