"""Exercises of lesson 09, scaling (source of the notebooks)."""

# %% [markdown]
# # Exercises 09 · Scaling
#
# `ex1.check(answer)` says *correct*, *incorrect* (and why) or *not attempted
# yet*; `ex1.hint()`, `ex1.hint(2)`… help; `ex1.solution()` shows the answer.

# %%
from uuid import UUID

from cqrs_lab.exercises.e09 import MemoryStore, ex1
from services.inventory.domain.errors import OutOfStock
from services.inventory.domain.stock import ProductStock, stock_stream
from services.shared.eventstore import ConcurrencyConflict

# %% [markdown]
# ## Exercise 1 ★★★ · Race ten reservations for five units
#
# With two instances of the inventory service, two commands for the same
# product can run at once. Each loads the stock, decides, and appends:
# without care, both decide on the same state and one update is lost (or
# the product is oversold).
#
# Write `reserve_one(store, product_id, order_id)`: reserve one unit for
# the order and return `True`, or return `False` when none is left. Use
# `store.load(stream)` → `(version, events)` and `store.append(stream,
# expected_version, events)`, which raises `ConcurrencyConflict` when the
# stream moved on since that version (like the lab's event store). The
# stream is `stock_stream(product_id)`; `ProductStock.allocate(order_id, 1)`
# raises `OutOfStock` when nothing is available.
#
# The check races ten threads for five units, with every thread loading
# before anyone appends.

# %% exercise=ex1
def reserve_one(store: MemoryStore, product_id: str, order_id: UUID) -> bool:
    """Reserves one unit for the order; False when the stock ran out."""
    # BEGIN SOLUTION
    stream = stock_stream(product_id)
    while True:
        version, events = store.load(stream)
        stock = ProductStock.rebuild(events)
        try:
            stock.allocate(order_id, 1)
        except OutOfStock:
            return False
        try:
            store.append(stream, version, stock.take_pending())
        except ConcurrencyConflict:
            # Someone wrote first: decide again on the newer state.
            continue
        return True
    # END SOLUTION


# %% check=ex1
ex1.check(reserve_one)
