"""Errors the payment context raises, one base class for all of them."""

from __future__ import annotations


class PaymentError(Exception):
    """Something about a payment went wrong."""


class InvalidAmount(PaymentError):
    """An amount is not a finite decimal of at least zero."""
