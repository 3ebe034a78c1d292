"""The trace collector on the running stack: OTLP in, traces and records out.

Every test sends synthetic spans with its own trace and correlation ids,
so it only ever looks at what it sent itself.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from google.protobuf import json_format

from services.shared.settings import LabSettings
from services.traces import synthetic
from services.traces.synthetic import SagaBuilder
from tests.helpers import eventually

pytestmark = pytest.mark.stack

PROTOBUF = {"Content-Type": "application/x-protobuf"}
FULL_SAGA = ["created", "stock_reserved", "payment_pending",
             "payment_confirmed", "confirmed", "ready_for_delivery"]


@pytest.fixture(scope="module")
def collector(settings: LabSettings) -> Iterator[httpx.Client]:
    """A client of the live collector; fails clearly when it is not up."""
    url = settings.service_url("traces")
    with httpx.Client(base_url=url, timeout=10.0) as client:
        try:
            client.get("/health").raise_for_status()
        except httpx.HTTPError as error:
            pytest.fail(f"the trace collector is not running at {url}: {error}")
        yield client


def ids() -> tuple[str, str]:
    """A fresh (order id, correlation id) pair."""
    suffix = uuid.uuid4().hex[:12]
    return f"order-{suffix}", f"it-corr-{suffix}"


def send(collector: httpx.Client, spans: list[synthetic.FakeSpan]) -> None:
    """Exports the spans as OTLP protobuf and checks the collector's answer."""
    body = synthetic.export(spans).SerializeToString()
    response = collector.post("/v1/traces", content=body, headers=PROTOBUF)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/x-protobuf"


def traces(collector: httpx.Client, **params: Any) -> list[dict[str, Any]]:
    """The data of `GET /api/traces` with the given query."""
    response = collector.get("/api/traces", params=params)
    assert response.status_code == 200, response.text
    return list(response.json()["data"])


def records(collector: httpx.Client, **params: Any) -> list[dict[str, Any]]:
    """The data of `GET /api/records` with the given query."""
    response = collector.get("/api/records", params=params)
    assert response.status_code == 200, response.text
    return list(response.json()["data"])


@pytest.fixture(scope="module")
def happy(collector: httpx.Client) -> SagaBuilder:
    """One order's full saga, sent once for the tests that read it."""
    saga = synthetic.saga(*ids())
    send(collector, saga.spans)
    return saga


def test_health_reports_the_database(collector: httpx.Client) -> None:
    assert collector.get("/health").json() == {"status": "ok",
                                               "service": "traces"}


def test_a_saga_is_one_trace_with_its_stages(collector: httpx.Client,
                                             happy: SagaBuilder) -> None:
    [trace] = traces(collector, correlationId=happy.correlation_id)
    assert trace["traceId"] == happy.trace_id
    assert trace["orderId"] == happy.order_id
    assert sorted(trace["services"]) == ["gateway", "inventory", "orders",
                                         "payments"]
    assert trace["spanCount"] == len(happy.spans)
    assert trace["status"] == "completed"
    assert trace["durationMs"] > 0
    assert [s["stage"] for s in trace["stages"]] == FULL_SAGA
    assert not any(s["failure"] for s in trace["stages"])


def test_traces_filter_by_order_service_and_status(collector: httpx.Client,
                                                   happy: SagaBuilder) -> None:
    by_order = traces(collector, orderId=happy.order_id)
    assert [t["traceId"] for t in by_order] == [happy.trace_id]
    mine = {"correlationId": happy.correlation_id}
    assert len(traces(collector, service="payments", **mine)) == 1
    assert traces(collector, service="no-such-service", **mine) == []
    assert len(traces(collector, status="completed", **mine)) == 1
    assert traces(collector, status="failed", **mine) == []


def test_traces_come_newest_first(collector: httpx.Client) -> None:
    correlation = ids()[1]
    older = synthetic.saga(ids()[0], correlation,
                           start_ns=time.time_ns() - 5_000_000_000)
    newer = synthetic.saga(ids()[0], correlation)
    send(collector, older.spans + newer.spans)
    found = traces(collector, correlationId=correlation)
    assert [t["traceId"] for t in found] == [newer.trace_id, older.trace_id]
    assert len(traces(collector, correlationId=correlation, limit=1)) == 1


