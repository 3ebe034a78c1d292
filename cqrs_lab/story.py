"""One order's whole story in one table: commands, events, outbox, Kafka, spans, rows.

Each source becomes rows with a `kind` and a `time`, so sorting by time
reads as what happened, in order, across the services.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, cast

import pandas as pd

STORY_COLUMNS = ["time", "kind", "service", "name", "correlation_id",
                 "stream_id", "version", "position", "topic", "partition",
                 "offset", "published_at", "trace_id", "span_id",
                 "duration_ms", "detail"]
KINDS = ("command", "event", "outbox", "kafka", "span", "read_model")
# Events written straight by an HTTP command, and the command that wrote them.
COMMAND_OF = {"OrderPlaced": ("PlaceOrder", "POST /api/orders"),
              "OrderConfirmed": ("ConfirmOrder", "PUT /api/orders/{id}/confirm"),
              "OrderCancelled": ("CancelOrder", "PUT /api/orders/{id}/cancel")}


def command_rows(events: pd.DataFrame) -> list[dict[str, Any]]:
    """Commands, inferred from order events that no message caused."""
    rows = []
    for e in events.itertuples():
        if e.service != "orders" or e.event_type not in COMMAND_OF:
            continue
        if isinstance(e.causation_id, str) and e.causation_id:
            continue  # written in reaction to a message, not a request
        # A key of COMMAND_OF, so text; pandas types row fields as any scalar.
        name, route = COMMAND_OF[cast(str, e.event_type)]
        rows.append({"time": e.recorded_at, "kind": "command", "service": "orders",
                     "name": name, "correlation_id": e.correlation_id,
                     "detail": route})
    return rows


def event_rows(events: pd.DataFrame) -> list[dict[str, Any]]:
    """Event-store rows: where each event sits in which service's store."""
    return [{"time": e.recorded_at, "kind": "event", "service": e.service,
             "name": e.event_type, "correlation_id": e.correlation_id,
             "stream_id": e.stream_id, "version": e.version,
             "position": e.position, "detail": e.data}
            for e in events.itertuples()]


def outbox_rows(outbox: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Outbox rows: which topic each message was queued for, and when it left."""
    return [{"time": r["created_at"], "kind": "outbox", "service": r["service"],
             "name": (r.get("headers") or {}).get("event_type"),
             "correlation_id": (r.get("headers") or {}).get("correlation_id"),
             "topic": r["topic"], "published_at": r.get("published_at"),
             "detail": f"outbox id {r['id']}, event {r['event_id']}"}
            for r in outbox]


def kafka_rows(records: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Kafka records: topic, partition and offset of each published event."""
    return [{"time": r["timestamp"], "kind": "kafka",
             "service": (r.get("headers") or {}).get("source"),
             "name": r.get("event_type"), "correlation_id": r.get("correlation_id"),
             "topic": r["topic"], "partition": r["partition"],
             "offset": r["offset"], "detail": f"key {r.get('key')}"}
            for r in records]


def span_rows(spans: pd.DataFrame) -> list[dict[str, Any]]:
    """Spans: what each service did, for how long, in which trace."""
    return [{"time": s.start, "kind": "span", "service": s.service,
             "name": s.name, "correlation_id": s.correlation_id,
             "topic": s.topic, "partition": s.partition, "offset": s.offset,
             "trace_id": s.trace_id, "span_id": s.span_id,
             "duration_ms": s.duration_ms, "detail": s.kind}
            for s in spans.itertuples()]


def read_model_rows(models: Mapping[str, Mapping[str, Any] | None]
                    ) -> list[dict[str, Any]]:
    """Read-model rows: what the queries show now, one per table."""
    rows = []
    for name, row in models.items():
        if row is None:
            continue
        service, table = name.split(".", 1)
        rows.append({"time": row.get("updated_at"), "kind": "read_model",
                     "service": service, "name": table,
                     "correlation_id": row.get("correlation_id"),
                     "version": row.get("version"), "detail": dict(row)})
    return rows


def story_frame(events: pd.DataFrame, outbox: Iterable[Mapping[str, Any]],
                records: Iterable[Mapping[str, Any]], spans: pd.DataFrame,
                models: Mapping[str, Mapping[str, Any] | None]) -> pd.DataFrame:
    """Every source's rows in one DataFrame, in time order."""
    rows = [*command_rows(events), *event_rows(events), *outbox_rows(outbox),
            *kafka_rows(records), *span_rows(spans), *read_model_rows(models)]
    frame = pd.DataFrame(rows, columns=STORY_COLUMNS)
    frame["time"] = pd.to_datetime(frame["time"], utc=True)
    frame["order"] = frame["kind"].map(KINDS.index)
    frame = frame.sort_values(["time", "order"], kind="stable", ignore_index=True)
    return frame.drop(columns=["order"])
