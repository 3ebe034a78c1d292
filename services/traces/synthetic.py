"""Synthetic OTLP spans shaped like the lab's: for tests and for demos offline.

`saga` builds one order's trace across the four services the way the
instrumented services report it; `export` encodes spans as an OTLP request.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import (
    ResourceSpans,
    ScopeSpans,
    Span,
    Status,
)

KINDS = {"internal": Span.SPAN_KIND_INTERNAL, "server": Span.SPAN_KIND_SERVER,
         "client": Span.SPAN_KIND_CLIENT, "producer": Span.SPAN_KIND_PRODUCER,
         "consumer": Span.SPAN_KIND_CONSUMER}
MS = 1_000_000


def new_trace_id() -> str:
    """A random 32-hex-digit trace id."""
    return os.urandom(16).hex()


def new_span_id() -> str:
    """A random 16-hex-digit span id."""
    return os.urandom(8).hex()


@dataclass
class FakeSpan:
    """One span to export, with plain Python attribute values."""

    service: str
    name: str
    kind: str
    trace_id: str
    start_ns: int
    duration_ms: float
    parent: FakeSpan | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    error: bool = False
    span_id: str = field(default_factory=new_span_id)

    @property
    def end_ns(self) -> int:
        """When the span ended."""
        return self.start_ns + int(self.duration_ms * MS)


def export(spans: Iterable[FakeSpan]) -> ExportTraceServiceRequest:
    """An OTLP export request holding the spans, one resource per service."""
    by_service: dict[str, list[FakeSpan]] = {}
    for span in spans:
        by_service.setdefault(span.service, []).append(span)
    request = ExportTraceServiceRequest()
    for service, group in by_service.items():
        resource = Resource(attributes=_pairs({"service.name": service}))
        scope = ScopeSpans(spans=[_proto(s) for s in group])
        request.resource_spans.append(
            ResourceSpans(resource=resource, scope_spans=[scope]))
    return request


def _proto(span: FakeSpan) -> Span:
    code = Status.STATUS_CODE_ERROR if span.error else Status.STATUS_CODE_UNSET
    return Span(
        trace_id=bytes.fromhex(span.trace_id),
        span_id=bytes.fromhex(span.span_id),
        parent_span_id=bytes.fromhex(span.parent.span_id) if span.parent else b"",
        name=span.name, kind=KINDS[span.kind],
        start_time_unix_nano=span.start_ns, end_time_unix_nano=span.end_ns,
        attributes=_pairs(span.attributes),
        status=Status(code=code, message="failed" if span.error else ""),
    )


def _pairs(values: dict[str, Any]) -> list[KeyValue]:
    return [KeyValue(key=k, value=_any(v)) for k, v in values.items()]


def _any(value: Any) -> AnyValue:
    if isinstance(value, bool):
        return AnyValue(bool_value=value)
    if isinstance(value, int):
        return AnyValue(int_value=value)
    if isinstance(value, float):
        return AnyValue(double_value=value)
    if isinstance(value, (list, tuple)):
        array = AnyValue()
        array.array_value.values.extend(_any(v) for v in value)
        return array
    return AnyValue(string_value=str(value))


class SagaBuilder:
    """Builds one order's trace step by step, advancing a fake clock."""

    def __init__(self, order_id: str, correlation_id: str,
                 start_ns: int | None = None) -> None:
        self.order_id = order_id
        self.correlation_id = correlation_id
        self.trace_id = new_trace_id()
        self.clock = start_ns or time.time_ns()
        self.spans: list[FakeSpan] = []

    def add(self, service: str, name: str, kind: str, duration_ms: float,
            parent: FakeSpan | None = None, **attributes: Any) -> FakeSpan:
        """Adds a span that starts 1 ms after the previous one."""
        self.clock += MS
        ids = {"cqrs.correlation_id": self.correlation_id,
               "cqrs.order_id": self.order_id}
        span = FakeSpan(service, name, kind, self.trace_id, self.clock,
                        duration_ms, parent, {**ids, **attributes})
        self.spans.append(span)
        return span

    def http(self, service: str, method: str, route: str, path: str,
             status: int, parent: FakeSpan | None = None,
             recorded: Sequence[str] = ()) -> FakeSpan:
        """A FastAPI SERVER span, with the older attribute names it emits."""
        attributes: dict[str, Any] = {
            "http.method": method, "http.route": route, "http.target": path,
            "http.status_code": status}
        if recorded:
            attributes["cqrs.recorded_events"] = list(recorded)
        span = self.add(service, f"{method} {route}", "server", 12.0, parent,
                        **attributes)
        span.error = status >= 500
        self.add(service, "INSERT cqrs_lab", "client", 2.0, span,
                 **{"db.system": "postgresql"})
        return span

    def hop(self, producer_service: str, topic: str, event: str,
            consumer_service: str, parent: FakeSpan,
            recorded: Sequence[str]) -> FakeSpan:
        """A Kafka publish and the consumer span that handles it."""
        publish = self.add(producer_service, f"publish {topic}", "producer",
                           1.5, parent, **{
                               "messaging.system": "kafka",
                               "messaging.destination.name": topic,
                               "messaging.kafka.message.key": self.order_id,
                               "cqrs.event_type": event})
        attributes: dict[str, Any] = {
            "messaging.system": "kafka", "messaging.destination.name": topic,
            "messaging.destination.partition.id": "0",
            "messaging.kafka.offset": 7, "cqrs.event_type": event}
        if recorded:
            attributes["cqrs.recorded_events"] = list(recorded)
        self.clock += 5 * MS
        consume = self.add(consumer_service, f"process {event}", "consumer",
                           8.0, publish, **attributes)
        self.add(consumer_service, "SELECT cqrs_lab", "client", 1.0, consume,
                 **{"db.system": "postgresql"})
        return consume


