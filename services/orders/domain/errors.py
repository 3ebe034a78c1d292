"""Errors the order context raises, one base class for all of them."""

from __future__ import annotations

from uuid import UUID


class OrderError(Exception):
    """Something about an order went wrong."""


class InvalidOrder(OrderError):
    """Input breaks a rule of the order; names the field at fault."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


class OrderNotFound(OrderError):
    """No order exists with the given id."""

    def __init__(self, order_id: UUID) -> None:
        super().__init__(f"order {order_id} not found")
        self.order_id = order_id


class OrderConflict(OrderError):
    """The order's current status does not allow the request."""


class OrderNotConfirmable(OrderConflict):
    """The order cannot be confirmed in its current status."""


class OrderNotCancellable(OrderConflict):
    """The order cannot be cancelled in its current status."""
