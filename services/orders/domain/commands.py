"""Commands the order context accepts."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from uuid import UUID

from services.orders.domain.events import OrderLine
from services.shared.aggregate import Command


@dataclass(frozen=True)
class PlaceOrder(Command):
    """Places a new order; `total_amount`, when given, must match the lines."""

    order_id: UUID
    customer_id: str
    lines: tuple[OrderLine, ...]
    total_amount: Decimal | None = None
    confirmation: str = "auto"


@dataclass(frozen=True)
class ConfirmOrder(Command):
    """Confirms a paid order by hand; at `expected_version` when it is given."""

    order_id: UUID
    expected_version: int | None = None


@dataclass(frozen=True)
class CancelOrder(Command):
    """Cancels an open order; at `expected_version` when it is given."""

    order_id: UUID
    reason: str
    expected_version: int | None = None


COMMANDS: dict[str, type[Command]] = {
    command.type_name(): command
    for command in (PlaceOrder, ConfirmOrder, CancelOrder)
}
