"""Exercises of lesson 01, commands and queries (source of the notebooks)."""

# %% [markdown]
# # Exercises 01 · Commands and queries
#
# Each exercise has a goal, a starter cell where you write your answer and a
# check cell. `ex1.check(answer)` runs your answer (against the live lab when
# the exercise is about the running system) and says *correct*, *incorrect*
# with what went wrong, or *not attempted yet*. `ex1.hint()`, `ex1.hint(2)`…
# give stronger and stronger hints; `ex1.solution()` shows the reference
# answer, only when you ask.
#
# The lab must be running (`cqrs-lab up`).

# %%
from cqrs_lab import Lab
from cqrs_lab.exercises.e01 import ex1

lab = Lab()

# %% [markdown]
# ## Exercise 1 ★ · Place an order, then query it
#
# Write `place_two_books(lab, customer)`: it places **one** order of two
# copies of `book-001` (unit price 19.99) for `customer`, and returns the
# order **as the read model shows it once it is ready for delivery** (a dict).
#
# The command only answers with an id; the read model catches up a moment
# later. The check calls your function with a fresh customer id and looks the
# customer up in the read model.

# %% exercise=ex1
def place_two_books(lab: Lab, customer: str) -> dict:
    """Places 2 × book-001 for customer; returns the delivered order's view."""
    # BEGIN SOLUTION
    placed = lab.place_order(customer, [("book-001", 2, "19.99")])
    return lab.wait_for(placed, "ready_for_delivery", timeout=30)
    # END SOLUTION


# %% check=ex1
ex1.check(place_two_books)
