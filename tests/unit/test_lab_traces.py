"""Trace tables and figures from fake spans: their data, not their pixels."""

from __future__ import annotations

from typing import Any

import httpx
import pandas as pd
import pytest

from cqrs_lab.errors import TracesUnavailable
from cqrs_lab.traces import (
    TraceClient,
    service_edges,
    service_map_figure,
    spans_frame,
    timeline_figure,
    waterfall_figure,
)

T = "0" * 31 + "1"


def span(span_id: str, parent: str | None, service: str, kind: str, name: str,
         start_ms: int, duration: float, **attrs: Any) -> dict[str, Any]:
    seconds, ms = divmod(start_ms, 1000)
    return {"traceId": T, "spanId": span_id, "parentSpanId": parent,
            "service": service, "kind": kind, "name": name,
            "start": f"2026-01-01T00:00:{seconds:02d}.{ms:03d}Z",
            "durationMs": duration, "status": "ok", "attributes": attrs}


SPANS = [
    span("g1", None, "gateway", "server", "POST /api/orders", 0, 40),
    span("g2", "g1", "gateway", "client", "POST", 2, 35),
    span("o1", "g2", "orders", "server", "POST /orders", 5, 30),
    span("db", "o1", "orders", "client", "INSERT", 6, 1, **{"db.system": "pg"}),
    span("p1", "o1", "orders", "producer", "publish orders-events", 100, 2,
         **{"messaging.destination.name": "orders-events"}),
    span("c1", "p1", "inventory", "consumer", "process OrderPlaced", 110, 20,
         **{"messaging.destination.name": "orders-events",
            "messaging.destination.partition.id": "2",
            "messaging.kafka.offset": 17, "cqrs.event_type": "OrderPlaced",
            "cqrs.order_id": "a"}),
    span("c2", "p1", "payments", "consumer", "process OrderPlaced", 112, 10,
         **{"messaging.destination.name": "orders-events"}),
]


def test_spans_become_a_flat_frame_with_kafka_attributes() -> None:
    frame = spans_frame(SPANS)
    consumer = frame.set_index("span_id").loc["c1"]
    assert consumer["topic"] == "orders-events"
    assert consumer["partition"] == 2 and consumer["offset"] == 17
    assert consumer["event_type"] == "OrderPlaced"
    assert consumer["order_id"] == "a"
    assert frame["start"].is_monotonic_increasing


def test_the_waterfall_has_a_lane_per_service_and_arrows_for_kafka_hops() -> None:
    fig = waterfall_figure(spans_frame(SPANS))
    lanes = {t.name: t for t in fig.data}
    assert set(lanes) == {"gateway", "orders", "inventory", "payments"}
    orders = lanes["orders"]
    # The database span is left out unless asked for.
    assert list(orders.text) == ["POST /orders", "publish orders-events"]
    assert list(orders.base) == [5.0, 100.0]
    assert list(orders.x) == [30.0, 2.0]
    arrows = [(a.ax, a.ay, a.x, a.y) for a in fig.layout.annotations]
    assert sorted(arrows) == [(102.0, "orders", 110.0, "inventory"),
                              (102.0, "orders", 112.0, "payments")]
    with_db = waterfall_figure(spans_frame(SPANS), include_db=True)
    assert "INSERT" in list({t.name: t for t in with_db.data}["orders"].text)


def test_the_service_map_counts_calls_and_averages_latency() -> None:
    edges = service_edges(spans_frame(SPANS))
    found = {(e.source, e.target, e.via): (e.calls, e.mean_ms)
             for e in edges.itertuples()}
    assert found == {("gateway", "orders", "http"): (1, 30.0),
                     ("orders", "inventory", "kafka orders-events"): (1, 20.0),
                     ("orders", "payments", "kafka orders-events"): (1, 10.0)}
    fig = service_map_figure(edges)
    assert set(fig.data[0].text) == {"gateway", "orders", "inventory",
                                     "payments"}
    labels = sorted(a.text for a in fig.layout.annotations)
    assert labels[0] == "http: 1× 30.0 ms"
    assert len(labels) == 3


def test_the_saga_timeline_marks_failures_and_compensations_apart() -> None:
    events = pd.DataFrame({
        "service": ["orders", "payments", "payments", "orders", "inventory"],
        "event_type": ["OrderPlaced", "PaymentApproved", "PaymentDeclined",
                       "OrderCancelled", "StockReleased"],
        "recorded_at": pd.to_datetime([1, 2, 3, 4, 5], unit="s", utc=True)})
    fig = timeline_figure(events)
    traces = {t.name: t for t in fig.data}
    assert list(traces["compensation"].text) == ["OrderCancelled",
                                                 "StockReleased"]
    assert list(traces["failure"].text) == ["PaymentDeclined"]
    assert list(traces["event"].y) == ["orders", "payments"]
    assert len(traces["saga"].y) == 5


def _client(handler: Any) -> TraceClient:
    return TraceClient("http://collector", transport=httpx.MockTransport(handler))


@pytest.mark.parametrize("wrap", [
    lambda items: {"success": True, "count": len(items), "data": items},
    lambda items: items,
])
def test_the_client_accepts_wrapped_or_bare_answers(wrap: Any) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/traces":
            assert request.url.params["orderId"] == "a"
            return httpx.Response(200, json=wrap([{"traceId": T}]))
        body = {"traceId": T, "spans": [s for s in SPANS]}
        return httpx.Response(200, json={"success": True, "data": body})

    spans = _client(handler).spans(order_id="a")
    assert [s["spanId"] for s in spans] == [s["spanId"] for s in SPANS]


def test_a_collector_without_the_api_says_so() -> None:
    client = _client(lambda r: httpx.Response(404, json={"detail": "x"}))
    with pytest.raises(TracesUnavailable, match="does not serve /api/traces"):
        client.spans()
