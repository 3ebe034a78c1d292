"""Feeds stored events into a learner's projection and shows its result.

A projection is either an object (or class) with `when_<EventType>(event)`
methods and/or `apply(event)`, whose `result()` or `rows` is the answer,
or a dict of {event type: function(state, event)}; "*" matches every type.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import pandas as pd

from cqrs_lab.errors import LabError
from cqrs_lab.store import StoredEvent

Handler = Callable[[StoredEvent], Any]
_UNRESOLVED = object()


class ObjectProjector:
    """Drives a projection object, finding its handler once per event type."""

    def __init__(self, projection: Any) -> None:
        self.projection = projection() if isinstance(projection, type) \
            else projection
        self._handlers: dict[str, Handler | None] = {}
        self._apply: Handler | None = getattr(self.projection, "apply", None)
        if not callable(self._apply):
            self._apply = None

    def _resolve(self, event_type: str) -> Handler | None:
        method = getattr(self.projection, f"when_{event_type}", None)
        return method if callable(method) else self._apply

    def feed(self, events: Iterable[StoredEvent]) -> None:
        """Applies events in order to the projection."""
        handlers = self._handlers
        for event in events:
            handler = handlers.get(event.event_type, _UNRESOLVED)
            if handler is _UNRESOLVED:
                handler = handlers[event.event_type] = self._resolve(
                    event.event_type)
            if handler is not None:
                handler(event)  # type: ignore[operator]

    def result(self) -> Any:
        """The projection's `result()`, else its `rows`, else its `state`."""
        p = self.projection
        if callable(getattr(p, "result", None)):
            return p.result()
        for name in ("rows", "state"):
            if hasattr(p, name):
                return getattr(p, name)
        raise LabError(f"{type(p).__name__} has no result() method and no "
                       "`rows` attribute: add one so replay can show it")


class FunctionProjector:
    """Folds events into a state with {event type: function(state, event)}."""

    def __init__(self, handlers: Mapping[str, Callable[[Any, StoredEvent], Any]],
                 initial: Any = None) -> None:
        self.handlers = dict(handlers)
        self.every = self.handlers.pop("*", None)
        self.state: Any = {} if initial is None else initial

    def feed(self, events: Iterable[StoredEvent]) -> None:
        """Applies events in order; a function returning a value replaces the state."""
        handlers, every = self.handlers, self.every
        for event in events:
            function = handlers.get(event.event_type, every)
            if function is not None:
                new = function(self.state, event)
                if new is not None:
                    self.state = new

    def result(self) -> Any:
        """The folded state."""
        return self.state


Projector = ObjectProjector | FunctionProjector


def projector_of(projection: Any, initial: Any = None) -> Projector:
    """The right driver for a projection given in either style."""
    if isinstance(projection, Mapping):
        return FunctionProjector(projection, initial)
    return ObjectProjector(projection)


def to_frame(result: Any) -> pd.DataFrame:
    """A DataFrame from what a projection returned: rows, a dict, or a value."""
    if isinstance(result, pd.DataFrame):
        return result
    if isinstance(result, pd.Series):
        return result.to_frame()
    if isinstance(result, Mapping):
        return _mapping_frame(result)
    if isinstance(result, (list, tuple)):
        return pd.DataFrame([_row(r) for r in result])
    if isinstance(result, Iterable) and not isinstance(result, (str, bytes)):
        return pd.DataFrame([_row(r) for r in result])
    return pd.DataFrame({"value": [result]})


def _mapping_frame(result: Mapping[Any, Any]) -> pd.DataFrame:
    if not result:
        return pd.DataFrame()
    values = list(result.values())
    if all(isinstance(v, Mapping) for v in values):
        frame = pd.DataFrame.from_dict(
            {k: dict(v) for k, v in result.items()}, orient="index")
        frame.index.name = "key"
        return frame
    return pd.DataFrame({"key": list(result.keys()), "value": values})


def _row(item: Any) -> Any:
    # Named tuples and dataclasses become dicts so their fields are columns.
    if hasattr(item, "_asdict"):
        return item._asdict()
    if hasattr(item, "__dataclass_fields__"):
        return {name: getattr(item, name) for name in item.__dataclass_fields__}
    return item
