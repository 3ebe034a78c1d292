"""Exercises of lesson 07, compensation: undo exactly what the saga did."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

from cqrs_lab.exercises.core import Exercise, Incorrect
from cqrs_lab.exercises.live import TIMEOUT, poll, run_id, short, wait_all
from services.inventory.domain.commands import ReleaseStock
from services.inventory.domain.events import StockReservationRejected
from services.orders.domain import OrderCancelled
from services.payments.domain.commands import RefundPayment
from services.payments.domain.events import PaymentDeclined
from services.shared.aggregate import Command, Event

# The compensating event each compensating command leads to, per service.
RECORDED = {"ReleaseStock": ("inventory", ("StockReleased",)),
            "RefundPayment": ("payments", ("PaymentRefunded", "PaymentVoided"))}
Case = tuple[str, Event, list[Command]]


def in_process_cases() -> list[Case]:
    """Failures the saga meets: what happened, the event, what undoes it."""
    order = uuid.uuid4()
    cancelled_paid = OrderCancelled(order, "found it cheaper", "paid")
    return [
        ("the payment was declined", PaymentDeclined(
            order, uuid.uuid4(), "ex07", Decimal("19.99"), "card expired"),
         [ReleaseStock(order, "payment declined: card expired")]),
        ("inventory could not reserve the stock", StockReservationRejected(
            order, "not enough limited-001", "limited-001"), []),
        ("the customer cancelled a pending order", OrderCancelled(
            order, "ordered by mistake", "pending"),
         [ReleaseStock(order, "ordered by mistake"),
          RefundPayment(order, "ordered by mistake")]),
        ("the customer cancelled a paid order", cancelled_paid,
         [ReleaseStock(order, cancelled_paid.reason),
          RefundPayment(order, cancelled_paid.reason)]),
    ]


def describe(commands: Sequence[Any]) -> str:
    """Commands as `Name(reason)` text, for messages."""
    return ", ".join(f"{type(c).__name__}({getattr(c, 'reason', '')!r})"
                     for c in commands) or "no command"


class Compensate(Exercise):
    """Write the saga's compensating reaction; the real saga agrees or not."""

    lesson = "07-compensation"
    name = "ex1"
    title = "Compensate a failed order"
    difficulty = 2
    answer_name = "compensate"
    hints = (
        ("Undo only what was done. Inventory that rejected a reservation "
         "holds nothing; a declined payment took no money."),
        ("PaymentDeclined: stock was reserved, so release it with reason "
         "'payment declined: <the bank's reason>'. OrderCancelled: release "
         "the stock and refund (or void) the payment, with the order's reason."),
        ("Return `[ReleaseStock(event.order_id, reason)]`, "
         "`[ReleaseStock(...), RefundPayment(event.order_id, event.reason)]` "
         "or `[]`; `match event:` with `case PaymentDeclined():` reads well."),
    )

    def verify(self, answer: Callable[[Event], Any]) -> str:
        """In-process cases first, then two real orders the saga compensated."""
        cases = in_process_cases()
        for what, event, want in cases:
            self._same(answer, what, event, want)
        checked = self._live(answer)
        return (f"{len(cases)} failure cases right, and your commands match "
                f"what the real saga recorded for {checked} orders (a "
                "declined one and one cancelled after payment)")

    def _same(self, answer: Callable[[Event], Any], what: str, event: Event,
              want: Sequence[Command]) -> None:
        got = self.call(answer, event, what=self.answer_name)
        if not isinstance(got, (list, tuple)):
            raise Incorrect(f"compensate returned {type(got).__name__}; "
                            "return a list of commands")
        if sorted(map(repr, got)) != sorted(map(repr, want)):
            raise Incorrect(f"when {what} ({event.type_name()}), you issued "
                            f"{describe(got)}; expected {describe(want)}"
                            + _why(got, want))

    def _live(self, answer: Callable[[Event], Any]) -> int:
        from services.orders.adapters import codec as orders_codec
        from services.payments.adapters import codec as payments_codec

        lab, run = self.lab, run_id()
        declined = lab.place_order(f"decline-ex07-{run}",
                                   [("book-001", 1, "19.99")])
        paid = lab.place_order(f"ex07-{run}", [("book-001", 1, "19.99")],
                               confirmation="manual")
        wait_all(lab, [(paid, "paid")])
        lab.cancel(paid, reason=f"exercise 07 {run}")
        wait_all(lab, [(declined, "cancelled"), (paid, "cancelled")])
        cases = [(declined, "payments", payments_codec, "PaymentDeclined"),
                 (paid, "orders", orders_codec, "OrderCancelled")]
        for order, service, codec, event_type in cases:
            row = self._event(order, service, event_type)
            event = codec.decode(row["event_type"], row["schema_version"],
                                 row["data"])
            self._same(answer, f"order {short(order)} failed", event,
                       self._recorded(order))
        return len(cases)

    def _event(self, order: Any, service: str, event_type: str) -> Any:
        frame = self.lab.events(service, order=order, event_type=event_type,
                                limit=None)
        if frame.empty:
            raise TimeoutError(f"no {event_type} for order {short(order)}")
        return frame.iloc[-1]

    def _recorded(self, order: Any) -> list[Command]:
        """The compensations the real services recorded, as commands."""
        def settled() -> bool:
            status = self.lab.payment(order).get("status")
            released = self.lab.events("inventory", order=order,
                                       event_type="StockReleased", limit=1)
            return status != "approved" and not released.empty

        if not poll(settled, TIMEOUT):
            raise TimeoutError(f"order {short(order)} was not compensated "
                               f"within {TIMEOUT:.0f} s")
        made: list[Command] = []
        for name, (service, types) in RECORDED.items():
            frame = self.lab.events(service, order=order, limit=None)
            hits = frame[frame["event_type"].isin(types)]
            if len(hits):
                reason = str(hits.iloc[-1]["data"].get("reason"))
                command = ReleaseStock if name == "ReleaseStock" \
                    else RefundPayment
                made.append(command(order.order_id, reason))
        return made


def _why(got: Sequence[Any], want: Sequence[Any]) -> str:
    got_names = {type(c).__name__ for c in got}
    want_names = {type(c).__name__ for c in want}
    if "ReleaseStock" in got_names - want_names:
        return (": nothing was reserved, so releasing would hand back units "
                "that were never taken")
    if "RefundPayment" in got_names - want_names:
        return ": no money was taken, so there is nothing to refund"
    if want_names - got_names:
        # The real saga (or the rule) did more than the answer.
        return f": {', '.join(sorted(want_names - got_names))} is missing"
    return ": the reasons differ"


ex1 = Compensate()

__all__ = ["ex1", "in_process_cases"]
