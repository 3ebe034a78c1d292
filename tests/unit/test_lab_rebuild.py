"""The shadow rebuild's pieces: which tables and projections, and the diff."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from cqrs_lab.rebuild import (
    diff_rows,
    projections_of,
    read_model_tables,
    shadow_schema,
)

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def test_each_service_rebuilds_its_own_read_model_tables() -> None:
    names = {s: sorted(t.name for t in read_model_tables(s))
             for s in ("orders", "payments", "inventory")}
    assert names == {"orders": ["order_history", "order_summaries"],
                     "payments": ["payments"],
                     "inventory": ["reservations", "stock_levels"]}
    assert shadow_schema("orders") == "orders_shadow"


def test_the_services_projection_classes_are_found() -> None:
    found = {s: sorted(type(p).__name__ for p in projections_of(s))
             for s in ("orders", "payments", "inventory")}
    assert found == {"orders": ["OrderSummaryProjection"],
                     "payments": ["PaymentsProjection"],
                     "inventory": ["ReservationsProjection",
                                   "StockLevelsProjection"]}


def test_identical_tables_have_no_diff() -> None:
    rows = [{"id": 1, "status": "paid", "at": NOW, "amount": Decimal("1.50")}]
    assert diff_rows("t", ["id"], rows, [dict(r) for r in rows]).empty


def test_the_diff_names_rows_on_one_side_and_changed_columns() -> None:
    live = [{"id": 1, "status": "paid", "items": [{"q": 1}]},
            {"id": 2, "status": "pending", "items": []}]
    shadow = [{"id": 1, "status": "cancelled", "items": [{"q": 1}]},
              {"id": 3, "status": "paid", "items": []}]
    diff = diff_rows("order_summaries", ["id"], live, shadow)
    lines = diff[["key", "side", "column", "live", "shadow"]].to_dict("records")
    assert lines == [
        {"key": 1, "side": "different", "column": "status", "live": "paid",
         "shadow": "cancelled"},
        {"key": 2, "side": "only_live", "column": None,
         "live": live[1], "shadow": None},
        {"key": 3, "side": "only_shadow", "column": None, "live": None,
         "shadow": shadow[1]},
    ]
    assert set(diff["table"]) == {"order_summaries"}


def test_composite_keys_are_shown_as_tuples() -> None:
    diff = diff_rows("order_history", ["order_id", "version"],
                     [{"order_id": "a", "version": 2, "x": 1}], [])
    assert diff.loc[0, "key"] == ("a", 2)
