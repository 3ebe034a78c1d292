"""The reservation aggregate: the stock held for one order."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import TypeAlias
from uuid import UUID

from services.inventory.domain.errors import (
    InvalidQuantity,
    OutOfStock,
    UnknownProduct,
)
from services.inventory.domain.events import (
    ReservedLine,
    StockInTransit,
    StockReleased,
    StockReservationRejected,
    StockReserved,
)
from services.inventory.domain.stock import ProductStock
from services.shared.aggregate import Aggregate, Event

# Stands in for the id until the first event is applied.
NO_ORDER = UUID(int=0)

# Product id -> its stock; None (or no entry) means the product is unknown.
Stocks: TypeAlias = Mapping[str, ProductStock | None]


class ReservationStatus(StrEnum):
    """The stages of an order's stock reservation."""

    RESERVED = "reserved"
    REJECTED = "rejected"
    RELEASED = "released"
    IN_TRANSIT = "in_transit"


def reservation_stream(order_id: UUID) -> str:
    """Returns the event-store stream id of an order's reservation."""
    return f"reservation-{order_id}"


class Reservation(Aggregate):
    """An order's reservation; status is None until its first event."""

    def __init__(self) -> None:
        super().__init__()
        self.order_id: UUID = NO_ORDER
        self.status: ReservationStatus | None = None
        self.lines: tuple[ReservedLine, ...] = ()
        self.reason: str | None = None

    def release(self, stocks: Stocks, reason: str) -> None:
        """Returns the held stock to available and records the release."""
        if self.status not in (
            ReservationStatus.RESERVED,
            ReservationStatus.IN_TRANSIT,
        ):
            return
        for line in self.lines:
            stock = _stock(stocks, line.product_id)
            if self.status is ReservationStatus.IN_TRANSIT:
                stock.take_back(self.order_id, line.quantity)
            else:
                stock.deallocate(self.order_id)
        self.record(StockReleased(self.order_id, self.lines, reason))

    def dispatch(self, stocks: Stocks) -> None:
        """Sends reserved stock on its way and records it is in transit."""
        if self.status is not ReservationStatus.RESERVED:
            return
        for line in self.lines:
            _stock(stocks, line.product_id).dispatch(self.order_id)
        self.record(StockInTransit(self.order_id, self.lines))

    def apply(self, event: Event) -> None:
        """Changes the reservation by one of its events."""
        match event:
            case StockReserved():
                self.order_id = event.order_id
                self.lines = event.lines
                self.status = ReservationStatus.RESERVED
            case StockReservationRejected():
                self.order_id = event.order_id
                self.reason = event.reason
                self.status = ReservationStatus.REJECTED
            case StockReleased():
                self.reason = event.reason
                self.status = ReservationStatus.RELEASED
            case StockInTransit():
                self.status = ReservationStatus.IN_TRANSIT
            case _:
                raise TypeError(
                    f"Reservation cannot apply {event.type_name()}"
                )


def reserve_stock(
    order_id: UUID, lines: Sequence[ReservedLine], stocks: Stocks
) -> Reservation:
    """Reserves every line on its product's stock, or rejects them all."""
    merged = merge_lines(lines)
    reservation = Reservation()
    try:
        # Check every product before allocating any: all or nothing.
        held = _stocks_with_enough(merged, stocks)
    except (UnknownProduct, OutOfStock) as error:
        reservation.record(
            StockReservationRejected(order_id, str(error), error.product_id)
        )
        return reservation
    for line in merged:
        held[line.product_id].allocate(order_id, line.quantity)
    reservation.record(StockReserved(order_id, merged))
    return reservation


def merge_lines(lines: Sequence[ReservedLine]) -> tuple[ReservedLine, ...]:
    """Adds up lines of the same product, keeping first-seen order."""
    if not lines:
        raise InvalidQuantity("a reservation needs at least one line")
    totals: dict[str, int] = {}
    for line in lines:
        quantity = line.quantity
        if not isinstance(quantity, int) or isinstance(quantity, bool):
            raise InvalidQuantity(f"quantity must be a whole number: {line}")
        if quantity <= 0:
            raise InvalidQuantity(f"quantity must be at least 1: {line}")
        totals[line.product_id] = totals.get(line.product_id, 0) + quantity
    return tuple(ReservedLine(pid, qty) for pid, qty in totals.items())


def _stocks_with_enough(
    lines: tuple[ReservedLine, ...], stocks: Stocks
) -> dict[str, ProductStock]:
    """Returns each line's stock; raises if one is unknown or too low."""
    held: dict[str, ProductStock] = {}
    for line in lines:
        stock = _stock(stocks, line.product_id)
        if line.quantity > stock.available:
            raise OutOfStock(line.product_id, line.quantity, stock.available)
        held[line.product_id] = stock
    return held


def _stock(stocks: Stocks, product_id: str) -> ProductStock:
    """Returns the product's stock, raising UnknownProduct if missing."""
    stock = stocks.get(product_id)
    if stock is None:
        raise UnknownProduct(product_id)
    return stock
