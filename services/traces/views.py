"""Turns stored spans into what the API shows: stages, records, summaries."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

# Which recorded event moves an order into which stage; failures are marked.
STAGE_OF_EVENT: dict[str, str] = {
    "OrderPlaced": "created",
    "StockReserved": "stock_reserved",
    "OrderStockReserved": "payment_pending",
    "PaymentApproved": "payment_confirmed",
    "PaymentDeclined": "payment_declined",
    "OrderConfirmed": "confirmed",
    "OrderReadyForDelivery": "ready_for_delivery",
    "StockInTransit": "ready_for_delivery",
    "OrderRejected": "rejected",
    "StockReservationRejected": "rejected",
    "OrderCancelled": "cancelled",
    "PaymentRefunded": "refunded",
    "StockReleased": "stock_released",
}
FAILURE_STAGES = frozenset({"payment_declined", "rejected"})

# One row of a trace's `recorded` column: [start ns, service, [event types]].
Recorded = Sequence[Any]


def iso(ns: int) -> str:
    """An epoch-nanosecond instant as ISO 8601 UTC with milliseconds."""
    moment = datetime.fromtimestamp(ns / 1e9, tz=UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def stages(recorded: Iterable[Recorded]) -> list[dict[str, Any]]:
    """The stages an order went through, oldest first, each stage once."""
    seen: set[str] = set()
    result: list[dict[str, Any]] = []
    for start_ns, service, events in sorted(recorded, key=lambda r: r[0]):
        for event in events:
            stage = STAGE_OF_EVENT.get(event)
            if stage is None or stage in seen:
                continue
            seen.add(stage)
            result.append({"stage": stage, "event": event, "service": service,
                           "at": iso(int(start_ns)),
                           "failure": stage in FAILURE_STAGES})
    return result


def trace_status(failed: bool, has_root: bool, end_ns: int,
                 now_ns: int, pending_ns: int) -> str:
    """failed when a span errored, pending while the root has not arrived."""
    if failed:
        return "failed"
    if not has_root and now_ns - end_ns < pending_ns:
        return "pending"
    return "completed"


def summary(row: Mapping[str, Any], status: str,
            order_stages: list[dict[str, Any]]) -> dict[str, Any]:
    """The API's view of one trace."""
    return {
        "traceId": row["trace_id"],
        "correlationId": row["correlation_id"],
        "orderId": row["order_id"],
        "services": list(row["services"]),
        "spanCount": row["span_count"],
        "start": iso(row["start_ns"]),
        "durationMs": round((row["end_ns"] - row["start_ns"]) / 1e6, 3),
        "status": status,
        "stages": order_stages,
    }


def span_view(row: Mapping[str, Any], trace_start_ns: int) -> dict[str, Any]:
    """The API's view of one span inside its trace."""
    return {
        "spanId": row["span_id"],
        "parentSpanId": row["parent_span_id"],
        "name": row["name"],
        "kind": row["kind"],
        "service": row["service"],
        "start": iso(row["start_ns"]),
        "startOffsetMs": round((row["start_ns"] - trace_start_ns) / 1e6, 3),
        "durationMs": round(row["duration_ms"], 3),
        "status": row["status"],
        "statusMessage": row["status_message"],
        "correlationId": row["correlation_id"],
        "orderId": row["order_id"],
        "attributes": row["attributes"],
        "events": row["events"],
        "links": row["links"],
    }


def records(row: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The Request and Response records of a SERVER or CONSUMER span."""
    attrs: Mapping[str, Any] = row["attributes"]
    if row["kind"] == "consumer":
        topic = str(attrs.get("messaging.destination.name") or "")
        event = str(attrs.get("cqrs.event_type")
                    or row["name"].split(" ", 1)[-1])
        details: dict[str, Any] = {"method": "CONSUME",
                                   "path": f"{topic}/{event}"}
    else:
        details = {"method": _method(attrs), "path": _path(attrs)}
    base = {"service": row["service"], "correlationId": row["correlation_id"],
            "orderId": row["order_id"], "traceId": row["trace_id"],
            "spanId": row["span_id"]}
    request = {"id": f"{row['span_id']}-req", "timestamp": iso(row["start_ns"]),
               **base, "action": "Request", "status": "pending",
               "duration": 0, "details": details}
    response_details = dict(details)
    code = _status_code(attrs)
    if code is not None:
        response_details["statusCode"] = code
    response = {"id": f"{row['span_id']}-res", "timestamp": iso(row["end_ns"]),
                **base, "action": "Response",
                "status": "failed" if row["failed"] else "completed",
                "duration": round(row["duration_ms"], 3),
                "details": response_details}
    return [request, response]


def _method(attrs: Mapping[str, Any]) -> str:
    return str(attrs.get("http.request.method") or attrs.get("http.method") or "")


def _path(attrs: Mapping[str, Any]) -> str:
    for name in ("url.path", "http.target"):
        value = attrs.get(name)
        if isinstance(value, str) and value:
            return value.split("?", 1)[0]
    route = attrs.get("http.route")
    return route if isinstance(route, str) else ""


def _status_code(attrs: Mapping[str, Any]) -> int | None:
    for name in ("http.response.status_code", "http.status_code"):
        value = attrs.get(name)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return None
