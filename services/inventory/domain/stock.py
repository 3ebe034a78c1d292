"""The product stock aggregate: one product's available and held units."""

from __future__ import annotations

from uuid import UUID

from services.inventory.domain.errors import InvalidQuantity, OutOfStock
from services.inventory.domain.events import (
    FROM_IN_TRANSIT,
    FROM_RESERVED,
    ProductAdded,
    StockAdded,
    StockAllocated,
    StockDeallocated,
    StockDispatched,
)
from services.shared.aggregate import Aggregate, Event


def stock_stream(product_id: str) -> str:
    """Returns the event-store stream id of a product's stock."""
    return f"stock-{product_id}"


class ProductStock(Aggregate):
    """A product's stock: units available, reserved and in transit."""

    def __init__(self) -> None:
        super().__init__()
        self.product_id = ""
        self.name = ""
        self.available = 0
        self.reserved: dict[UUID, int] = {}
        self.in_transit: dict[UUID, int] = {}
        self.low_stock_threshold = 0

    @property
    def low_stock(self) -> bool:
        """Tells whether available units fell to the threshold or below."""
        return self.available <= self.low_stock_threshold

    @property
    def reserved_total(self) -> int:
        """Returns the units set aside for orders, not yet dispatched."""
        return sum(self.reserved.values())

    @property
    def in_transit_total(self) -> int:
        """Returns the units dispatched to orders."""
        return sum(self.in_transit.values())

    @classmethod
    def add_product(
        cls,
        product_id: str,
        name: str,
        low_stock_threshold: int,
        initial_stock: int,
    ) -> ProductStock:
        """Records a new product and, if any, its initial stock."""
        _check_quantity(low_stock_threshold, "low stock threshold", minimum=0)
        _check_quantity(initial_stock, "initial stock", minimum=0)
        stock = cls()
        stock.record(ProductAdded(product_id, name, low_stock_threshold))
        if initial_stock > 0:
            stock.record(StockAdded(product_id, initial_stock))
        return stock

    def add_stock(self, quantity: int) -> None:
        """Records units that arrived and are now available."""
        _check_quantity(quantity, "quantity", minimum=1)
        self.record(StockAdded(self.product_id, quantity))

    def allocate(self, order_id: UUID, quantity: int) -> None:
        """Sets units aside for an order, once per order."""
        _check_quantity(quantity, "quantity", minimum=1)
        if order_id in self.reserved or order_id in self.in_transit:
            return
        if quantity > self.available:
            raise OutOfStock(self.product_id, quantity, self.available)
        self.record(StockAllocated(self.product_id, order_id, quantity))

    def deallocate(self, order_id: UUID) -> None:
        """Returns an order's reserved or in-transit units to available."""
        if order_id in self.reserved:
            quantity, source = self.reserved[order_id], FROM_RESERVED
        elif order_id in self.in_transit:
            quantity, source = self.in_transit[order_id], FROM_IN_TRANSIT
        else:
            return
        self.record(
            StockDeallocated(self.product_id, order_id, quantity, source)
        )

    def dispatch(self, order_id: UUID) -> None:
        """Moves an order's reserved units into transit."""
        quantity = self.reserved.get(order_id)
        if quantity is not None:
            self.record(StockDispatched(self.product_id, order_id, quantity))

    def apply(self, event: Event) -> None:
        """Changes the stock by one of its events."""
        match event:
            case ProductAdded():
                self.product_id = event.product_id
                self.name = event.name
                self.low_stock_threshold = event.low_stock_threshold
            case StockAdded():
                self.available += event.quantity
            case StockAllocated():
                self.available -= event.quantity
                self.reserved[event.order_id] = event.quantity
            case StockDeallocated():
                self._held(event.source).pop(event.order_id, None)
                self.available += event.quantity
            case StockDispatched():
                del self.reserved[event.order_id]
                self.in_transit[event.order_id] = event.quantity
            case _:
                raise TypeError(
                    f"ProductStock cannot apply {event.type_name()}"
                )

    def _held(self, source: str) -> dict[UUID, int]:
        return self.in_transit if source == FROM_IN_TRANSIT else self.reserved


def _check_quantity(value: int, what: str, *, minimum: int) -> None:
    """Raises InvalidQuantity unless `value` is a whole number >= minimum."""
    # bool is an int subclass, but True is not a quantity.
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidQuantity(f"{what} must be a whole number, got {value!r}")
    if value < minimum:
        raise InvalidQuantity(f"{what} must be at least {minimum}, got {value}")
