"""The envelope every event travels in on Kafka, and its record headers."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from services.shared.eventstore import RecordedEvent


class Envelope(BaseModel):
    """An event as published: identity, origin, correlation and data."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    event_id: UUID
    event_type: str
    schema_version: int
    source: str
    stream_id: str
    version: int
    occurred_at: datetime
    correlation_id: str | None = None
    causation_id: str | None = None
    data: dict[str, Any]

    @classmethod
    def of(cls, event: RecordedEvent, source: str) -> Envelope:
        """The envelope of a stored event."""
        return cls(
            event_id=event.event_id,
            event_type=event.event_type,
            schema_version=event.schema_version,
            source=source,
            stream_id=event.stream_id,
            version=event.version,
            occurred_at=event.recorded_at,
            correlation_id=event.metadata.get("correlation_id"),
            causation_id=event.metadata.get("causation_id"),
            data=event.data,
        )

    def headers(self) -> dict[str, str]:
        """Record headers, so tools can filter without parsing the value."""
        headers = {
            "event_type": self.event_type,
            "event_id": str(self.event_id),
            "schema_version": str(self.schema_version),
            "source": self.source,
        }
        if self.correlation_id:
            headers["correlation_id"] = self.correlation_id
        if self.causation_id:
            headers["causation_id"] = self.causation_id
        return headers


def traceparent_of(event: RecordedEvent) -> dict[str, str]:
    """The stored trace context of an event, as record headers."""
    value = event.metadata.get("traceparent")
    return {"traceparent": str(value)} if value else {}