def saga(order_id: str, correlation_id: str, declined: bool = False,
         start_ns: int | None = None) -> SagaBuilder:
    """One order placed through the gateway, to delivery or to a decline."""
    b = SagaBuilder(order_id, correlation_id, start_ns)
    root = b.http("gateway", "POST", "/api/orders", "/api/orders", 201)
    client = b.add("gateway", "POST", "client", 20.0, root, **{
        "http.method": "POST", "http.url": "http://127.0.0.1:3001/orders",
        "http.status_code": 201})
    placed = b.http("orders", "POST", "/orders", "/orders", 201, client,
                    ["OrderPlaced"])
    reserved = b.hop("orders", "orders-events", "OrderPlaced", "inventory",
                     placed, ["StockReserved"])
    pending = b.hop("inventory", "inventory-events", "StockReserved",
                    "orders", reserved, ["OrderStockReserved"])
    outcome = ["PaymentDeclined"] if declined else ["PaymentApproved"]
    paid = b.hop("orders", "orders-events", "OrderStockReserved", "payments",
                 pending, outcome)
    if declined:
        rejected = b.hop("payments", "payments-events", "PaymentDeclined",
                         "orders", paid, ["OrderRejected"])
        b.hop("orders", "orders-events", "OrderRejected", "inventory",
              rejected, ["StockReleased"])
        return b
    confirmed = b.hop("payments", "payments-events", "PaymentApproved",
                      "orders", paid, ["OrderPaid", "OrderConfirmed"])
    transit = b.hop("orders", "orders-events", "OrderConfirmed", "inventory",
                    confirmed, ["StockInTransit"])
    b.hop("inventory", "inventory-events", "StockInTransit", "orders",
          transit, ["OrderReadyForDelivery"])
    return b


def health_check(correlation_id: str) -> SagaBuilder:
    """A gateway health check, the traffic views hide by default."""
    b = SagaBuilder("", correlation_id)
    b.spans.clear()
    root = b.add("gateway", "GET /health", "server", 1.0, None, **{
        "http.method": "GET", "http.route": "/health", "http.target": "/health",
        "http.status_code": 200, "cqrs.correlation_id": correlation_id})
    root.attributes.pop("cqrs.order_id", None)
    return b
