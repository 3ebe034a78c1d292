"""Exercises of lesson 08, the outbox (source of the notebooks)."""

# %% [markdown]
# # Exercises 08 · The outbox
#
# `ex1.check(answer)` says *correct*, *incorrect* (and why) or *not attempted
# yet*; `ex1.hint()`, `ex1.hint(2)`… help; `ex1.solution()` shows the answer.
# The lab must be running (`cqrs-lab up`).

# %%
from typing import Any

from cqrs_lab import Lab
from cqrs_lab.exercises.e08 import ex1

lab = Lab()

# %% [markdown]
# ## Exercise 1 ★★ · Count every order once, even when redelivered
#
# The outbox publishes each event *at least* once: after a crash between
# publishing and marking the row sent, the event goes out again. So a
# consumer must be idempotent.
#
# Complete `UnitsOrdered`, a read model of units ordered per product fed
# with `OrderPlaced` records as `lab.tail("orders-events")` shows them (one
# row as a dict: `offset`, `key`, `headers`, `payload`…). Ignore other event
# types. The check places two orders, **resends** the first one's record to
# Kafka (same event, new offset) and feeds your class all three records.

# %% exercise=ex1
class UnitsOrdered:
    """Units ordered per product, each OrderPlaced counted once."""

    def __init__(self) -> None:
        self.units: dict[str, int] = {}
        # BEGIN SOLUTION
        self.seen: set[str] = set()
        # END SOLUTION
        # BEGIN STUB
        # # Add what you need to remember here.
        # END STUB

    def handle(self, record: dict[str, Any]) -> None:
        """Updates the units from one Kafka record."""
        # BEGIN SOLUTION
        if record["event_type"] != "OrderPlaced":
            return
        event_id = record["headers"]["event_id"]
        if event_id in self.seen:
            return
        self.seen.add(event_id)
        for line in record["payload"]["data"]["lines"]:
            product = line["product_id"]
            self.units[product] = self.units.get(product, 0) + line["quantity"]
        # END SOLUTION


# %% check=ex1
ex1.check(UnitsOrdered)
