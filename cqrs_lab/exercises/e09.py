"""Exercises of lesson 09, scaling: concurrent writers and optimistic locking.

Two instances of a service may handle commands for the same stream at
once. The check races ten threads through the learner's code against a
small in-memory store that behaves like the lab's event store: `append`
refuses a write whose expected version is not the stream's version.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from cqrs_lab.exercises.core import Exercise, Incorrect
from services.inventory.domain.stock import ProductStock, stock_stream
from services.shared.aggregate import Event
from services.shared.eventstore import ConcurrencyConflict

PRODUCT = "keyboard-001"
UNITS = 5
RACERS = 10


class MemoryStore:
    """Streams of events in memory, with the event store's version check."""

    def __init__(self, racers: int = 1) -> None:
        self._streams: dict[str, list[Event]] = {}
        self._lock = threading.Lock()
        # Makes every racer's first load happen before anyone appends, so
        # the race is certain rather than a matter of luck.
        self._barrier = threading.Barrier(racers) if racers > 1 else None
        self._loaded: set[int] = set()

    def load(self, stream: str) -> tuple[int, list[Event]]:
        """The stream's version (its event count) and its events."""
        me = threading.get_ident()
        if self._barrier is not None and me not in self._loaded:
            self._loaded.add(me)
            with self._lock:
                events = list(self._streams.get(stream, []))
            try:
                self._barrier.wait(timeout=5)
            except threading.BrokenBarrierError:
                pass
            return len(events), events
        with self._lock:
            events = list(self._streams.get(stream, []))
        return len(events), events

    def end_race(self) -> None:
        """Lets later loads through without waiting for the other racers."""
        self._barrier = None

    def append(self, stream: str, expected_version: int | None,
               events: Sequence[Event]) -> int:
        """Appends after expected_version (None: no check); the new version."""
        with self._lock:
            found = self._streams.setdefault(stream, [])
            if expected_version is not None and expected_version != len(found):
                raise ConcurrencyConflict(stream, expected_version, len(found))
            found.extend(events)
            return len(found)


def stocked(units: int, racers: int) -> MemoryStore:
    """A store holding one product with `units` available."""
    store = MemoryStore(racers)
    product = ProductStock.add_product(PRODUCT, "Mechanical keyboard", 1, units)
    store.append(stock_stream(PRODUCT), 0, product.take_pending())
    return store


class NoLostUpdates(Exercise):
    """Reserve stock from racing threads without overselling or giving up."""

    lesson = "09-scaling"
    name = "ex1"
    title = "Race ten reservations for five units"
    difficulty = 3
    answer_name = "reserve_one"
    hints = (
        ("Load, decide, append with the version you loaded: "
         "`version, events = store.load(stream)`, "
         "`stock = ProductStock.rebuild(events)`, `stock.allocate(order, 1)`, "
         "`store.append(stream, version, stock.take_pending())`."),
        ("When append raises ConcurrencyConflict, someone wrote first: your "
         "decision was made on old state. Load again and decide again, in a "
         "loop. OutOfStock from allocate means: return False."),
        ("Never pass expected_version=None, and never read the version again "
         "just before appending: both let two writers decide on the same "
         "state, and one of them oversells."),
    )

    def verify(self, answer: Callable[[MemoryStore, str, uuid.UUID], Any]
               ) -> str:
        """Ten threads race for five units: five succeed, none oversold."""
        store = stocked(UNITS, RACERS)
        orders = [uuid.uuid4() for _ in range(RACERS)]
        with ThreadPoolExecutor(RACERS) as pool:
            futures = [pool.submit(self._attempt, answer, store, o)
                       for o in orders]
            outcomes = [f.result(timeout=30) for f in futures]
        store.end_race()
        errors = [o for o in outcomes if isinstance(o, BaseException)]
        if any(isinstance(e, NotImplementedError) for e in errors):
            self.call(answer, stocked(UNITS, 1), PRODUCT, uuid.uuid4())
        _, events = store.load(stock_stream(PRODUCT))
        stock = ProductStock.rebuild(events)
        won = sum(1 for o in outcomes if o is True)
        if stock.available < 0 or stock.reserved_total > UNITS:
            raise Incorrect(
                f"{won} of {RACERS} concurrent reservations succeeded for "
                f"{UNITS} units: the product is oversold (available "
                f"{stock.available}); append with the version you loaded")
        conflicts = [e for e in errors if isinstance(e, ConcurrencyConflict)]
        if conflicts:
            raise Incorrect(
                f"{len(conflicts)} of {RACERS} calls raised "
                f"ConcurrencyConflict while units were left: load again and "
                "retry instead of giving up")
        if errors:
            error = errors[0]
            raise Incorrect(f"{len(errors)} calls raised "
                            f"{type(error).__name__}: {error}")
        if won != UNITS or stock.reserved_total != UNITS:
            raise Incorrect(
                f"only {won} of {RACERS} reservations succeeded (and "
                f"{stock.reserved_total} units are reserved) although "
                f"{UNITS} units were available: none should be lost")
        if any(o not in (True, False) for o in outcomes):
            raise Incorrect("reserve_one should return True (reserved) or "
                            f"False (out of stock), not {outcomes!r}")
        return (f"{RACERS} racing reservations: exactly {UNITS} succeeded, "
                "the rest were told the stock ran out, nothing was oversold")

    @staticmethod
    def _attempt(answer: Callable[..., Any], store: MemoryStore,
                 order: uuid.UUID) -> Any:
        try:
            return answer(store, PRODUCT, order)
        except Exception as error:  # noqa: BLE001 - reported by kind above
            return error


ex1 = NoLostUpdates()

__all__ = ["PRODUCT", "MemoryStore", "ex1", "stocked"]
