"""The live tail's model: rows, filters and stop, driven by a fake record source."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from typing import Any

from cqrs_lab.kafka import RecordFilter
from cqrs_lab.widgets import TailView
from tests.helpers import eventually


def row(offset: int, event_type: str, correlation: str,
        **headers: str) -> dict[str, Any]:
    return {"topic": "orders-events", "partition": 0, "offset": offset,
            "key": "k", "event_type": event_type, "correlation_id": correlation,
            "timestamp": None,
            "headers": {"event_type": event_type, **headers}, "payload": {}}


class FakeSource:
    """Yields the batches it is given, then waits until cancelled."""

    def __init__(self, *batches: list[dict[str, Any]]) -> None:
        self.batches = batches
        self.cancelled = threading.Event()

    async def __call__(self) -> AsyncIterator[list[dict[str, Any]]]:
        try:
            for batch in self.batches:
                yield batch
            await asyncio.sleep(3600)
        finally:
            self.cancelled.set()


def test_rows_arrive_in_the_background_and_stop_ends_the_consumer() -> None:
    source = FakeSource([row(1, "OrderPlaced", "c1")],
                        [row(2, "OrderPaid", "c1"), row(3, "OrderPlaced", "c2")])
    view = TailView("orders-events", source).start()
    eventually(lambda: len(view.rows) == 3, 5, what="three rows")
    assert view.running
    view.stop()
    assert source.cancelled.is_set() and not view.running
    assert "3 records" in view.status_text() and "stopped" in view.status_text()


def test_filters_narrow_the_rows_shown_and_can_be_cleared() -> None:
    view = TailView("orders-events", FakeSource())
    view.add([row(1, "OrderPlaced", "c1", source="orders"),
              row(2, "OrderPaid", "c1", source="orders"),
              row(3, "OrderPlaced", "c2", source="other")])
    view.set_filters(event_type="OrderPlaced")
    assert [r["offset"] for r in view.rows] == [1, 3]
    view.set_filters(correlation_id="c1")
    assert [r["offset"] for r in view.rows] == [1, 2]
    view.set_filters(header="source=other")
    assert [r["offset"] for r in view.rows] == [3]
    view.set_filters()
    assert len(view.rows) == 3 and view.filters == RecordFilter()


def test_the_view_keeps_only_the_newest_rows() -> None:
    view = TailView("t", FakeSource(), max_rows=2)
    view.add([row(i, "E", "c") for i in range(5)])
    assert [r["offset"] for r in view.all_rows] == [3, 4]


def test_the_widget_boxes_and_stop_button_drive_the_model() -> None:
    view = TailView("orders-events", FakeSource([])).start()
    box = view.widget()
    widgets = view._widgets
    view.add([row(1, "OrderPlaced", "c1"), row(2, "OrderPaid", "c2")])
    assert "OrderPaid" in widgets["table"].value
    widgets["event_type"].value = "OrderPlaced"
    assert view.filters.event_type == "OrderPlaced"
    assert "OrderPaid" not in widgets["table"].value
    widgets["stop"].click()
    assert not view.running
    assert box.children[1] is widgets["table"]


def test_filters_given_to_the_view_show_in_its_boxes_and_survive_typing(
        ) -> None:
    filters = RecordFilter(correlation_id="c1", headers={"source": "orders"})
    view = TailView("orders-events", FakeSource(), filters=filters)
    widgets = (view.widget(), view._widgets)[1]
    assert widgets["correlation_id"].value == "c1"
    assert widgets["header"].value == "source=orders"

    widgets["event_type"].value = "OrderPaid"

    assert view.filters == RecordFilter("OrderPaid", "c1", {"source": "orders"})


def test_the_table_shows_each_payload_cut_to_a_readable_length() -> None:
    view = TailView("orders-events", FakeSource())
    long = row(1, "OrderPlaced", "c1")
    long["payload"] = {"data": {"note": "x" * 500}}
    view.add([long])
    table = view.table_html()
    assert "<th>payload</th>" in table and "xxxx" in table
    assert "x" * 400 not in table
