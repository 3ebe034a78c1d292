"""The inventory context's domain model: stock, reservations, messages."""

from __future__ import annotations

from services.inventory.domain.commands import (
    COMMANDS,
    AddStock,
    DispatchStock,
    ReleaseStock,
    ReserveStock,
)
from services.inventory.domain.errors import (
    InvalidQuantity,
    InventoryError,
    OutOfStock,
    UnknownProduct,
)
from services.inventory.domain.events import (
    EVENTS,
    FROM_IN_TRANSIT,
    FROM_RESERVED,
    ProductAdded,
    ReservedLine,
    StockAdded,
    StockAllocated,
    StockDeallocated,
    StockDispatched,
    StockInTransit,
    StockReleased,
    StockReservationRejected,
    StockReserved,
)
from services.inventory.domain.reservation import (
    Reservation,
    ReservationStatus,
    merge_lines,
    reservation_stream,
    reserve_stock,
)
from services.inventory.domain.stock import ProductStock, stock_stream

__all__ = [
    "COMMANDS",
    "EVENTS",
    "FROM_IN_TRANSIT",
    "FROM_RESERVED",
    "AddStock",
    "DispatchStock",
    "InvalidQuantity",
    "InventoryError",
    "OutOfStock",
    "ProductAdded",
    "ProductStock",
    "ReleaseStock",
    "Reservation",
    "ReservationStatus",
    "ReserveStock",
    "ReservedLine",
    "StockAdded",
    "StockAllocated",
    "StockDeallocated",
    "StockDispatched",
    "StockInTransit",
    "StockReleased",
    "StockReservationRejected",
    "StockReserved",
    "UnknownProduct",
    "merge_lines",
    "reservation_stream",
    "reserve_stock",
    "stock_stream",
]
