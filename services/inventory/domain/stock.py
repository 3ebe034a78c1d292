"""The product stock aggregate: one product's available and held units."""

from __future__ import annotations

from typing import Any
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
        # Reservations are tracked per order until dispatch; units in transit
        # only as a count, so the state stays small however many orders ship.
        self.reserved: dict[UUID, int] = {}
        self.in_transit = 0
        self.low_stock_threshold = 0

    @property
    def low_stock(self) -> bool:
        """Tells whether available units fell to the threshold or below."""
        return self.available <= self.low_stock_threshold

    @property
    def reserved_total(self) -> int:
        """Returns the units set aside for orders, not yet dispatched."""
        return sum(self.reserved.values())


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
        if order_id in self.reserved:
            return
        if quantity > self.available:
            raise OutOfStock(self.product_id, quantity, self.available)
        self.record(StockAllocated(self.product_id, order_id, quantity))

    def deallocate(self, order_id: UUID) -> None:
        """Returns an order's reserved units to available."""
        quantity = self.reserved.get(order_id)
        if quantity is None:
            return
        self.record(
            StockDeallocated(self.product_id, order_id, quantity, FROM_RESERVED)
        )

    def take_back(self, order_id: UUID, quantity: int) -> None:
        """Returns units that were in transit for an order to available."""
        _check_quantity(quantity, "quantity", minimum=1)
        if quantity > self.in_transit:
            raise InvalidQuantity(
                f"{quantity} units of {self.product_id} cannot come back: "
                f"only {self.in_transit} are in transit"
            )
        self.record(
            StockDeallocated(self.product_id, order_id, quantity, FROM_IN_TRANSIT)
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
            case StockDeallocated() if event.source == FROM_IN_TRANSIT:
                self.in_transit -= event.quantity
                self.available += event.quantity
            case StockDeallocated():
                self.reserved.pop(event.order_id, None)
                self.available += event.quantity
            case StockDispatched():
                del self.reserved[event.order_id]
                self.in_transit += event.quantity
            case _:
                raise TypeError(
                    f"ProductStock cannot apply {event.type_name()}"
                )

    def snapshot(self) -> dict[str, object]:
        """The state as JSON-ready data, so loading need not replay every event."""
        return {
            "product_id": self.product_id,
            "name": self.name,
            "available": self.available,
            "reserved": {str(k): v for k, v in self.reserved.items()},
            "in_transit": self.in_transit,
            "low_stock_threshold": self.low_stock_threshold,
        }

    @classmethod
    def from_snapshot(cls, state: dict[str, Any], version: int) -> ProductStock:
        """Restores the state a `snapshot` captured at `version`."""
        stock = cls()
        stock.product_id = state["product_id"]
        stock.name = state["name"]
        stock.available = state["available"]
        stock.reserved = {UUID(k): v for k, v in state["reserved"].items()}
        stock.in_transit = state["in_transit"]
        stock.low_stock_threshold = state["low_stock_threshold"]
        stock.version = version
        return stock


def _check_quantity(value: int, what: str, *, minimum: int) -> None:
    """Raises InvalidQuantity unless `value` is a whole number >= minimum."""
    # bool is an int subclass, but True is not a quantity.
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidQuantity(f"{what} must be a whole number, got {value!r}")
    if value < minimum:
        raise InvalidQuantity(f"{what} must be at least {minimum}, got {value}")