def test_one_trace_lists_its_spans_by_start(collector: httpx.Client,
                                            happy: SagaBuilder) -> None:
    response = collector.get(f"/api/traces/{happy.trace_id}")
    assert response.status_code == 200
    spans = response.json()["data"]["spans"]
    assert len(spans) == len(happy.spans)
    offsets = [s["startOffsetMs"] for s in spans]
    assert offsets == sorted(offsets) and offsets[0] == 0
    sent = {s.span_id: s for s in happy.spans}
    for span in spans:
        origin = sent[span["spanId"]]
        expected_parent = origin.parent.span_id if origin.parent else None
        assert span["parentSpanId"] == expected_parent
        assert span["service"] == origin.service
        assert span["kind"] == origin.kind
        assert span["durationMs"] == pytest.approx(origin.duration_ms)
        # Ids are filled from the trace for spans that did not carry them.
        assert span["correlationId"] == happy.correlation_id


def test_unknown_and_malformed_trace_ids(collector: httpx.Client) -> None:
    missing = collector.get(f"/api/traces/{synthetic.new_trace_id()}")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
    assert collector.get("/api/traces/not-a-trace-id").status_code == 422


def test_records_pair_requests_and_responses(collector: httpx.Client,
                                             happy: SagaBuilder) -> None:
    found = records(collector, correlationId=happy.correlation_id, limit=500)
    handled = [s for s in happy.spans if s.kind in ("server", "consumer")]
    assert len(found) == 2 * len(handled)
    by_id = {r["id"]: r for r in found}
    for span in handled:
        request = by_id[f"{span.span_id}-req"]
        response = by_id[f"{span.span_id}-res"]
        assert request["action"] == "Request"
        assert request["status"] == "pending" and request["duration"] == 0
        assert response["action"] == "Response"
        assert response["status"] == "completed"
        assert response["duration"] == pytest.approx(span.duration_ms)
        for record in (request, response):
            assert record["service"] == span.service
            assert record["correlationId"] == happy.correlation_id
            assert record["orderId"] == happy.order_id
        assert request["timestamp"] <= response["timestamp"]
    place = by_id[f"{happy.spans[0].span_id}-req"]
    assert place["details"] == {"method": "POST", "path": "/api/orders"}
    consume = next(r for r in found if r["details"]["method"] == "CONSUME")
    assert consume["details"]["path"].count("/") == 1
    stamps = [r["timestamp"] for r in found]
    assert stamps == sorted(stamps, reverse=True)


def test_records_filter_by_service_and_status(collector: httpx.Client,
                                              happy: SagaBuilder) -> None:
    mine = {"correlationId": happy.correlation_id, "limit": 500}
    payments = records(collector, service="payments", **mine)
    assert payments and {r["service"] for r in payments} == {"payments"}
    pending = records(collector, status="pending", **mine)
    assert pending and {r["action"] for r in pending} == {"Request"}
    assert records(collector, status="failed", **mine) == []


def test_health_checks_are_hidden_unless_asked_for(
        collector: httpx.Client) -> None:
    correlation = ids()[1]
    check = synthetic.health_check(correlation)
    send(collector, check.spans)
    assert traces(collector, correlationId=correlation) == []
    assert records(collector, correlationId=correlation) == []
    shown = traces(collector, correlationId=correlation, includeHealth="true")
    assert [t["traceId"] for t in shown] == [check.trace_id]
    assert len(records(collector, correlationId=correlation,
                       includeHealth="true")) == 2


def test_generator_traffic_counts_as_health(collector: httpx.Client) -> None:
    order_id, _ = ids()
    correlation = f"gen-{uuid.uuid4().hex[:12]}"
    send(collector, synthetic.saga(order_id, correlation).spans)
    assert traces(collector, orderId=order_id) == []
    assert len(traces(collector, orderId=order_id, includeHealth=True)) == 1


def test_a_declined_payment_is_a_failure_stage(collector: httpx.Client) -> None:
    order_id, correlation = ids()
    send(collector, synthetic.saga(order_id, correlation, declined=True).spans)
    [trace] = traces(collector, orderId=order_id)
    stages = {s["stage"]: s for s in trace["stages"]}
    assert list(stages) == ["created", "stock_reserved", "payment_pending",
                            "payment_declined", "rejected", "stock_released"]
    assert stages["payment_declined"]["failure"] is True
    assert stages["rejected"]["failure"] is True
    assert stages["created"]["failure"] is False
    assert "payment_confirmed" not in stages
    answer = collector.get(f"/api/orders/{order_id}/stages")
    assert answer.status_code == 200
    assert [s["stage"] for s in answer.json()["data"]] == list(stages)


