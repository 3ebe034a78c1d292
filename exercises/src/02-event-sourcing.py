"""Exercises of lesson 02, event sourcing (source of the notebooks)."""

# %% [markdown]
# # Exercises 02 · Event sourcing
#
# `ex1.check(answer)` says *correct*, *incorrect* (and why) or *not attempted
# yet*; `ex1.hint()`, `ex1.hint(2)`… help; `ex1.solution()` shows the answer.

# %%
from dataclasses import dataclass
from uuid import UUID

from cqrs_lab.exercises.e02 import ex1
from services.orders.domain import (
    InvalidOrder,
    Order,
    OrderConflict,
    OrderStatus,
)
from services.shared.aggregate import Event

# %% [markdown]
# ## Exercise 1 ★★ · Change the shipping address before confirmation
#
# Customers may change where their order goes **until it is confirmed**.
# Add the command `change_shipping_address(address)` to a subclass of the
# `Order` aggregate, with its event `ShippingAddressChanged` (given below):
#
# - allowed while the order is `pending`, `stock_reserved` or `paid`: it
#   records exactly one `ShippingAddressChanged(order_id, address)`;
# - refused with `OrderConflict` once the order is confirmed, ready for
#   delivery, rejected or cancelled (nothing is recorded);
# - a blank address raises `InvalidOrder("address", ...)`;
# - `apply` sets `shipping_address` from the event, so a rebuilt order
#   remembers it.
#
# The check works *given* past events, *when* your command, *then* the new
# events: pass your class, `ex1.check(ShippableOrder)`.

# %% exercise=ex1
@dataclass(frozen=True)
class ShippingAddressChanged(Event):
    """The customer gave a new delivery address for the order."""

    order_id: UUID
    address: str


class ShippableOrder(Order):
    """An Order whose shipping address can change until it is confirmed."""

    def __init__(self) -> None:
        super().__init__()
        self.shipping_address: str | None = None

    def change_shipping_address(self, address: str) -> None:
        """Records ShippingAddressChanged, before confirmation only."""
        # BEGIN SOLUTION
        if not address.strip():
            raise InvalidOrder("address", "must not be empty")
        open_statuses = (OrderStatus.PENDING, OrderStatus.STOCK_RESERVED,
                         OrderStatus.PAID)
        if self.status not in open_statuses:
            raise OrderConflict(f"order {self.order_id} is {self.status}: "
                                "too late to change its address")
        self.record(ShippingAddressChanged(self.order_id, address.strip()))
        # END SOLUTION

    def apply(self, event: Event) -> None:
        """Changes state by one event, the new one included."""
        # BEGIN SOLUTION
        if isinstance(event, ShippingAddressChanged):
            self.shipping_address = event.address
            return
        super().apply(event)
        # END SOLUTION
        # BEGIN STUB
        # super().apply(event)
        # END STUB


# %% check=ex1
ex1.check(ShippableOrder)
