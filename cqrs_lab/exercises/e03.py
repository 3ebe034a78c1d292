"""Exercises of lesson 03, projections and replay: revenue per customer."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from cqrs_lab.exercises.core import Exercise, Incorrect
from cqrs_lab.exercises.live import cents, run_id, short, wait_all
from cqrs_lab.replay import projector_of


@dataclass(frozen=True)
class Placed:
    """One order the check placed, what became of it, and what it is worth."""

    customer: str
    order: Any
    total: Decimal
    fate: str  # delivered, declined, or cancelled after payment

    @property
    def kept(self) -> Decimal:
        """The revenue this order should leave: its total if delivered."""
        return self.total if self.fate == "delivered" else Decimal("0.00")


def expected_revenue(placed: list[Placed]) -> dict[str, Decimal]:
    """Revenue per customer from what the check did, not from the store."""
    revenue: dict[str, Decimal] = {}
    for p in placed:
        revenue[p.customer] = revenue.get(p.customer, Decimal("0.00")) + p.kept
    return revenue


class RevenuePerCustomer(Exercise):
    """A projection replayed over the real event store."""

    lesson = "03-projections-and-replay"
    name = "ex1"
    title = "Revenue per customer"
    difficulty = 2
    answer_name = "RevenuePerCustomer"
    hints = (
        ("OrderPaid carries the amount but not the customer: remember each "
         "order's customer when you see its OrderPlaced."),
        ("A paid order that is cancelled later is refunded: OrderCancelled "
         "has `previous_status`; when it is paid, confirmed or "
         "ready_for_delivery, take the amount back."),
        ("Event data is JSON: amounts are text. Use Decimal(data['amount']) "
         "and keep a dict order id → (customer, amount paid)."),
    )

    def verify(self, answer: Any) -> str:
        """Places orders with known outcomes, replays, compares per customer."""
        placed = self._place_orders()
        driver = projector_of(answer)
        for batch in self.lab.event_batches("orders"):
            self.call(driver.feed, batch, what=f"{self.answer_name} (replay)")
        result = self.call(driver.result, what=f"{self.answer_name}.result")
        if not isinstance(result, Mapping):
            raise Incorrect(f"result() returned {type(result).__name__}; "
                            "return a dict of customer id → revenue")
        for customer, want in expected_revenue(placed).items():
            got = result.get(customer, Decimal("0.00"))
            try:
                got_cents = cents(got)
            except ArithmeticError:
                raise Incorrect(f"revenue of {customer} is {got!r}, not an "
                                "amount", hint=3) from None
            if got_cents != want:
                raise Incorrect(
                    f"customer {customer}: expected {want}, your projection "
                    f"says {got_cents} (their orders: "
                    + "; ".join(f"{short(p.order)} {p.fate}, {p.total}"
                                for p in placed if p.customer == customer)
                    + ")")
        return (f"replayed the whole orders store; revenue matches for "
                f"{len({p.customer for p in placed})} customers, including "
                "a declined order and one refunded after payment")

    def _place_orders(self) -> list[Placed]:
        lab, run = self.lab, run_id()
        alice, bob = f"ex03-{run}-alice", f"decline-ex03-{run}-bob"
        carol = f"ex03-{run}-carol"
        a1 = lab.place_order(alice, [("book-001", 2, "19.99")])
        a2 = lab.place_order(alice, [("shirt-001", 1, "25.00")],
                             confirmation="manual")
        b1 = lab.place_order(bob, [("mouse-001", 1, "29.99")])
        c1 = lab.place_order(carol, [("mouse-001", 3, "29.99")])
        wait_all(lab, [(a2, "paid")])
        lab.cancel(a2, reason="exercise 03: refund after payment")
        wait_all(lab, [(a1, "ready_for_delivery"), (a2, "cancelled"),
                       (b1, "cancelled"), (c1, "ready_for_delivery")])
        return [Placed(alice, a1, Decimal("39.98"), "delivered"),
                Placed(alice, a2, Decimal("25.00"), "cancelled after payment"),
                Placed(bob, b1, Decimal("29.99"), "declined"),
                Placed(carol, c1, Decimal("89.97"), "delivered")]


ex1 = RevenuePerCustomer()

__all__ = ["Placed", "ex1", "expected_revenue"]