def test_stages_gather_every_trace_of_an_order(collector: httpx.Client) -> None:
    order_id, correlation = ids()
    placed = SagaBuilder(order_id, correlation)
    placed.http("orders", "POST", "/orders", "/orders", 201,
                recorded=["OrderPlaced"])
    later = SagaBuilder(order_id, f"{correlation}-cancel")
    later.http("orders", "PUT", "/orders/{order_id}/cancel",
               f"/orders/{order_id}/cancel", 200, recorded=["OrderCancelled"])
    send(collector, placed.spans + later.spans)
    answer = collector.get(f"/api/orders/{order_id}/stages").json()["data"]
    assert [s["stage"] for s in answer] == ["created", "cancelled"]
    [trace] = traces(collector, correlationId=correlation)
    assert [s["stage"] for s in trace["stages"]] == ["created", "cancelled"]
    missing = collector.get(f"/api/orders/{ids()[0]}/stages")
    assert missing.status_code == 404


def test_an_errored_span_fails_its_trace_and_record(
        collector: httpx.Client) -> None:
    order_id, correlation = ids()
    saga = SagaBuilder(order_id, correlation)
    broken = saga.http("gateway", "POST", "/api/orders", "/api/orders", 503)
    send(collector, saga.spans)
    [trace] = traces(collector, correlationId=correlation, status="failed")
    assert trace["status"] == "failed"
    failed = records(collector, correlationId=correlation, status="failed")
    assert [r["id"] for r in failed] == [f"{broken.span_id}-res"]
    assert failed[0]["details"]["statusCode"] == 503


def test_exports_are_idempotent(collector: httpx.Client) -> None:
    saga = synthetic.saga(*ids())
    send(collector, saga.spans)
    send(collector, saga.spans)
    [trace] = traces(collector, correlationId=saga.correlation_id)
    assert trace["spanCount"] == len(saga.spans)


def test_spans_of_one_trace_may_arrive_in_pieces(collector: httpx.Client) -> None:
    saga = synthetic.saga(*ids())
    by_service: dict[str, list[synthetic.FakeSpan]] = {}
    for span in saga.spans:
        by_service.setdefault(span.service, []).append(span)
    for spans in by_service.values():
        send(collector, spans)
    [trace] = traces(collector, correlationId=saga.correlation_id)
    assert trace["spanCount"] == len(saga.spans)
    assert [s["stage"] for s in trace["stages"]] == FULL_SAGA


def test_otlp_json_is_accepted(collector: httpx.Client) -> None:
    saga = synthetic.saga(*ids())
    data = json_format.MessageToDict(synthetic.export(saga.spans))
    _base64_ids_to_hex(data)
    response = collector.post("/v1/traces", content=json.dumps(data),
                              headers={"Content-Type": "application/json"})
    assert response.status_code == 200, response.text
    assert response.json() == {}
    [trace] = traces(collector, correlationId=saga.correlation_id)
    assert trace["traceId"] == saga.trace_id


def _base64_ids_to_hex(node: Any) -> None:
    # OTLP/JSON writes ids in hex, where protobuf's JSON mapping uses base64.
    if isinstance(node, list):
        for item in node:
            _base64_ids_to_hex(item)
    elif isinstance(node, dict):
        for key, value in node.items():
            if key in ("traceId", "spanId", "parentSpanId"):
                node[key] = base64.b64decode(value).hex()
            else:
                _base64_ids_to_hex(value)


@pytest.mark.parametrize(("body", "content_type"), [
    (b"\xff\xff\xff not protobuf", "application/x-protobuf"),
    (b"{not json", "application/json"),
    (b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "zz"}]}]}]}',
     "application/json"),
])
def test_malformed_exports_are_400(collector: httpx.Client, body: bytes,
                                   content_type: str) -> None:
    response = collector.post("/v1/traces", content=body,
                              headers={"Content-Type": content_type})
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "malformed_export"


def test_other_media_types_are_415(collector: httpx.Client) -> None:
    response = collector.post("/v1/traces", content=b"x",
                              headers={"Content-Type": "text/plain"})
    assert response.status_code == 415
    assert response.json()["success"] is False


@pytest.mark.parametrize("query", [
    "limit=0", "limit=abc", "status=lost", "since=yesterday",
    "includeHealth=perhaps",
])
def test_bad_query_parameters_are_422(collector: httpx.Client,
                                      query: str) -> None:
    response = collector.get(f"/api/traces?{query}")
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "validation_error"


def test_unknown_paths_are_json_404(collector: httpx.Client) -> None:
    response = collector.get("/api/nothing-here")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_cors_admits_only_the_dashboard(collector: httpx.Client,
                                        settings: LabSettings) -> None:
    dashboard = f"http://127.0.0.1:{settings.dashboard_port}"
    allowed = collector.get("/api/traces?limit=1", headers={"Origin": dashboard})
    assert allowed.headers["access-control-allow-origin"] == dashboard
    assert "access-control-allow-credentials" not in allowed.headers
    other = collector.get("/api/traces?limit=1",
                          headers={"Origin": "http://evil.example"})
    assert "access-control-allow-origin" not in other.headers


