"""Spans from the trace collector, as tables and plotly figures.

The collector answers JSON in camelCase; this module accepts its items
bare or wrapped in `{"success": true, "data": ...}`, and span fields in
camelCase or snake_case, so a change of wrapping does not break lessons.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any, cast

import httpx
import pandas as pd

from cqrs_lab.commands import unwrap
from cqrs_lab.errors import TracesUnavailable

SPAN_COLUMNS = ["trace_id", "span_id", "parent_span_id", "service", "kind",
                "name", "start", "duration_ms", "status", "correlation_id",
                "order_id", "event_type", "topic", "partition", "offset",
                "attributes"]
# Events that undo an earlier step, and events that say a step failed: the
# timeline marks them apart, as a failure is what a compensation answers.
COMPENSATIONS = frozenset({"OrderCancelled", "StockReleased", "StockDeallocated",
                           "PaymentRefunded", "PaymentVoided"})
FAILURES = frozenset({"OrderRejected", "PaymentDeclined",
                      "StockReservationRejected"})
# Where known services sit on the service map: callers left, callees right.
MAP_POSITIONS = {"gateway": (0.0, 0.5), "orders": (1.0, 0.5),
                 "payments": (2.0, 1.0), "inventory": (2.0, 0.0)}


class TraceClient:
    """Reads traces and spans from the collector's JSON API."""

    def __init__(self, base_url: str, timeout: float = 10.0,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.base_url = base_url
        self.client = httpx.Client(base_url=base_url, timeout=timeout,
                                   transport=transport)

    def close(self) -> None:
        """Closes the HTTP connections."""
        self.client.close()

    def _get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        query = {k: v for k, v in (params or {}).items() if v is not None}
        try:
            response = self.client.get(path, params=query)
        except httpx.TransportError as error:
            raise TracesUnavailable(
                f"the trace collector at {self.base_url} does not answer "
                f"({type(error).__name__}); start it with "
                "`cqrs-lab start traces`") from None
        if response.status_code == 404 and path == "/api/traces":
            raise TracesUnavailable(
                f"the trace collector at {self.base_url} does not serve "
                "/api/traces (is it an older version?)")
        response.raise_for_status()
        return unwrap(response.json())

    def traces(self, correlation_id: str | None = None,
               order_id: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        """Summaries of the traces matching a correlation id or order id."""
        params = {"correlationId": correlation_id, "orderId": order_id,
                  "limit": limit}
        return items(self._get("/api/traces", params), "traces")

    def trace_spans(self, trace_id: str) -> list[dict[str, Any]]:
        """The spans of one trace, each knowing its trace id."""
        found = self._get(f"/api/traces/{trace_id}")
        spans = items(found, "spans")
        return [{"traceId": trace_id, **s} for s in spans]

    def spans(self, correlation_id: str | None = None,
              order_id: str | None = None, limit: int = 100
              ) -> list[dict[str, Any]]:
        """Every span of every trace matching the filters."""
        found: list[dict[str, Any]] = []
        for summary in self.traces(correlation_id, order_id, limit):
            trace_id = pick(summary, "traceId", "trace_id")
            if trace_id:
                found.extend(self.trace_spans(str(trace_id)))
        return found


def items(payload: Any, key: str) -> list[dict[str, Any]]:
    """The list inside a payload: bare, under `data`, or under `key`."""
    payload = unwrap(payload)
    if isinstance(payload, Mapping):
        payload = payload.get(key, payload.get("items", []))
    return list(payload or [])


def pick(item: Mapping[str, Any], *names: str) -> Any:
    """The first of several spellings of a field that the item has."""
    for name in names:
        if item.get(name) is not None:
            return item[name]
    return None


def span_row(span: Mapping[str, Any]) -> dict[str, Any]:
    """One span as a flat row, whichever spelling the collector used."""
    attrs: Mapping[str, Any] = span.get("attributes") or {}
    start = pick(span, "start", "startTime", "start_time")
    start_ns = pick(span, "startNs", "start_ns")
    partition = attrs.get("messaging.destination.partition.id")
    return {
        "trace_id": pick(span, "traceId", "trace_id"),
        "span_id": pick(span, "spanId", "span_id"),
        "parent_span_id": pick(span, "parentSpanId", "parent_span_id"),
        "service": span.get("service"),
        "kind": str(span.get("kind") or "").lower().removeprefix("span_kind_"),
        "name": span.get("name"),
        "start": (pd.Timestamp(start_ns, unit="ns", tz="UTC")
                  if start is None else pd.Timestamp(start)),
        "duration_ms": float(pick(span, "durationMs", "duration_ms") or 0.0),
        "status": span.get("status"),
        "correlation_id": (pick(span, "correlationId", "correlation_id")
                           or attrs.get("cqrs.correlation_id")),
        "order_id": pick(span, "orderId", "order_id") or attrs.get("cqrs.order_id"),
        "event_type": attrs.get("cqrs.event_type"),
        "topic": attrs.get("messaging.destination.name"),
        "partition": int(partition) if partition is not None else None,
        "offset": attrs.get("messaging.kafka.offset"),
        "attributes": dict(attrs),
    }


def spans_frame(spans: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """A DataFrame of spans ordered by start time."""
    frame = pd.DataFrame([span_row(s) for s in spans], columns=SPAN_COLUMNS)
    if frame.empty:
        return frame
    frame["start"] = pd.to_datetime(frame["start"], utc=True)
    return frame.sort_values(["start", "span_id"], ignore_index=True)


def _offsets(spans: pd.DataFrame) -> pd.Series[float]:
    start: pd.Series[pd.Timestamp] = spans["start"]  # parsed by spans_frame
    return (start - start.min()).dt.total_seconds() * 1000.0


def kafka_hops(spans: pd.DataFrame) -> pd.DataFrame:
    """Producer span to consumer span pairs: one row per Kafka hop."""
    producers = spans[spans["kind"] == "producer"]
    consumers = spans[spans["kind"] == "consumer"]
    hops = consumers.merge(producers, left_on="parent_span_id",
                           right_on="span_id", suffixes=("", "_producer"))
    return hops


def without_db(spans: pd.DataFrame) -> pd.DataFrame:
    """The spans that are not single database queries."""
    if spans.empty:
        return spans
    is_db = spans["attributes"].map(
        lambda a: "db.system" in a or "db.system.name" in a)
    return spans[~is_db]


def waterfall_figure(spans: pd.DataFrame, include_db: bool = False) -> Any:
    """Services as lanes, one bar per span, arrows for Kafka hops."""
    import plotly.graph_objects as go

    if not include_db:
        spans = without_db(spans)
    spans = spans.assign(offset_ms=_offsets(spans) if len(spans) else [])
    fig = go.Figure()
    for service, lane in spans.groupby("service", sort=False):
        fig.add_trace(go.Bar(
            name=str(service), orientation="h", y=lane["service"],
            x=lane["duration_ms"], base=lane["offset_ms"],
            text=lane["name"], customdata=lane["span_id"], opacity=0.7,
            hovertemplate="%{text}<br>%{x:.1f} ms<extra>%{y}</extra>"))
    for hop in kafka_hops(spans).itertuples():
        # Float columns; pandas types a row's fields as any scalar.
        producer_end = (cast(float, hop.offset_ms_producer)
                        + cast(float, hop.duration_ms_producer))
        fig.add_annotation(
            x=hop.offset_ms, y=hop.service, xref="x", yref="y",
            ax=producer_end,
            ay=hop.service_producer, axref="x", ayref="y",
            showarrow=True, arrowhead=2, text=str(hop.topic or ""))
    fig.update_layout(barmode="overlay", title="Trace waterfall",
                      xaxis_title="ms since the first span",
                      yaxis_title="service")
    return fig


def timeline_figure(events: pd.DataFrame, title: str = "Saga timeline") -> Any:
    """An order's events across services in time; failures and compensations marked."""
    import plotly.graph_objects as go

    events = events.sort_values("recorded_at")
    fig = go.Figure()
    fig.add_trace(go.Scatter(name="saga", x=events["recorded_at"],
                             y=events["service"], mode="lines",
                             line={"dash": "dot", "color": "lightgray"},
                             hoverinfo="skip"))
    undone = events["event_type"].isin(COMPENSATIONS)
    failed = events["event_type"].isin(FAILURES)
    for name, part, style in (("event", events[~undone & ~failed],
                               {"color": "seagreen", "symbol": "circle"}),
                              ("failure", events[failed],
                               {"color": "darkorange", "symbol": "diamond"}),
                              ("compensation", events[undone],
                               {"color": "crimson", "symbol": "x"})):
        fig.add_trace(go.Scatter(
            name=name, x=part["recorded_at"], y=part["service"],
            text=part["event_type"], mode="markers+text",
            textposition="top center", marker={"size": 12, **style}))
    fig.update_layout(title=title, xaxis_title="recorded at",
                      yaxis_title="service")
    return fig


def service_edges(spans: pd.DataFrame) -> pd.DataFrame:
    """Calls between services: count and mean latency of the callee's span."""
    columns = ["source", "target", "via", "calls", "mean_ms"]
    if spans.empty:
        return pd.DataFrame(columns=columns)
    parents = spans[["trace_id", "span_id", "service"]]
    joined = spans.merge(parents, left_on=["trace_id", "parent_span_id"],
                         right_on=["trace_id", "span_id"],
                         suffixes=("", "_parent"))
    joined = joined[joined["service"] != joined["service_parent"]]
    joined = joined.assign(via=[f"kafka {t}" if k == "consumer" else "http"
                                for k, t in zip(joined["kind"],
                                                joined["topic"])])
    edges = (joined.groupby(["service_parent", "service", "via"])
             .agg(calls=("span_id", "size"), mean_ms=("duration_ms", "mean"))
             .reset_index()
             .rename(columns={"service_parent": "source", "service": "target"}))
    return edges[columns]


def _position(service: str, index: int, count: int) -> tuple[float, float]:
    if service in MAP_POSITIONS:
        return MAP_POSITIONS[service]
    angle = 2 * math.pi * index / max(count, 1)
    return 1.0 + 1.5 * math.cos(angle), 0.5 + 1.5 * math.sin(angle)


def service_map_figure(edges: pd.DataFrame) -> Any:
    """Services as nodes, arrows per edge labelled with calls and mean latency."""
    import plotly.graph_objects as go

    names = sorted(set(edges["source"]) | set(edges["target"]))
    where = {n: _position(n, i, len(names)) for i, n in enumerate(names)}
    fig = go.Figure(go.Scatter(
        name="services", x=[where[n][0] for n in names],
        y=[where[n][1] for n in names], text=names, mode="markers+text",
        textposition="bottom center", marker={"size": 28}))
    for edge in edges.itertuples():
        (x0, y0), (x1, y1) = where[edge.source], where[edge.target]
        # Two services calling each other get two arrows side by side.
        dx, dy = _nudge(x0, y0, x1, y1)
        fig.add_annotation(
            x=x1 + dx, y=y1 + dy, ax=x0 + dx, ay=y0 + dy, xref="x", yref="y",
            axref="x", ayref="y", showarrow=True, arrowhead=2,
            text=f"{edge.via}: {edge.calls}× {edge.mean_ms:.1f} ms")
    fig.update_layout(title="Service map", showlegend=False,
                      xaxis={"visible": False}, yaxis={"visible": False})
    return fig


def _nudge(x0: float, y0: float, x1: float, y1: float) -> tuple[float, float]:
    length = math.hypot(x1 - x0, y1 - y0) or 1.0
    return -(y1 - y0) / length * 0.04, (x1 - x0) / length * 0.04
