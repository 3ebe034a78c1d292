"""Exercises of lesson 01, commands and queries."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from cqrs_lab.exercises.core import Exercise, Incorrect
from cqrs_lab.exercises.live import TIMEOUT, cents, run_id, short

BOOK_PRICE = "19.99"


class PlaceAndRead(Exercise):
    """Send a command, then read its effect from the read model."""

    lesson = "01-commands-and-queries"
    name = "ex1"
    title = "Place an order, then query it"
    difficulty = 1
    answer_name = "place_two_books"
    hints = (
        ("A command changes state and answers little more than an id: "
         "`lab.place_order(customer, [(product, quantity, unit_price)])`."),
        ("The read model catches up a moment later: `lab.wait_for(order, "
         "'ready_for_delivery')` polls it and returns the order as it "
         "reads then."),
        ("`placed = lab.place_order(customer, [('book-001', 2, '19.99')])` "
         "then `return lab.wait_for(placed, 'ready_for_delivery')`."),
    )

    def verify(self, answer: Callable[[Any, str], Any]) -> str:
        """Runs the learner's function for a fresh customer and reads back."""
        customer = f"ex01-{run_id()}"
        returned = self.call(answer, self.lab, customer, what=self.answer_name)
        if not isinstance(returned, Mapping):
            raise Incorrect(
                f"{self.answer_name} returned {type(returned).__name__}; "
                "return the order as the read model shows it (a dict from "
                "lab.wait_for or lab.order)")
        found = self.lab.orders(customer=customer)
        if len(found) != 1:
            raise Incorrect(
                f"customer {customer} has {len(found)} orders in the read "
                "model; place exactly one order, for the `customer` given")
        status = returned.get("status")
        if status != "ready_for_delivery":
            raise Incorrect(
                f"you returned order {short(returned.get('orderId'))} while "
                f"its status was {status!r}: the read model lags the "
                "command; wait until it is 'ready_for_delivery'")
        lines = {(i["productId"], int(i["quantity"]), cents(i["unitPrice"]))
                 for i in returned.get("items", [])}
        if lines != {("book-001", 2, cents(BOOK_PRICE))}:
            raise Incorrect(f"the order holds {sorted(lines)}; it should hold "
                            f"2 × book-001 at {BOOK_PRICE}")
        return (f"order {short(returned['orderId'])} went through the saga and "
                f"the read model shows it ready for delivery (within "
                f"{TIMEOUT:.0f} s)")


ex1 = PlaceAndRead()

__all__ = ["ex1"]
