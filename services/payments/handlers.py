"""What the payment service does: charge reserved orders, refund cancelled ones."""

from __future__ import annotations

import logging
import uuid

from sqlalchemy.ext.asyncio import AsyncConnection

from services.payments import messages
from services.payments.adapters import payments
from services.payments.domain import (
    Payment,
    PaymentPolicy,
    ProcessPayment,
    payment_stream,
)
from services.shared.consumer import Subscription
from services.shared.messages import Envelope
from services.shared.repository import MessageContext
from services.shared.settings import get_settings

logger = logging.getLogger(__name__)


def policy() -> PaymentPolicy:
    """The decline rule of this run, from the lab's settings."""
    return PaymentPolicy(decline_above=get_settings().payment_decline_above)


async def charge_order(conn: AsyncConnection, envelope: Envelope,
                       message: messages.OrderStockReserved) -> None:
    """Charges an order once; the policy approves or declines it."""
    stream = payment_stream(message.order_id)
    if await payments.store.current_version(conn, stream) > 0:
        return
    command = ProcessPayment(message.order_id, uuid.uuid4(),
                             message.customer_id, message.total_amount)

    payment = Payment.process(command, policy())

    await _save(conn, envelope, payment)
    logger.info("payment order_id=%s status=%s amount=%s", message.order_id,
                payment.status, message.total_amount)


async def refund_order(conn: AsyncConnection, envelope: Envelope,
                       message: messages.OrderCancelled) -> None:
    """Refunds a cancelled order's payment, or voids it if none was taken."""
    payment = await payments.load(conn, payment_stream(message.order_id))

    if payment is None:
        payment = Payment.void(message.order_id, message.reason)
    else:
        payment.cancel(message.reason)

    await _save(conn, envelope, payment)
    logger.info("payment after cancel order_id=%s status=%s", message.order_id,
                payment.status)


async def _save(conn: AsyncConnection, envelope: Envelope,
                payment: Payment) -> None:
    context = MessageContext(envelope.correlation_id, str(envelope.event_id))
    await payments.save(conn, payment_stream(payment.order_id), payment, context,
                        key=str(payment.order_id))


SUBSCRIPTIONS = {
    "OrderStockReserved": Subscription(messages.OrderStockReserved, charge_order),
    "OrderCancelled": Subscription(messages.OrderCancelled, refund_order),
}

CONSUMED_TOPICS = ("orders-events",)
