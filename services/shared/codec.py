"""Turns typed domain events into JSON data and back, upcasting old versions."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pydantic import TypeAdapter, ValidationError

from services.shared.aggregate import Event

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]


class UndecodableEvent(Exception):
    """Stored or received data that no known event class can represent."""


_ADAPTERS: dict[type[Event], TypeAdapter[Any]] = {}


def _adapter(cls: type[Event]) -> TypeAdapter[Any]:
    # Building an adapter compiles a validator: do it once per class.
    if cls not in _ADAPTERS:
        _ADAPTERS[cls] = TypeAdapter(cls)
    return _ADAPTERS[cls]


class EventCodec:
    """Knows one context's event classes and how to upgrade their old data."""

    def __init__(
        self,
        events: Mapping[str, type[Event]],
        upcasters: Mapping[tuple[str, int], Upcaster] | None = None,
    ) -> None:
        self.events = dict(events)
        # (event type, version) -> function turning that version's data
        # into the next version's.
        self.upcasters = dict(upcasters or {})

    def encode(self, event: Event) -> tuple[str, int, dict[str, Any]]:
        """The type name, schema version and JSON-ready data of an event."""
        data = _adapter(type(event)).dump_python(event, mode="json")
        return event.type_name(), event.schema_version, data

    def decode(self, event_type: str, schema_version: int,
               data: Mapping[str, Any]) -> Event:
        """The typed event for stored data, upcast to the current version."""
        cls = self.events.get(event_type)
        if cls is None:
            raise UndecodableEvent(f"unknown event type {event_type!r}")
        upgraded = self.upcast(event_type, schema_version, dict(data))
        try:
            event: Event = _adapter(cls).validate_python(upgraded)
            return event
        except ValidationError as error:
            raise UndecodableEvent(f"{event_type}: {error}") from error

    def upcast(self, event_type: str, schema_version: int,
               data: dict[str, Any]) -> dict[str, Any]:
        """Upgrades data step by step to the event class's current version."""
        target = self.events[event_type].schema_version
        version = schema_version
        while version < target:
            step = self.upcasters.get((event_type, version))
            if step is None:
                raise UndecodableEvent(
                    f"{event_type} v{version}: no upcaster to v{version + 1}"
                )
            data = step(data)
            version += 1
        if version > target:
            raise UndecodableEvent(
                f"{event_type} v{schema_version} is newer than v{target}, "
                "the newest this service knows"
            )
        return data
