"""Commands the inventory context accepts."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from services.inventory.domain.events import ReservedLine
from services.shared.aggregate import Command


@dataclass(frozen=True)
class ReserveStock(Command):
    """Reserves every line of an order, or none of them."""

    order_id: UUID
    lines: tuple[ReservedLine, ...]


@dataclass(frozen=True)
class ReleaseStock(Command):
    """Returns an order's reserved or in-transit stock to available."""

    order_id: UUID
    reason: str


@dataclass(frozen=True)
class DispatchStock(Command):
    """Sends an order's reserved stock on its way."""

    order_id: UUID


@dataclass(frozen=True)
class AddStock(Command):
    """Adds units of a product to the available stock."""

    product_id: str
    quantity: int


COMMANDS: dict[str, type[Command]] = {
    command.type_name(): command
    for command in (ReserveStock, ReleaseStock, DispatchStock, AddStock)
}
