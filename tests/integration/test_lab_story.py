"""One order across every source, its traces as figures, a live tail and faults."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from cqrs_lab import Lab
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
    """An order placed with manual confirmation, then confirmed by hand."""
    placed = lab.place_order("lab-story", [("keyboard-001", 1, "79.00")],
                             correlation_id=f"lab-story-{uuid.uuid4()}",
                             confirmation="manual")
    lab.wait_for(placed, "paid", timeout=20)
    confirmed = lab.confirm(placed)
    assert confirmed.ok, confirmed
    lab.wait_for(placed, "ready_for_delivery", timeout=20)
    return placed


def test_the_story_has_rows_of_every_kind(lab: Lab, order: CommandResult) -> None:
    def complete() -> object:
        story = lab.story(order, traces_required=True)
        kinds = set(story["kind"])
        wanted = {"command", "event", "outbox", "kafka", "span", "read_model"}
        return [story] if kinds >= wanted and _all_spans(story) else None

    [story] = eventually(complete, 30, interval=0.5,
                         what="a story with every kind of row")
    commands = story[story["kind"] == "command"]
    assert list(commands["name"]) == ["PlaceOrder", "ConfirmOrder"]
    kafka = story[story["kind"] == "kafka"]
    assert "orders-events" in set(kafka["topic"])
    assert kafka["offset"].notna().all()
    outbox = story[story["kind"] == "outbox"]
    assert outbox["published_at"].notna().all()
    assert set(story[story["kind"] == "read_model"]["name"]) == {
        "order_summaries", "payments", "reservations"}
    assert story["time"].is_monotonic_increasing


def _all_spans(story: object) -> bool:
    # Consumer spans arrive in batches: wait for one per Kafka record consumed.
    spans = story[story["kind"] == "span"]  # type: ignore[index]
    return bool(spans["name"].str.startswith("process ").sum() >= 5)


def test_figures_show_the_orders_spans_and_events(
        lab: Lab, order: CommandResult) -> None:
    fig = eventually(lambda: _with_arrows(lab, order), 30, interval=0.5,
                     what="a waterfall with Kafka hops")
    assert {t.name for t in fig.data} >= {"gateway", "orders", "payments",
                                          "inventory"}
    by_correlation = lab.waterfall(order.correlation_id or "")
    assert len(by_correlation.data) >= 2
    timeline = lab.saga_timeline(order)
    names = {t.name: _texts(t) for t in timeline.data}
    assert "OrderPlaced" in names["event"] and names["compensation"] == []
    edges = lab.service_edges(limit=20)
    assert {("gateway", "orders")} <= set(zip(edges["source"], edges["target"]))
    assert len(lab.service_map(limit=20).layout.annotations) == len(edges)


def _with_arrows(lab: Lab, order: CommandResult) -> object:
    fig = lab.waterfall(order)
    return fig if len(fig.layout.annotations) >= 5 else None


def test_a_cancelled_orders_timeline_marks_its_compensations(lab: Lab) -> None:
    placed = lab.place_order("lab-story", [("mouse-001", 1, "29.99")],
                             confirmation="manual")
    lab.wait_for(placed, "paid", timeout=20)
    lab.cancel(placed, "changed my mind")
    lab.wait_for(placed, "cancelled", timeout=20)

    def compensations() -> object:
        fig = lab.saga_timeline(placed)
        found = set(_texts({t.name: t for t in fig.data}["compensation"]))
        return found if {"PaymentRefunded", "StockReleased"} <= found else None

    found = eventually(compensations, 20, what="refund and release")
    assert "OrderCancelled" in found


def test_the_live_tail_shows_new_records_and_stops(lab: Lab) -> None:
    view = lab.live_tail("orders-events", event_type="OrderPlaced")
    try:
        correlation = f"live-{uuid.uuid4()}"
        lab.place_order("lab-live", [("mouse-001", 1, "29.99")],
                        correlation_id=correlation)
        eventually(lambda: [r for r in view.rows
                            if r["correlation_id"] == correlation], 20,
                   what="the OrderPlaced record in the live view")
        assert all(r["event_type"] == "OrderPlaced" for r in view.rows)
    finally:
        view.stop()
    assert not view.running


def test_a_stopped_payment_service_lags_then_catches_up(lab: Lab) -> None:
    if not lab.stack.table.alive("payments"):
        pytest.fail(f"payments was not started from {lab.settings.state_dir}; "
                    "run the tests with CQRS_LAB_STATE_DIR set to the folder "
                    "`cqrs-lab up` used (tests/run.sh does)")
    assert lab.stop("payments")
    try:
        placed = lab.place_order("lab-fault", [("mouse-001", 1, "29.99")])
        lab.wait_for(placed, "stock_reserved", timeout=20)
        eventually(lambda: lab.lag("payments-service")["lag"].sum() > 0, 20,
                   what="payments-service lag")
        assert lab.order(placed)["status"] == "stock_reserved"
    finally:
        lab.start("payments")
    lab.wait_for(placed, "ready_for_delivery", timeout=30)
    eventually(lambda: lab.lag("payments-service")["lag"].sum() == 0, 20,
               what="payments-service caught up")


def _texts(trace: object) -> list[str]:
    text = getattr(trace, "text", None)
    return [] if text is None else list(text)
