"""Replaying stored events into a learner's projection, without a database."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import pandas as pd
from sqlalchemy.dialects import postgresql

from cqrs_lab.replay import projector_of, to_frame
from cqrs_lab.store import StoredEvent, event_query, events_frame, events_table

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def event(position: int, event_type: str, order: str, **data: Any) -> StoredEvent:
    return StoredEvent(position, f"order-{order}", position, None, event_type, 1,
                       {"order_id": order, **data}, {"correlation_id": "c"},
                       "c", T0 + timedelta(seconds=position))


EVENTS = [event(1, "OrderPlaced", "a", total_amount="10"),
          event(2, "OrderPlaced", "b", total_amount="20"),
          event(3, "OrderPaid", "a"),
          event(4, "OrderCancelled", "b", reason="changed mind")]


class Statuses:
    """A learner's class-style projection: one row per order."""

    def __init__(self) -> None:
        self.rows: dict[str, dict[str, Any]] = {}
        self.other: list[str] = []

    def when_OrderPlaced(self, e: StoredEvent) -> None:
        self.rows[e.order_id or ""] = {"status": "pending",
                                       "total": e.data["total_amount"]}

    def when_OrderPaid(self, e: StoredEvent) -> None:
        self.rows[e.order_id or ""]["status"] = "paid"

    def apply(self, e: StoredEvent) -> None:
        self.other.append(e.event_type)


def test_a_class_projection_gets_its_when_methods_and_apply_for_the_rest() -> None:
    driver = projector_of(Statuses)
    driver.feed(EVENTS[:2])
    driver.feed(EVENTS[2:])
    frame = to_frame(driver.result())
    assert frame.loc["a", "status"] == "paid"
    assert frame.loc["b", "status"] == "pending"
    assert frame.index.name == "key"
    assert driver.projection.other == ["OrderCancelled"]


def test_a_result_method_wins_over_rows() -> None:
    class Count:
        rows: ClassVar[list[str]] = ["ignored"]

        def __init__(self) -> None:
            self.n = 0

        def when_OrderPlaced(self, e: StoredEvent) -> None:
            self.n += 1

        def result(self) -> dict[str, int]:
            return {"orders": self.n}

    driver = projector_of(Count())
    driver.feed(EVENTS)
    frame = to_frame(driver.result())
    assert frame.to_dict("records") == [{"key": "orders", "value": 2}]


def test_a_dict_projection_folds_a_state_and_star_matches_the_rest() -> None:
    def placed(state: dict[str, str], e: StoredEvent) -> None:
        state[e.order_id or ""] = "pending"

    def count(state: dict[str, str], e: StoredEvent) -> dict[str, str]:
        return {**state, e.order_id or "": e.event_type}

    driver = projector_of({"OrderPlaced": placed, "*": count})
    driver.feed(EVENTS)
    assert driver.result() == {"a": "OrderPaid", "b": "OrderCancelled"}


def test_a_function_returning_a_value_replaces_the_state() -> None:
    driver = projector_of({"OrderPlaced": lambda n, e: n + 1}, initial=0)
    driver.feed(EVENTS)
    assert to_frame(driver.result()).to_dict("records") == [{"value": 2}]


def test_lists_of_rows_and_counters_become_frames() -> None:
    assert list(to_frame([{"a": 1}, {"a": 2}])["a"]) == [1, 2]
    counted = to_frame(Counter(e.event_type for e in EVENTS))
    assert dict(zip(counted["key"], counted["value"]))["OrderPlaced"] == 2
    assert to_frame({}).empty
    frame = pd.DataFrame({"x": [1]})
    assert to_frame(frame) is frame


def _compiled(query: Any) -> tuple[str, dict[str, Any]]:
    compiled = query.compile(dialect=postgresql.dialect())
    return str(compiled), compiled.params


def test_time_travel_cuts_the_store_by_position_and_by_time() -> None:
    table = events_table("orders")
    sql, params = _compiled(event_query(table, after=5, upto=42,
                                        upto_time=T0))
    assert "orders.events.position > %(position_1)s" in sql
    assert "orders.events.position <= %(position_2)s" in sql
    assert "orders.events.recorded_at <= %(recorded_at_1)s" in sql
    assert params["position_1"] == 5 and params["position_2"] == 42
    assert params["recorded_at_1"] == T0


def test_filters_are_bound_parameters() -> None:
    table = events_table("payments")
    sql, params = _compiled(event_query(
        table, stream="s'; drop table x", event_type=["A", "B"],
        correlation_id="c", order_id="o"))
    assert "drop table" not in sql
    assert params["stream_id_1"] == "s'; drop table x"
    assert "payments.events.data ->> %(data_1)s" in sql


def test_the_events_frame_has_the_store_columns_in_position_order() -> None:
    frame = events_frame(EVENTS)
    assert list(frame.columns[:8]) == [
        "position", "stream_id", "version", "event_type", "schema_version",
        "correlation_id", "causation_id", "recorded_at"]
    assert list(frame["position"]) == [1, 2, 3, 4]
