"""Exercises of lesson 02, event sourcing: a new command on the Order."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from cqrs_lab.exercises.core import Exercise, Incorrect
from services.orders.domain import (
    InvalidOrder,
    Order,
    OrderCancelled,
    OrderConfirmed,
    OrderConflict,
    OrderLine,
    OrderPaid,
    OrderPlaced,
    OrderReadyForDelivery,
    OrderStockReserved,
)
from services.shared.aggregate import Event

ADDRESS = "221B Baker Street, London"
LINE = OrderLine("book-001", 1, Decimal("19.99"))


def history(order_id: uuid.UUID, upto: str) -> list[Event]:
    """The events of a manual-confirmation order up to a status, in order."""
    total = LINE.subtotal
    steps: list[tuple[str, Event]] = [
        ("pending", OrderPlaced(order_id, "ex02", (LINE,), total, "manual")),
        ("stock_reserved", OrderStockReserved(order_id, "ex02", total)),
        ("paid", OrderPaid(order_id, uuid.uuid4(), total)),
        ("confirmed", OrderConfirmed(order_id)),
        ("ready_for_delivery", OrderReadyForDelivery(order_id)),
    ]
    if upto == "cancelled":
        return [steps[0][1], OrderCancelled(order_id, "changed my mind",
                                            "pending")]
    names = [name for name, _ in steps]
    return [event for _, event in steps[: names.index(upto) + 1]]


class ShippingAddress(Exercise):
    """A command with a guard, and its event, on the Order aggregate."""

    lesson = "02-event-sourcing"
    name = "ex1"
    title = "Change the shipping address before confirmation"
    difficulty = 2
    answer_name = "ShippableOrder"
    hints = (
        ("A command method checks the current state (the guard), then calls "
         "`self.record(event)`; it never changes attributes itself. "
         "`apply(event)` is the only place state changes."),
        ("Allowed while `self.status` is PENDING, STOCK_RESERVED or PAID "
         "(`OrderStatus`). Otherwise raise `OrderConflict(...)`; a blank "
         "address raises `InvalidOrder('address', ...)`."),
        ("In `apply`, handle `ShippingAddressChanged` by setting "
         "`self.shipping_address = event.address`, and hand every other "
         "event to `super().apply(event)`."),
    )

    def verify(self, answer: type[Order]) -> str:
        """Given past events, when the command, then the new events."""
        allowed = ("pending", "stock_reserved", "paid")
        for status in allowed:
            self._accepts(answer, status)
        for status in ("confirmed", "ready_for_delivery", "cancelled"):
            self._refuses(answer, status)
        self._refuses_blank(answer)
        self._rebuilds(answer)
        return ("ShippingAddressChanged is recorded while the order is "
                f"{', '.join(allowed)}, refused once it is confirmed or "
                "cancelled, and replayed by apply()")

    def _given(self, answer: type[Order], status: str) -> Order:
        events = history(uuid.uuid4(), status)
        return self.call(answer.rebuild, events,
                         what=f"{self.answer_name}.rebuild")

    def _when(self, order: Order, address: str) -> Callable[[], Any]:
        method = getattr(order, "change_shipping_address", None)
        if method is None:
            raise Incorrect(f"{self.answer_name} has no method "
                            "change_shipping_address(address)")
        return lambda: method(address)

    def _accepts(self, answer: type[Order], status: str) -> None:
        order = self._given(answer, status)
        self.call(self._when(order, ADDRESS),
                  what=f"change_shipping_address on a {status} order")
        new = order.pending
        names = [e.type_name() for e in new]
        if names != ["ShippingAddressChanged"]:
            raise Incorrect(f"on a {status} order, change_shipping_address "
                            f"recorded {names or 'nothing'}; expected "
                            "exactly one ShippingAddressChanged")
        event = new[0]
        if getattr(event, "order_id", None) != order.order_id or \
                getattr(event, "address", None) != ADDRESS:
            raise Incorrect(f"the event recorded was {event!r}; it should "
                            "carry the order's id and the new address")
        if getattr(order, "shipping_address", None) != ADDRESS:
            raise Incorrect("after the command, order.shipping_address is "
                            f"{getattr(order, 'shipping_address', None)!r}; "
                            "apply() should set it from the event")
        if str(order.status) != status:
            raise Incorrect(f"the order's status went from {status} to "
                            f"{order.status}; a new address must not move it")

    def _refuses(self, answer: type[Order], status: str) -> None:
        order = self._given(answer, status)
        try:
            self._when(order, ADDRESS)()
        except OrderConflict:
            pass
        except Exception as error:
            raise Incorrect(
                f"on a {status} order the command raised "
                f"{type(error).__name__}: {error}; raise OrderConflict, which "
                "the API answers with 409") from error
        else:
            raise Incorrect(
                f"a {status} order accepted a new address (it recorded "
                f"{[e.type_name() for e in order.pending]}): the parcel may "
                "already be on its way; refuse it with OrderConflict")
        if order.pending:
            raise Incorrect(f"the refused command on a {status} order still "
                            "recorded events; check the guard first")

    def _refuses_blank(self, answer: type[Order]) -> None:
        order = self._given(answer, "pending")
        try:
            self._when(order, "   ")()
        except InvalidOrder:
            return
        except Exception as error:
            raise Incorrect(f"a blank address raised {type(error).__name__};"
                            " raise InvalidOrder('address', ...)") from error
        raise Incorrect("a blank address was accepted; raise "
                        "InvalidOrder('address', 'must not be empty')")

    def _rebuilds(self, answer: type[Order]) -> None:
        order = self._given(answer, "pending")
        self.call(self._when(order, ADDRESS),
                  what="change_shipping_address on a pending order")
        events = history(order.order_id, "pending") + order.pending
        again = self.call(answer.rebuild, events,
                          what=f"{self.answer_name}.rebuild")
        if getattr(again, "shipping_address", None) != ADDRESS:
            raise Incorrect("rebuilding the order from its events lost the "
                            "address: apply() must set shipping_address")


ex1 = ShippingAddress()

__all__ = ["ex1", "history"]
