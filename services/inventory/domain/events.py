"""Events of the inventory context, and the reserved line they carry."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from services.shared.aggregate import Event

# Where deallocated stock came from, as StockDeallocated.source says.
FROM_RESERVED = "reserved"
FROM_IN_TRANSIT = "in_transit"


@dataclass(frozen=True)
class ReservedLine:
    """A quantity of one product held for an order."""

    product_id: str
    quantity: int


@dataclass(frozen=True)
class ProductAdded(Event):
    """A product was added to the warehouse, with no stock yet."""

    product_id: str
    name: str
    low_stock_threshold: int


@dataclass(frozen=True)
class StockAdded(Event):
    """Units of a product arrived and became available."""

    product_id: str
    quantity: int


@dataclass(frozen=True)
class StockAllocated(Event):
    """Available units of a product were set aside for an order."""

    product_id: str
    order_id: UUID
    quantity: int


@dataclass(frozen=True)
class StockDeallocated(Event):
    """An order's units went back to available; `source` says from where."""

    product_id: str
    order_id: UUID
    quantity: int
    source: str


@dataclass(frozen=True)
class StockDispatched(Event):
    """An order's reserved units left the warehouse."""

    product_id: str
    order_id: UUID
    quantity: int


@dataclass(frozen=True)
class StockReserved(Event):
    """Every line of an order was reserved."""

    order_id: UUID
    lines: tuple[ReservedLine, ...]


@dataclass(frozen=True)
class StockReservationRejected(Event):
    """An order's stock could not be reserved; nothing was set aside."""

    order_id: UUID
    reason: str
    product_id: str | None


@dataclass(frozen=True)
class StockReleased(Event):
    """An order's reserved or in-transit stock went back to available."""

    order_id: UUID
    lines: tuple[ReservedLine, ...]
    reason: str


@dataclass(frozen=True)
class StockInTransit(Event):
    """An order's reserved stock was dispatched."""

    order_id: UUID
    lines: tuple[ReservedLine, ...]


EVENTS: dict[str, type[Event]] = {
    event.type_name(): event
    for event in (
        ProductAdded,
        StockAdded,
        StockAllocated,
        StockDeallocated,
        StockDispatched,
        StockReserved,
        StockReservationRejected,
        StockReleased,
        StockInTransit,
    )
}
