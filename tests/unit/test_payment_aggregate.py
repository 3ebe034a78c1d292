"""Payment aggregate and policy: given events, when a command, then events."""

from __future__ import annotations

from decimal import Decimal
from uuid import UUID, uuid4

import pytest

from services.payments.domain import (
    COMMANDS,
    EVENTS,
    InvalidAmount,
    Payment,
    PaymentApproved,
    PaymentDeclined,
    PaymentError,
    PaymentPolicy,
    PaymentRefunded,
    PaymentStatus,
    PaymentVoided,
    ProcessPayment,
    payment_stream,
)

ORDER_ID = UUID("00000000-0000-0000-0000-0000000000a1")
PAYMENT_ID = UUID("00000000-0000-0000-0000-0000000000b2")
POLICY = PaymentPolicy()


def process(amount: str = "1059.97", customer_id: str = "alice") -> Payment:
    cmd = ProcessPayment(ORDER_ID, PAYMENT_ID, customer_id, Decimal(amount))
    return Payment.process(cmd, POLICY)


def approved() -> PaymentApproved:
    return PaymentApproved(ORDER_ID, PAYMENT_ID, "alice", Decimal("1059.97"))


# Policy


def test_policy_approves_an_ordinary_payment() -> None:
    assert POLICY.decline_reason(Decimal("5000.00"), "alice") is None


def test_policy_declines_an_amount_above_the_limit() -> None:
    reason = POLICY.decline_reason(Decimal("6000.00"), "alice")

    assert reason == "amount 6000.00 exceeds the limit of 5000.00"


def test_policy_declines_a_flagged_customer() -> None:
    reason = POLICY.decline_reason(Decimal("10.00"), "decline-bob")

    assert reason == "customer decline-bob is flagged to decline"


def test_policy_limit_and_prefix_can_be_changed() -> None:
    policy = PaymentPolicy(Decimal("10.00"), decline_customer_prefix="")

    assert policy.decline_reason(Decimal("10.01"), "alice") is not None
    assert policy.decline_reason(Decimal("1.00"), "decline-bob") is None


# Processing


def test_process_payment_records_approved() -> None:
    payment = process()

    assert payment.take_pending() == [approved()]
    assert payment.status is PaymentStatus.APPROVED
    assert payment.payment_id == PAYMENT_ID
    assert payment.amount == Decimal("1059.97")
    assert not payment.is_settled


def test_process_payment_above_the_limit_records_declined() -> None:
    payment = process(amount="6000.00")

    assert payment.take_pending() == [
        PaymentDeclined(
            ORDER_ID,
            PAYMENT_ID,
            "alice",
            Decimal("6000.00"),
            "amount 6000.00 exceeds the limit of 5000.00",
        )
    ]
    assert payment.status is PaymentStatus.DECLINED
    assert payment.is_settled


def test_process_payment_for_flagged_customer_records_declined() -> None:
    payment = process(customer_id="decline-bob")

    assert payment.status is PaymentStatus.DECLINED
    assert payment.reason == "customer decline-bob is flagged to decline"


@pytest.mark.parametrize(
    "amount", [Decimal("-0.01"), Decimal("NaN"), Decimal("-Infinity"), 10.0]
)
def test_process_payment_fails_with_invalid_amount(amount: object) -> None:
    cmd = ProcessPayment(
        ORDER_ID, PAYMENT_ID, "alice", amount  # type: ignore[arg-type]
    )

    with pytest.raises(InvalidAmount):
        Payment.process(cmd, POLICY)


def test_process_payment_of_zero_is_approved() -> None:
    assert process(amount="0.00").status is PaymentStatus.APPROVED


# Cancelling and voiding


def test_cancel_approved_payment_records_refunded() -> None:
    payment = Payment.rebuild([approved()])

    payment.cancel("order cancelled")

    assert payment.take_pending() == [
        PaymentRefunded(
            ORDER_ID, PAYMENT_ID, Decimal("1059.97"), "order cancelled"
        )
    ]
    assert payment.status is PaymentStatus.REFUNDED
    assert payment.is_settled


def test_cancel_refunded_payment_records_nothing() -> None:
    payment = Payment.rebuild(
        [
            approved(),
            PaymentRefunded(ORDER_ID, PAYMENT_ID, Decimal("1059.97"), "x"),
        ]
    )

    payment.cancel("again")

    assert payment.take_pending() == []


def test_cancel_declined_payment_records_nothing() -> None:
    payment = process(amount="6000.00")
    payment.take_pending()

    payment.cancel("order cancelled")

    assert payment.take_pending() == []


def test_void_records_voided_for_an_unpaid_order() -> None:
    payment = Payment.void(ORDER_ID, "order cancelled")

    assert payment.take_pending() == [
        PaymentVoided(ORDER_ID, "order cancelled")
    ]
    assert payment.status is PaymentStatus.VOIDED
    assert payment.payment_id is None
    assert payment.is_settled


def test_cancel_voided_payment_records_nothing() -> None:
    payment = Payment.rebuild([PaymentVoided(ORDER_ID, "order cancelled")])

    payment.cancel("again")

    assert payment.take_pending() == []


# Rebuilding and helpers


def test_rebuild_reproduces_the_state_of_a_live_payment() -> None:
    live = process()
    live.cancel("order cancelled")

    replayed = Payment.rebuild(live.take_pending())

    assert vars(replayed) == vars(live)


def test_new_payment_has_no_status_and_is_not_settled() -> None:
    payment = Payment()

    assert payment.status is None
    assert not payment.is_settled


def test_payment_stream_prefixes_the_order_id() -> None:
    order_id = uuid4()

    assert payment_stream(order_id) == f"payment-{order_id}"


def test_invalid_amount_is_a_payment_error() -> None:
    assert issubclass(InvalidAmount, PaymentError)


def test_registries_list_every_message_by_type_name() -> None:
    assert set(EVENTS) == {
        "PaymentApproved",
        "PaymentDeclined",
        "PaymentRefunded",
        "PaymentVoided",
    }
    assert set(COMMANDS) == {"ProcessPayment", "RefundPayment"}
