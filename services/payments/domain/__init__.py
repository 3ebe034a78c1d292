"""The payment context's domain model: payment, policy and messages."""

from __future__ import annotations

from services.payments.domain.commands import (
    COMMANDS,
    ProcessPayment,
    RefundPayment,
)
from services.payments.domain.errors import InvalidAmount, PaymentError
from services.payments.domain.events import (
    EVENTS,
    PaymentApproved,
    PaymentDeclined,
    PaymentRefunded,
    PaymentVoided,
)
from services.payments.domain.payment import (
    Payment,
    PaymentStatus,
    payment_stream,
)
from services.payments.domain.policy import PaymentPolicy

__all__ = [
    "COMMANDS",
    "EVENTS",
    "InvalidAmount",
    "Payment",
    "PaymentApproved",
    "PaymentDeclined",
    "PaymentError",
    "PaymentPolicy",
    "PaymentRefunded",
    "PaymentStatus",
    "PaymentVoided",
    "ProcessPayment",
    "RefundPayment",
    "payment_stream",
]
