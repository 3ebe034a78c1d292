"""Exercises of lesson 04, the order saga: predict the path an order takes."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from cqrs_lab.exercises.core import Exercise, Incorrect
from cqrs_lab.exercises.live import TIMEOUT, poll, run_id, short, wait_all

# (customer suffix, lines, the status the order ends in)
SCENARIOS: tuple[tuple[str, list[tuple[str, int, str]], str], ...] = (
    ("happy", [("book-001", 1, "19.99")], "ready_for_delivery"),
    ("flagged", [("book-001", 1, "19.99")], "cancelled"),
    ("big", [("book-001", 251, "19.99")], "cancelled"),
)


def scenario_customer(kind: str, run: str) -> str:
    """A unique customer id; the flagged one starts with "decline-"."""
    prefix = "decline-" if kind == "flagged" else ""
    return f"{prefix}ex04-{run}-{kind}"


def total_of(lines: list[tuple[str, int, str]]) -> Decimal:
    """The total of order lines given as (product, quantity, unit price)."""
    return sum((Decimal(price) * quantity for _, quantity, price in lines),
               Decimal("0.00"))


class PredictTheSaga(Exercise):
    """Predict the order's events; the real saga decides if you were right."""

    lesson = "04-the-order-saga"
    name = "ex1"
    title = "Predict the order's path through the saga"
    difficulty = 1
    answer_name = "predict"
    hints = (
        ("Every order starts with OrderPlaced and, with stock to spare, "
         "OrderStockReserved. The payment service decides what follows."),
        ("The fake bank declines totals above 5000.00 and customers whose id "
         "starts with 'decline-'. A declined payment cancels the order."),
        ("Approved: OrderPaid, OrderConfirmed (automatic), then "
         "OrderReadyForDelivery once inventory dispatched the stock. "
         "Declined: OrderCancelled right after OrderStockReserved."),
    )

    def verify(self, answer: Callable[[str, Decimal], Any]) -> str:
        """Places one order per scenario and compares with its real stream."""
        lab, run = self.lab, run_id()
        placed = []
        for kind, lines, final in SCENARIOS:
            customer = scenario_customer(kind, run)
            order = lab.place_order(customer, lines)
            placed.append((customer, total_of(lines), order, final))
        wait_all(lab, [(order, final) for _, _, order, final in placed])
        for customer, total, order, _ in placed:
            predicted = self.call(answer, customer, total, what="predict")
            if not isinstance(predicted, (list, tuple)):
                raise Incorrect(f"predict returned {type(predicted).__name__};"
                                " return a list of event type names")
            actual = self._stream(order)
            if list(predicted) != actual:
                raise Incorrect(
                    f"order {short(order)} (customer {customer}, total "
                    f"{total}) went {' → '.join(actual)}; you predicted "
                    f"{' → '.join(map(str, predicted)) or 'nothing'}")
        return (f"your predictions match the real saga for {len(placed)} "
                "orders: approved, declined by customer, declined by amount")

    def _stream(self, order: Any) -> list[str]:
        def settled() -> list[str] | None:
            frame = self.lab.events("orders", stream=f"order-{order.order_id}",
                                    limit=None)
            types = list(frame["event_type"])
            # The read model may show the final status a moment before the
            # last event is visible here; wait for the stream to end.
            done = types and types[-1] in ("OrderReadyForDelivery",
                                           "OrderCancelled", "OrderRejected")
            return types if done else None

        found = poll(settled, TIMEOUT)
        if not found:
            raise TimeoutError(f"order {short(order)}'s stream did not end "
                               f"within {TIMEOUT:.0f} s")
        return list(found)


ex1 = PredictTheSaga()

__all__ = ["ex1", "scenario_customer", "total_of"]
