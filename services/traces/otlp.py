"""Decodes OTLP trace exports (protobuf or JSON) into plain span records."""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from google.protobuf import json_format
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span as ProtoSpan
from opentelemetry.proto.trace.v1.trace_pb2 import Status

CORRELATION_ATTR = "cqrs.correlation_id"
ORDER_ATTR = "cqrs.order_id"
RECORDED_ATTR = "cqrs.recorded_events"
HEALTH_PREFIX = "gen-"

_KINDS = {
    ProtoSpan.SPAN_KIND_INTERNAL: "internal",
    ProtoSpan.SPAN_KIND_SERVER: "server",
    ProtoSpan.SPAN_KIND_CLIENT: "client",
    ProtoSpan.SPAN_KIND_PRODUCER: "producer",
    ProtoSpan.SPAN_KIND_CONSUMER: "consumer",
}
_STATUSES = {
    Status.STATUS_CODE_OK: "ok",
    Status.STATUS_CODE_ERROR: "error",
}
_HEX_ID_FIELDS = ("traceId", "spanId", "parentSpanId")
_HEX = re.compile(r"^[0-9a-fA-F]*$")


class MalformedExport(ValueError):
    """The body is not an OTLP trace export this collector can read."""


@dataclass
class SpanRecord:
    """One span as the collector stores it."""

    trace_id: str
    span_id: str
    parent_span_id: str | None
    name: str
    kind: str
    service: str
    start_ns: int
    end_ns: int
    status: str
    status_message: str
    attributes: dict[str, Any] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)
    links: list[dict[str, Any]] = field(default_factory=list)
    resource: dict[str, Any] = field(default_factory=dict)

    @property
    def duration_ms(self) -> float:
        """How long the span took, in milliseconds (never negative)."""
        return max(self.end_ns - self.start_ns, 0) / 1_000_000

    @property
    def correlation_id(self) -> str | None:
        """The lab's correlation id attribute, when the span has one."""
        return _text(self.attributes.get(CORRELATION_ATTR))

    @property
    def order_id(self) -> str | None:
        """The lab's order id attribute, when the span has one."""
        return _text(self.attributes.get(ORDER_ATTR))

    @property
    def recorded_events(self) -> list[str]:
        """Event types the span's work recorded in an event store."""
        value = self.attributes.get(RECORDED_ATTR)
        if isinstance(value, str):
            return [value] if value else []
        if isinstance(value, list):
            return [str(v) for v in value if isinstance(v, str) and v]
        return []

    @property
    def http_status(self) -> int | None:
        """The HTTP status code, under the stable or the older name."""
        for name in ("http.response.status_code", "http.status_code"):
            value = self.attributes.get(name)
            if isinstance(value, int) and not isinstance(value, bool):
                return value
            if isinstance(value, str) and value.isdigit():
                return int(value)
        return None

    @property
    def method(self) -> str:
        """The HTTP method, under the stable or the older name."""
        value = (self.attributes.get("http.request.method")
                 or self.attributes.get("http.method"))
        return str(value) if value else ""

    @property
    def path(self) -> str:
        """The request path without its query, from whichever attribute exists."""
        attrs = self.attributes
        for name in ("url.path", "http.target"):
            value = attrs.get(name)
            if isinstance(value, str) and value:
                return value.split("?", 1)[0]
        for name in ("url.full", "http.url"):
            value = attrs.get(name)
            if isinstance(value, str) and value:
                return urlsplit(value).path
        return ""

    @property
    def route(self) -> str:
        """The matched route template, when the server span has one."""
        value = self.attributes.get("http.route")
        return value if isinstance(value, str) else ""

    @property
    def topic(self) -> str:
        """The Kafka topic of a messaging span."""
        value = self.attributes.get("messaging.destination.name")
        return str(value) if value else ""

    @property
    def event_type(self) -> str:
        """The lab's event type attribute, or the span name's last word."""
        value = self.attributes.get("cqrs.event_type")
        if value:
            return str(value)
        return self.name.split(" ", 1)[-1]

    @property
    def is_health(self) -> bool:
        """True for health-check traffic, which views leave out by default."""
        correlation = self.correlation_id or ""
        return (self.route.endswith("/health") or self.path.endswith("/health")
                or correlation.startswith(HEALTH_PREFIX))

    @property
    def request_failed(self) -> bool:
        """True when the span errored or answered an HTTP error status."""
        status = self.http_status
        return self.status == "error" or (status is not None and status >= 400)


