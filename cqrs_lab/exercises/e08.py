"""Exercises of lesson 08, the outbox: at-least-once needs idempotent handlers.

The outbox publishes every event at least once, so a consumer may see one
twice. The check takes the real OrderPlaced records of two fresh orders
from Kafka, resends one of them (same event id, new offset), and feeds
all three records to the learner's read model.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

from cqrs_lab.exercises.core import Exercise, Incorrect
from cqrs_lab.exercises.live import TIMEOUT, run_id, short

TOPIC = "orders-events"
ORDERS: tuple[list[tuple[str, int, str]], ...] = (
    [("book-001", 2, "19.99")],
    [("book-001", 1, "19.99"), ("mouse-001", 1, "29.99")],
)


def units_of(orders: tuple[list[tuple[str, int, str]], ...]) -> Counter[str]:
    """Units per product over order lines given as (product, qty, price)."""
    units: Counter[str] = Counter()
    for lines in orders:
        for product, quantity, _ in lines:
            units[product] += quantity
    return units


class IdempotentHandler(Exercise):
    """A read model that counts each event once, however often it arrives."""

    lesson = "08-the-outbox"
    name = "ex1"
    title = "Count every order once, even when redelivered"
    difficulty = 2
    answer_name = "UnitsOrdered"
    hints = (
        ("A redelivered record is a new Kafka record (new offset) carrying the "
         "same event: offsets cannot tell duplicates apart, event ids can."),
        ("The event id is in `record['headers']['event_id']` and in "
         "`record['payload']['event_id']`."),
        ("Keep a set of event ids seen; return early when the id is in it, "
         "otherwise add it and count the lines of "
         "`record['payload']['data']['lines']`."),
    )

    def verify(self, answer: type[Any]) -> str:
        """Real records, one resent; the counts must match the orders placed."""
        records, resent = self._records()
        model = self.call(answer, what=f"{self.answer_name}()")
        for record in records:
            self.call(model.handle, record, what=f"{self.answer_name}.handle")
        got = getattr(model, "units", None)
        if not isinstance(got, Mapping):
            raise Incorrect(f"{self.answer_name}.units is {got!r}; keep a dict "
                            "of product id → units ordered")
        want = units_of(ORDERS)
        if dict(got) == dict(want):
            return (f"{len(records)} records, one of them a redelivery of "
                    f"order {short(resent['key'])} (offset "
                    f"{records[0]['offset']} then {resent['offset']}), "
                    "counted once")
        doubled = dict(got) == dict(want + units_of((self._lines(resent),)))
        if doubled:
            raise Incorrect(
                f"order {short(resent['key'])} was counted twice after a "
                f"redelivery (the same event {resent['headers']['event_id'][:8]}"
                f"… at offset {records[0]['offset']}, then at "
                f"{resent['offset']}): units are {dict(got)}, expected "
                f"{dict(want)}")
        raise Incorrect(f"units are {dict(got)}; the two orders hold "
                        f"{dict(want)}", hint=3)

    def _lines(self, record: Mapping[str, Any]) -> list[tuple[str, int, str]]:
        return [(line["product_id"], int(line["quantity"]), "")
                for line in record["payload"]["data"]["lines"]]

    def _records(self) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        lab, run = self.lab, run_id()
        customer = f"ex08-{run}"
        placed = [lab.place_order(customer, lines,
                                  correlation_id=f"ex08-{run}-{n}")
                  for n, lines in enumerate(ORDERS)]
        first, second = (self._tail(o.correlation_id, 1)[0] for o in placed)
        lab.send_raw(TOPIC, first["payload"], key=first["key"],
                     headers=first["headers"])
        copies = self._tail(placed[0].correlation_id, 2)
        resent = next(r for r in copies if r["offset"] != first["offset"])
        return [first, second, resent], resent

    def _tail(self, correlation_id: str, n: int) -> list[dict[str, Any]]:
        frame = self.lab.tail(TOPIC, n=n, from_beginning=True, timeout=TIMEOUT,
                              event_type="OrderPlaced",
                              correlation_id=correlation_id)
        if len(frame) < n:
            raise TimeoutError(f"{n} OrderPlaced records of {correlation_id} "
                               f"did not show on {TOPIC} in {TIMEOUT:.0f} s")
        rows: list[dict[str, Any]] = frame.to_dict("records")
        return rows


ex1 = IdempotentHandler()

__all__ = ["ex1", "units_of"]
