"""Exercises of lesson 10, evolving events (source of the notebooks)."""

# %% [markdown]
# # Exercises 10 · Evolving events
#
# `ex1.check(answer)` says *correct*, *incorrect* (and why) or *not attempted
# yet*; `ex1.hint()`, `ex1.hint(2)`… help; `ex1.solution()` shows the answer.
# The lab must be running (`cqrs-lab up`).

# %%
from decimal import Decimal
from typing import Any

from cqrs_lab.exercises.e10 import ex1

# %% [markdown]
# ## Exercise 1 ★★ · Upcast OrderPlaced v1 to v2
#
# The shop's first release stored `OrderPlaced` in an older shape, v1:
#
# ```json
# {"order_id": "…", "customer": "alice",
#  "items": [{"sku": "book-001", "qty": 2, "price": "19.99"}],
#  "total_cents": 3998}
# ```
#
# Today's shape, v2, is what `lab.events("orders", event_type="OrderPlaced")`
# shows: `customer_id`, `lines` of `product_id`/`quantity`/`unit_price`,
# `total_amount` as text, and `confirmation` (v1 orders were all confirmed
# automatically: `"auto"`). Stored events are never rewritten: the
# `EventCodec` runs an *upcaster* on old data as it reads it.
#
# Write `upcast_order_placed_v1(data)`: v1 data in, v2 data out. The check
# rewrites some real events into v1 and replays the mixed history through a
# codec that uses your function.

# %% exercise=ex1
def upcast_order_placed_v1(data: dict[str, Any]) -> dict[str, Any]:
    """OrderPlaced v1 data as v2 data."""
    # BEGIN SOLUTION
    return {
        "order_id": data["order_id"],
        "customer_id": data["customer"],
        "lines": [{"product_id": item["sku"], "quantity": item["qty"],
                   "unit_price": item["price"]} for item in data["items"]],
        # Decimal keeps the cents exact; a float division may not.
        "total_amount": str(Decimal(data["total_cents"]) / 100),
        "confirmation": "auto",
    }
    # END SOLUTION


# %% check=ex1
ex1.check(upcast_order_placed_v1)