def decode(body: bytes, content_type: str) -> list[SpanRecord]:
    """The spans of an OTLP export body; raises MalformedExport when unreadable."""
    kind = content_type.split(";", 1)[0].strip().lower()
    if kind == "application/json":
        request = _parse_json(body)
    else:
        request = ExportTraceServiceRequest()
        try:
            request.ParseFromString(body)
        except (DecodeError, RuntimeError, ValueError) as error:
            raise MalformedExport(f"not an OTLP protobuf export: {error}") from None
    return list(_spans(request))


def _parse_json(body: bytes) -> ExportTraceServiceRequest:
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as error:
        raise MalformedExport(f"not valid JSON: {error}") from None
    if not isinstance(data, dict):
        raise MalformedExport("an OTLP JSON export is an object")
    # OTLP/JSON spells ids in hex, where protobuf's JSON mapping wants base64.
    _hex_ids_to_base64(data)
    request = ExportTraceServiceRequest()
    try:
        json_format.ParseDict(data, request, ignore_unknown_fields=True)
    except (json_format.ParseError, ValueError, TypeError) as error:
        raise MalformedExport(f"not an OTLP JSON export: {error}") from None
    return request


def _hex_ids_to_base64(node: Any) -> None:
    if isinstance(node, list):
        for item in node:
            _hex_ids_to_base64(item)
    elif isinstance(node, dict):
        for key, value in node.items():
            if key in _HEX_ID_FIELDS and isinstance(value, str):
                node[key] = _hex_to_base64(value)
            else:
                _hex_ids_to_base64(value)


def _hex_to_base64(value: str) -> str:
    if len(value) % 2 or not _HEX.match(value):
        raise MalformedExport(f"span ids are hex strings, got {value[:40]!r}")
    return base64.b64encode(bytes.fromhex(value)).decode()


def _spans(request: ExportTraceServiceRequest) -> Any:
    for resource_spans in request.resource_spans:
        resource = _attributes(resource_spans.resource.attributes)
        service = str(resource.get("service.name") or "unknown")[:64]
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                yield _span(span, service, resource)


def _span(span: ProtoSpan, service: str,
          resource: dict[str, Any]) -> SpanRecord:
    if len(span.trace_id) != 16 or len(span.span_id) != 8:
        raise MalformedExport("a span needs a 16-byte trace id and 8-byte span id")
    return SpanRecord(
        trace_id=span.trace_id.hex(),
        span_id=span.span_id.hex(),
        parent_span_id=span.parent_span_id.hex() or None,
        name=_clean(span.name),
        kind=_KINDS.get(span.kind, "unspecified"),
        service=service,
        start_ns=span.start_time_unix_nano,
        end_ns=max(span.end_time_unix_nano, span.start_time_unix_nano),
        status=_STATUSES.get(span.status.code, "unset"),
        status_message=_clean(span.status.message),
        attributes=_attributes(span.attributes),
        events=[_event(e) for e in span.events],
        links=[_link(link) for link in span.links],
        resource=resource,
    )


def _event(event: ProtoSpan.Event) -> dict[str, Any]:
    return {"name": _clean(event.name), "timeUnixNano": event.time_unix_nano,
            "attributes": _attributes(event.attributes)}


def _link(link: ProtoSpan.Link) -> dict[str, Any]:
    return {"traceId": link.trace_id.hex(), "spanId": link.span_id.hex(),
            "attributes": _attributes(link.attributes)}


def _attributes(pairs: Any) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for pair in pairs:
        assert isinstance(pair, KeyValue)
        result[_clean(pair.key)] = _value(pair.value)
    return result


def _value(value: AnyValue) -> Any:
    which = value.WhichOneof("value")
    if which == "array_value":
        return [_value(v) for v in value.array_value.values]
    if which == "kvlist_value":
        return _attributes(value.kvlist_value.values)
    if which == "bytes_value":
        return value.bytes_value.hex()
    if which is None:
        return None
    if which == "string_value":
        return _clean(value.string_value)
    return getattr(value, which)


def _clean(text: str) -> str:
    # PostgreSQL text and jsonb cannot hold NUL characters.
    return text.replace("\x00", "")


def _text(value: Any) -> str | None:
    if value is None or value == "":
        return None
    return str(value)[:256]
