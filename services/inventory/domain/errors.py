"""Errors the inventory context raises, one base class for all of them."""

from __future__ import annotations


class InventoryError(Exception):
    """Something about stock went wrong."""


class OutOfStock(InventoryError):
    """A product has fewer units available than requested."""

    def __init__(self, product_id: str, requested: int, available: int) -> None:
        super().__init__(
            f"out of stock: {product_id}"
            f" (requested {requested}, available {available})"
        )
        self.product_id = product_id
        self.requested = requested
        self.available = available


class UnknownProduct(InventoryError):
    """No product exists with the given id."""

    def __init__(self, product_id: str) -> None:
        super().__init__(f"unknown product: {product_id}")
        self.product_id = product_id


class InvalidQuantity(InventoryError):
    """A quantity is not a whole number in the allowed range."""
