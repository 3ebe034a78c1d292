"""One order placed through the gateway is one trace across every service."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from services.shared.settings import LabSettings
from tests.e2e.shop import place, unique, wait_for_status
from tests.helpers import eventually, order_body

SERVICES = {"gateway", "orders", "inventory", "payments"}


@pytest.fixture(scope="module")
def collector(settings: LabSettings) -> httpx.Client:
    """An HTTP client of the trace collector."""
    return httpx.Client(base_url=settings.service_url("traces"), timeout=10.0)


def _traces(collector: httpx.Client, **params: str) -> list[dict[str, Any]]:
    response = collector.get("/api/traces", params=params)
    assert response.status_code == 200, response.text
    return list(response.json()["data"])


def test_an_order_is_one_trace_with_spans_from_all_four_services(
    gateway: httpx.Client, collector: httpx.Client,
) -> None:
    correlation_id = unique("trace-test")
    order_id = place(gateway, order_body(("book-001", 1, "19.99")),
                     correlation_id)
    wait_for_status(gateway, order_id, "ready_for_delivery")

    def complete() -> list[dict[str, Any]] | None:
        traces = _traces(collector, correlationId=correlation_id)
        if len(traces) == 1 and SERVICES <= set(traces[0]["services"]):
            stages = [s["stage"] for s in traces[0]["stages"]]
            return traces if "ready_for_delivery" in stages else None
        return None

    [summary] = eventually(complete, 30, what="the order's trace arriving")
    assert summary["orderId"] == order_id
    spans = collector.get(f"/api/traces/{summary['traceId']}").json()["data"]
    tagged = {s["service"] for s in _spans(spans)
              if s["attributes"].get("cqrs.correlation_id") == correlation_id}
    assert tagged == SERVICES


def test_consumer_spans_are_children_of_the_producer_spans(
    gateway: httpx.Client, collector: httpx.Client,
) -> None:
    correlation_id = unique("trace-test")
    order_id = place(gateway, order_body(("book-001", 1, "19.99")),
                     correlation_id)
    wait_for_status(gateway, order_id, "ready_for_delivery")
    [summary] = eventually(
        lambda: [t for t in _traces(collector, correlationId=correlation_id)
                 if len(t["stages"]) >= 6],
        30, what="the order's trace arriving")

    def complete() -> list[dict[str, Any]] | None:
        # Each service exports in its own batches: wait for every parent.
        spans = _spans(collector.get(f"/api/traces/{summary['traceId']}")
                       .json()["data"])
        ids = {s["spanId"] for s in spans}
        consumers = [s for s in spans if s["name"].startswith("process ")]
        whole = len(consumers) >= 5 and all(
            s["parentSpanId"] in ids for s in consumers)
        return spans if whole else None

    spans = eventually(complete, 30, what="every consumer span's parent")
    by_id = {s["spanId"]: s for s in spans}
    for span in spans:
        if span["name"].startswith("process "):
            parent = by_id[span["parentSpanId"]]
            assert parent["name"].startswith("publish "), parent["name"]


def test_health_checks_are_left_out_unless_asked_for(
    gateway: httpx.Client, collector: httpx.Client,
) -> None:
    correlation_id = unique("health-probe")
    gateway.get("/api/orders/health", headers={"X-Correlation-ID": correlation_id})

    def included() -> list[dict[str, Any]]:
        return _traces(collector, correlationId=correlation_id,
                       includeHealth="true")

    eventually(included, 30, what="the health check's trace arriving")
    assert _traces(collector, correlationId=correlation_id) == []


def _spans(data: Any) -> list[dict[str, Any]]:
    # The one-trace answer is either the span list or an object holding it.
    if isinstance(data, dict):
        return list(data["spans"])
    return list(data)
