"""Base classes for event-sourced aggregates; standard library only."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import ClassVar, Self


@dataclass(frozen=True)
class Message:
    """A typed, versioned message: the base of every command and event."""

    schema_version: ClassVar[int] = 1

    @classmethod
    def type_name(cls) -> str:
        """The name this message is stored and published under."""
        return cls.__name__


@dataclass(frozen=True)
class Command(Message):
    """An instruction, named in the imperative (`PlaceOrder`)."""


@dataclass(frozen=True)
class Event(Message):
    """A fact that happened, named in the past tense (`OrderPlaced`)."""


class Aggregate:
    """An entity whose state is the result of applying its events in order."""

    def __init__(self) -> None:
        self.version = 0
        self.pending: list[Event] = []

    @classmethod
    def rebuild(cls, events: Iterable[Event]) -> Self:
        """Replays stored events into a fresh aggregate."""
        aggregate = cls()
        aggregate.replay(events)
        return aggregate

    def replay(self, events: Iterable[Event]) -> None:
        """Applies stored events that follow the current version."""
        for event in events:
            self.apply(event)
            self.version += 1

    @property
    def stored_version(self) -> int:
        """The version the store holds, before any pending event."""
        return self.version - len(self.pending)

    def apply(self, event: Event) -> None:
        """Changes state by one event; subclasses dispatch on its type."""
        raise NotImplementedError

    def record(self, event: Event) -> None:
        """Applies a new event and keeps it until the repository saves it."""
        self.apply(event)
        self.version += 1
        self.pending.append(event)

    def take_pending(self) -> list[Event]:
        """Hands over the new events and forgets them."""
        events, self.pending = self.pending, []
        return events
