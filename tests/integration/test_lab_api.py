"""The learner's `Lab` against the running stack: commands, queries, store, Kafka."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from cqrs_lab import Lab, StoredEvent
from cqrs_lab.commands import CommandResult
from services.shared.settings import LabSettings
from tests.helpers import eventually


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    """A Lab on the stack under test, closed after the module."""
    lab = Lab(LabSettings())
    lab.check()
    yield lab
    lab.close()


@pytest.fixture(scope="module")
def order(lab: Lab) -> CommandResult:
    """An order placed through the lab and delivered."""
    placed = lab.place_order("lab-it", [("laptop-001", 1, "999.99"),
                                        {"productId": "mouse-001",
                                         "quantity": 2, "unitPrice": "29.99"}])
    assert placed.status_code == 201 and placed.order_id is not None
    lab.wait_for(placed, "ready_for_delivery", timeout=20)
    return placed


def test_status_shows_every_part_healthy(lab: Lab) -> None:
    frame = lab.status()
    assert set(frame["health"]) == {"healthy"}, frame


def test_history_events_orders_and_stock_contain_the_order(
        lab: Lab, order: CommandResult) -> None:
    types = list(lab.history(order)["event_type"])
    assert types[0] == "OrderPlaced"
    assert types[-1] == "OrderReadyForDelivery"
    events = lab.events("orders", stream=f"order-{order.order_id}")
    assert list(events["version"]) == list(range(1, len(events) + 1))
    assert set(events["correlation_id"]) >= {order.correlation_id}
    assert str(order.order_id) in set(lab.orders(limit=500)["order_id"])
    assert lab.payment(order)["status"] == "approved"
    assert lab.stock("laptop-001").loc[0, "product_id"] == "laptop-001"
    assert "laptop-001" in set(lab.stock()["product_id"])
    assert lab.aggregate(order).version == len(events)


def test_tail_from_the_beginning_finds_the_order_placed_record(
        lab: Lab, order: CommandResult) -> None:
    found = lab.tail("orders-events", n=1, from_beginning=True, timeout=20,
                     event_type="OrderPlaced",
                     correlation_id=order.correlation_id)
    assert len(found) == 1
    record = found.iloc[0]
    assert record["key"] == str(order.order_id)
    assert record["payload"]["data"]["order_id"] == str(order.order_id)


def test_the_lag_table_has_the_three_service_groups(lab: Lab) -> None:
    lag = lab.lag()
    assert set(lag["group"]) == {"orders-service", "payments-service",
                                 "inventory-service"}
    assert (lag["lag"] >= 0).all()
    assert set(lab.lag("payments-service")["topic"]) == {"orders-events"}


class CountOrders:
    """A learner's projection: how many orders were placed."""

    def __init__(self) -> None:
        self.orders = 0
        self.last = 0

    def when_OrderPlaced(self, event: StoredEvent) -> None:
        self.orders += 1

    def apply(self, event: StoredEvent) -> None:
        self.last = event.position

    def result(self) -> dict[str, int]:
        return {"orders": self.orders}


def _count(frame: Any) -> int:
    return int(frame.set_index("key").loc["orders", "value"])


def test_replay_counts_orders_and_travels_in_time(
        lab: Lab, order: CommandResult) -> None:
    placed = lab.events("orders", event_type="OrderPlaced",
                        stream=f"order-{order.order_id}")
    position = int(placed.loc[0, "position"])
    before = lab.events("orders", event_type="OrderPlaced", upto=position - 1,
                        after=0, limit=None)
    assert _count(lab.replay(CountOrders, upto_position=position - 1)) == \
        len(before)
    assert _count(lab.replay(CountOrders(), upto_position=position)) == \
        len(before) + 1
    at = placed.loc[0, "recorded_at"]
    assert _count(lab.replay(CountOrders, upto_time=at)) >= len(before) + 1
    seen = lab.replay({"OrderPlaced": lambda s, e: s.add(e.order_id)},
                      initial=set())
    assert str(order.order_id) in set(seen.iloc[:, 0])


def test_rebuilding_the_orders_read_model_matches_the_live_one(lab: Lab) -> None:
    diff = lab.rebuild_read_model("orders")
    assert diff.empty, diff.to_string()


def test_a_poison_message_lands_in_the_dead_letters_with_a_reason(
        lab: Lab) -> None:
    key = f"poison-{uuid.uuid4()}"
    sent = lab.send_raw("orders-events", b"{not json", key=key,
                        headers={"event_type": "Poison"})
    assert sent["topic"] == "orders-events"

    def dead() -> Any:
        letters = lab.dead_letters(timeout=5)
        mine = letters[letters["key"] == key]
        return mine.to_dict("records")

    mine = eventually(dead, 30, what="the poison message's dead letter")
    assert all("malformed envelope" in r["dlq_reason"] for r in mine)
    assert {r["dlq_topic"] for r in mine} == {"orders-events"}
    assert {r["dlq_consumer"] for r in mine} <= {"payments-service",
                                                 "inventory-service"}
