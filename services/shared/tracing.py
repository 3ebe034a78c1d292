"""OpenTelemetry for the services: one trace follows an order across every hop.

HTTP spans come from the FastAPI and httpx instrumentations, database spans
from the asyncpg one. Kafka hops are traced by hand: the outbox relay
publishes long after the request that wrote the message, so the context to
continue is the one stored with the message (its `traceparent`), not the
relay's own. Consumers continue the context found in the record headers.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager

from fastapi import FastAPI
from opentelemetry import context, propagate, trace
from opentelemetry.instrumentation.utils import suppress_instrumentation
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

from services.shared import correlation
from services.shared.settings import LabSettings

logger = logging.getLogger(__name__)

tracer = trace.get_tracer("cqrs-lab")

__all__ = ["suppress_instrumentation"]

CORRELATION = "cqrs.correlation_id"
ORDER = "cqrs.order_id"
EVENT_TYPE = "cqrs.event_type"
RECORDED = "cqrs.recorded_events"


def setup_tracing(service: str, settings: LabSettings) -> None:
    """Exports this process's spans in batches, off the request path."""
    if not settings.tracing:
        return
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
        OTLPSpanExporter,
    )
    from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    endpoint = (settings.otlp_endpoint
                or f"{settings.service_url('traces')}/v1/traces")
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(BatchSpanProcessor(
        OTLPSpanExporter(endpoint=endpoint, timeout=5),
        schedule_delay_millis=200,
    ))
    trace.set_tracer_provider(provider)
    AsyncPGInstrumentor().instrument()  # type: ignore[no-untyped-call]
    HTTPXClientInstrumentor().instrument()
    logger.info("tracing to endpoint=%s", endpoint)


def instrument_app(app: FastAPI) -> None:
    """Gives every request a server span carrying its correlation id."""
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    FastAPIInstrumentor.instrument_app(app, exclude_spans=["receive", "send"])


def annotate(span: Span | None = None, *, order_id: object = None) -> None:
    """Puts the current correlation id, and an order id if given, on a span."""
    span = span or trace.get_current_span()
    correlation_id = correlation.current()
    if correlation_id:
        span.set_attribute(CORRELATION, correlation_id)
    if order_id is not None:
        span.set_attribute(ORDER, str(order_id))


def note_recorded(event_types: Sequence[str]) -> None:
    """Adds event types to the list of events the current span recorded."""
    span = trace.get_current_span()
    if not span.is_recording():
        return
    earlier = tuple(getattr(span, "attributes", {}).get(RECORDED, ()))
    span.set_attribute(RECORDED, [*earlier, *event_types])


def current_traceparent() -> str | None:
    """The W3C traceparent of the current span, to store with a message."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier.get("traceparent")


@contextmanager
def publishing(topic: str, headers: Mapping[str, str]) -> Iterator[dict[str, str]]:
    """A producer span continuing the stored context; yields headers to send."""
    parent = propagate.extract(dict(headers))
    attributes = {
        "messaging.system": "kafka",
        "messaging.operation.type": "publish",
        "messaging.destination.name": topic,
        EVENT_TYPE: headers.get("event_type", ""),
    }
    if headers.get("correlation_id"):
        attributes[CORRELATION] = headers["correlation_id"]
    with tracer.start_as_current_span(f"publish {topic}", context=parent,
                                      kind=SpanKind.PRODUCER,
                                      attributes=attributes):
        outgoing = dict(headers)
        propagate.inject(outgoing)
        yield outgoing


@contextmanager
def consuming(topic: str, partition: int, offset: int, event_type: str,
              headers: Mapping[str, str], order_id: object = None
              ) -> Iterator[Span]:
    """A consumer span that is a child of the producer's, found in the headers."""
    parent = propagate.extract(dict(headers))
    attributes: dict[str, str | int] = {
        "messaging.system": "kafka",
        "messaging.operation.type": "process",
        "messaging.destination.name": topic,
        "messaging.destination.partition.id": str(partition),
        "messaging.kafka.offset": offset,
        EVENT_TYPE: event_type,
    }
    token = context.attach(parent)
    try:
        with tracer.start_as_current_span(f"process {event_type}",
                                          kind=SpanKind.CONSUMER,
                                          attributes=attributes) as span:
            annotate(span, order_id=order_id)
            yield span
    finally:
        context.detach(token)


def mark_failed(span: Span, reason: str) -> None:
    """Shows a span as failed, with the reason."""
    span.set_status(Status(StatusCode.ERROR, reason[:500]))
