"""Exercises of lesson 04, the order saga (source of the notebooks)."""

# %% [markdown]
# # Exercises 04 · The order saga
#
# `ex1.check(answer)` says *correct*, *incorrect* (and why) or *not attempted
# yet*; `ex1.hint()`, `ex1.hint(2)`… help; `ex1.solution()` shows the answer.
# The lab must be running (`cqrs-lab up`).

# %%
from decimal import Decimal

from cqrs_lab.exercises.e04 import ex1

# %% [markdown]
# ## Exercise 1 ★ · Predict the order's path through the saga
#
# Nobody calls the services in turn: each reacts to the others' events.
# Write `predict(customer_id, total)`, returning the event types the **order
# service** records for a new order, in order, e.g. `["OrderPlaced", ...]`.
# Assume the products are in stock and the order confirms automatically.
#
# The check places three real orders (an ordinary one, one for a customer
# flagged to decline, one above the bank's limit) and compares your
# prediction with each order's real stream.

# %% exercise=ex1
def predict(customer_id: str, total: Decimal) -> list[str]:
    """The order service's events for a new order, oldest first."""
    # BEGIN SOLUTION
    start = ["OrderPlaced", "OrderStockReserved"]
    declined = total > Decimal("5000.00") or customer_id.startswith("decline-")
    if declined:
        return start + ["OrderCancelled"]
    return start + ["OrderPaid", "OrderConfirmed", "OrderReadyForDelivery"]
    # END SOLUTION


# %% check=ex1
ex1.check(predict)
