"""The product catalogue: reference data every context reads, standard library only.

# Simplification: orders and inventory both read this list instead of the
# order service keeping its own copy fed by inventory's events. Reference
# data that changes rarely is often shared this way; a real shop would
# publish catalogue changes as events.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class CatalogueItem:
    """A product the shop sells, with the stock it starts with."""

    product_id: str
    name: str
    unit_price: Decimal
    initial_stock: int
    low_stock_threshold: int


CATALOGUE: tuple[CatalogueItem, ...] = (
    CatalogueItem("laptop-001", "Laptop 14-inch", Decimal("999.99"), 25, 5),
    CatalogueItem("mouse-001", "Wireless mouse", Decimal("29.99"), 200, 20),
    CatalogueItem("book-001", "Event Sourcing in Practice", Decimal("19.99"),
                  500, 25),
    CatalogueItem("shirt-001", "Cotton shirt", Decimal("25.00"), 300, 20),
    CatalogueItem("pants-001", "Denim pants", Decimal("45.00"), 300, 20),
    CatalogueItem("keyboard-001", "Mechanical keyboard", Decimal("89.90"),
                  100, 10),
    CatalogueItem("monitor-001", "27-inch monitor", Decimal("249.00"), 40, 5),
    CatalogueItem("headphones-001", "Noise-cancelling headphones",
                  Decimal("159.00"), 60, 5),
    # One of a kind: the second order for it is rejected as out of stock.
    CatalogueItem("limited-001", "Signed first edition", Decimal("120.00"),
                  1, 0),
)

PRODUCT_IDS: frozenset[str] = frozenset(item.product_id for item in CATALOGUE)


def catalogue_item(product_id: str) -> CatalogueItem | None:
    """The catalogue entry for `product_id`, or None when it is unknown."""
    for item in CATALOGUE:
        if item.product_id == product_id:
            return item
    return None
