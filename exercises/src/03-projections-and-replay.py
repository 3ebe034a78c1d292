"""Exercises of lesson 03, projections and replay (source of the notebooks)."""

# %% [markdown]
# # Exercises 03 · Projections and replay
#
# `ex1.check(answer)` says *correct*, *incorrect* (and why) or *not attempted
# yet*; `ex1.hint()`, `ex1.hint(2)`… help; `ex1.solution()` shows the answer.
# The lab must be running (`cqrs-lab up`).

# %%
from decimal import Decimal

from cqrs_lab import Lab, StoredEvent
from cqrs_lab.exercises.e03 import ex1

lab = Lab()

# %% [markdown]
# ## Exercise 1 ★★ · Revenue per customer
#
# Write a projection `RevenuePerCustomer` whose `result()` is a dict
# *customer id → revenue* (a `Decimal`) over the whole orders store:
#
# - an order earns its amount when it is **paid** (`OrderPlaced` names the
#   customer, `OrderPaid` the amount);
# - a paid order that is later **cancelled** is refunded: its amount no
#   longer counts (`OrderCancelled.previous_status` is `paid`, `confirmed`
#   or `ready_for_delivery`);
# - a declined or rejected order earns nothing.
#
# Methods named `when_<EventType>(event)` receive a `StoredEvent`; its
# `data` is the event's JSON (amounts are text). Try it with
# `lab.replay(RevenuePerCustomer)`. The check places orders for fresh
# customers (one delivered, one refunded, one declined…), replays the real
# store through your class and compares with what it knows it did.

# %% exercise=ex1
class RevenuePerCustomer:
    """Money kept per customer: paid orders, minus refunded ones."""

    def __init__(self) -> None:
        self.customer_of: dict[str, str] = {}
        self.paid: dict[str, Decimal] = {}
        self.revenue: dict[str, Decimal] = {}

    def when_OrderPlaced(self, event: StoredEvent) -> None:
        # BEGIN SOLUTION
        self.customer_of[event.data["order_id"]] = event.data["customer_id"]
        # END SOLUTION

    def when_OrderPaid(self, event: StoredEvent) -> None:
        # BEGIN SOLUTION
        order = event.data["order_id"]
        amount = Decimal(event.data["amount"])
        self.paid[order] = amount
        self._add(order, amount)
        # END SOLUTION

    def when_OrderCancelled(self, event: StoredEvent) -> None:
        # BEGIN SOLUTION
        # Only a paid order has money to give back (popped: refunded once).
        refund = self.paid.pop(event.data["order_id"], None)
        if refund is not None:
            self._add(event.data["order_id"], -refund)
        # END SOLUTION

    def _add(self, order: str, amount: Decimal) -> None:
        customer = self.customer_of.get(order, "unknown")
        before = self.revenue.get(customer, Decimal(0))
        self.revenue[customer] = before + amount

    def result(self) -> dict[str, Decimal]:
        return self.revenue


# %% check=ex1
ex1.check(RevenuePerCustomer)
