"""Exercises of lesson 07, compensation (source of the notebooks)."""

# %% [markdown]
# # Exercises 07 · Compensation
#
# `ex1.check(answer)` says *correct*, *incorrect* (and why) or *not attempted
# yet*; `ex1.hint()`, `ex1.hint(2)`… help; `ex1.solution()` shows the answer.
# The lab must be running (`cqrs-lab up`).

# %%
from cqrs_lab.exercises.e07 import ex1
from services.inventory.domain.commands import ReleaseStock
from services.orders.domain import OrderCancelled
from services.payments.domain.commands import RefundPayment
from services.payments.domain.events import PaymentDeclined
from services.shared.aggregate import Command, Event

# %% [markdown]
# ## Exercise 1 ★★ · Compensate a failed order
#
# A saga has no rollback: what was done is undone by new commands. Write
# `compensate(event)`, returning the compensating commands for an event
# (and only those):
#
# - `PaymentDeclined`: the stock was reserved, the money never taken;
#   release with reason `"payment declined: <the bank's reason>"`.
# - `OrderCancelled`: release the stock and refund the payment (the payment
#   service voids one not taken yet), with the order's reason.
# - anything else, e.g. `StockReservationRejected`: nothing to undo.
#
# Commands: `ReleaseStock(order_id, reason)`, `RefundPayment(order_id,
# reason)`. The check tries failure cases in-process, then places a declined
# order and a cancelled paid one, and compares your commands with what the
# real inventory and payment services recorded.

# %% exercise=ex1
def compensate(event: Event) -> list[Command]:
    """The commands that undo what the saga did before this event."""
    # BEGIN SOLUTION
    match event:
        case PaymentDeclined():
            reason = f"payment declined: {event.reason}"
            return [ReleaseStock(event.order_id, reason)]
        case OrderCancelled():
            return [ReleaseStock(event.order_id, event.reason),
                    RefundPayment(event.order_id, event.reason)]
        case _:
            return []
    # END SOLUTION


# %% check=ex1
ex1.check(compensate)