def test_the_stream_pushes_new_records(collector: httpx.Client,
                                       settings: LabSettings) -> None:
    order_id, correlation = ids()
    saga = SagaBuilder(order_id, correlation)
    span = saga.http("orders", "POST", "/orders", "/orders", 201,
                     recorded=["OrderPlaced"])
    url = settings.service_url("traces") + "/api/stream"
    timeout = httpx.Timeout(10.0, read=20.0)
    with httpx.Client(timeout=timeout) as client, \
            client.stream("GET", url) as stream:
        assert stream.status_code == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        events = _events(stream.iter_lines(), deadline=time.monotonic() + 20)
        # The first comment means the subscription is in place.
        assert next(events) == ("comment", " connected")
        send(collector, saga.spans)
        # An export's records come first, then its traces' new summaries.
        seen = _until(events, lambda kind, data: kind == "trace"
                      and data["traceId"] == saga.trace_id)
    mine = [d for k, d in seen if k == "record"
            and d["traceId"] == saga.trace_id]
    assert [r["id"] for r in mine] == [f"{span.span_id}-req",
                                       f"{span.span_id}-res"]
    assert mine[1]["correlationId"] == correlation
    trace = next(d for k, d in seen if k == "trace"
                 and d["traceId"] == saga.trace_id)
    assert [s["stage"] for s in trace["stages"]] == ["created"]


def test_the_stream_leaves_out_health_checks(collector: httpx.Client,
                                             settings: LabSettings) -> None:
    check = synthetic.health_check(ids()[1])
    marker = synthetic.saga(*ids())
    url = settings.service_url("traces") + "/api/stream"
    with httpx.Client(timeout=httpx.Timeout(10.0, read=20.0)) as client, \
            client.stream("GET", url) as stream:
        events = _events(stream.iter_lines(), deadline=time.monotonic() + 20)
        assert next(events)[0] == "comment"
        send(collector, check.spans)
        # Exports are broadcast in order: once the marker shows, the check
        # would have shown before it.
        send(collector, marker.spans)
        seen = _until(events, lambda kind, data: kind == "trace"
                      and data["traceId"] == marker.trace_id)
    assert all(d.get("traceId") != check.trace_id for _, d in seen
               if isinstance(d, dict))


def _events(lines: Iterator[str], deadline: float) -> Iterator[tuple[str, Any]]:
    """(event name, data) pairs and ("comment", text) from an SSE stream."""
    name = "message"
    for line in lines:
        if time.monotonic() > deadline:
            raise AssertionError("the stream did not deliver in time")
        if line.startswith(":"):
            yield "comment", line[1:]
        elif line.startswith("event:"):
            name = line[6:].strip()
        elif line.startswith("data:"):
            yield name, json.loads(line[5:])
            name = "message"


def _until(events: Iterator[tuple[str, Any]],
           done: Any) -> list[tuple[str, Any]]:
    seen = []
    for kind, data in events:
        seen.append((kind, data))
        if kind != "comment" and done(kind, data):
            return seen
    raise AssertionError(f"the stream ended early after {seen!r}")


@pytest.mark.parametrize("compression", ["none", "gzip"])
def test_the_sdk_exporter_is_understood(collector: httpx.Client,
                                        settings: LabSettings,
                                        compression: str) -> None:
    from opentelemetry.exporter.otlp.proto.http import Compression
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
        OTLPSpanExporter,
    )
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.trace import SpanKind, Status, StatusCode

    order_id, correlation = ids()
    exporter = OTLPSpanExporter(
        endpoint=settings.service_url("traces") + "/v1/traces",
        compression=Compression(compression))
    provider = TracerProvider(resource=Resource.create({"service.name":
                                                        "payments"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("tests")
    with tracer.start_as_current_span(
            "process OrderStockReserved", kind=SpanKind.CONSUMER,
            attributes={"cqrs.correlation_id": correlation,
                        "cqrs.order_id": order_id,
                        "messaging.destination.name": "orders-events",
                        "cqrs.event_type": "OrderStockReserved",
                        "cqrs.recorded_events": ["PaymentDeclined"]}) as span:
        span.set_status(Status(StatusCode.ERROR, "card declined"))
    provider.shutdown()
    [trace] = eventually(lambda: traces(collector, orderId=order_id),
                         timeout=10, what="the SDK's span")
    assert trace["services"] == ["payments"]
    assert trace["status"] == "failed"
    assert trace["stages"][0]["stage"] == "payment_declined"
    [response] = records(collector, orderId=order_id, status="failed")
    assert response["details"] == {"method": "CONSUME",
                                   "path": "orders-events/OrderStockReserved"}
