"""Order aggregate: given events, when a command, then new events."""

from __future__ import annotations

from decimal import Decimal
from uuid import UUID, uuid4

import pytest

from services.orders.domain import (
    COMMANDS,
    EVENTS,
    InvalidOrder,
    Order,
    OrderCancelled,
    OrderConfirmed,
    OrderConflict,
    OrderError,
    OrderLine,
    OrderNotCancellable,
    OrderNotConfirmable,
    OrderNotFound,
    OrderPaid,
    OrderPlaced,
    OrderReadyForDelivery,
    OrderRejected,
    OrderStatus,
    OrderStockReserved,
    PlaceOrder,
    order_stream,
)
from services.shared.aggregate import Event

ORDER_ID = UUID("00000000-0000-0000-0000-0000000000a1")
PAYMENT_ID = UUID("00000000-0000-0000-0000-0000000000b2")
LAPTOP = OrderLine("laptop-001", 1, Decimal("999.99"))
MICE = OrderLine("mouse-001", 2, Decimal("29.99"))
TOTAL = Decimal("1059.97")


def place_command(**changes: object) -> PlaceOrder:
    fields: dict[str, object] = {
        "order_id": ORDER_ID,
        "customer_id": "alice",
        "lines": (LAPTOP, MICE),
    }
    fields.update(changes)
    return PlaceOrder(**fields)  # type: ignore[arg-type]


def placed(confirmation: str = "auto") -> OrderPlaced:
    return OrderPlaced(ORDER_ID, "alice", (LAPTOP, MICE), TOTAL, confirmation)


def reserved() -> OrderStockReserved:
    return OrderStockReserved(ORDER_ID, "alice", TOTAL)


def paid() -> OrderPaid:
    return OrderPaid(ORDER_ID, PAYMENT_ID, TOTAL)


def given(*events: Event) -> Order:
    return Order.rebuild(events)


def invalid_field(cmd: PlaceOrder) -> InvalidOrder:
    with pytest.raises(InvalidOrder) as caught:
        Order.place(cmd)
    return caught.value


# Placing


def test_place_order_records_order_placed_with_decimal_total() -> None:
    order = Order.place(place_command())

    assert order.take_pending() == [placed()]
    assert order.total_amount == Decimal("1059.97")
    assert order.status is OrderStatus.PENDING
    assert order.version == 1


def test_place_order_total_is_exact_decimal_not_float() -> None:
    lines = (OrderLine("book-001", 3, Decimal("19.99")),)

    order = Order.place(place_command(lines=lines))

    assert order.total_amount == Decimal("59.97")
    assert str(order.total_amount) == "59.97"


def test_place_order_accepts_matching_total_amount() -> None:
    order = Order.place(place_command(total_amount=Decimal("1059.970")))

    assert order.total_amount == TOTAL


def test_place_order_keeps_manual_confirmation() -> None:
    order = Order.place(place_command(confirmation="manual"))

    assert order.confirmation == "manual"


def test_place_order_strips_customer_id() -> None:
    order = Order.place(place_command(customer_id="  alice "))

    assert order.customer_id == "alice"


def test_place_order_fails_without_items() -> None:
    error = invalid_field(place_command(lines=()))

    assert error.field == "items"
    assert "at least one" in error.problem


def test_place_order_fails_with_blank_customer_id() -> None:
    error = invalid_field(place_command(customer_id="   "))

    assert error.field == "customerId"
    assert str(error).startswith("customerId:")


@pytest.mark.parametrize("quantity", [0, -1, True, 1.5])
def test_place_order_fails_with_bad_quantity(quantity: object) -> None:
    price = Decimal("29.99")
    line = OrderLine("mouse-001", quantity, price)  # type: ignore[arg-type]

    error = invalid_field(place_command(lines=(LAPTOP, line)))

    assert error.field == "items[1].quantity"


@pytest.mark.parametrize(
    "price",
    [
        Decimal("-0.01"),
        Decimal("1.999"),
        Decimal("NaN"),
        Decimal("Infinity"),
        9.99,
    ],
)
def test_place_order_fails_with_bad_unit_price(price: object) -> None:
    line = OrderLine("mouse-001", 1, price)  # type: ignore[arg-type]

    error = invalid_field(place_command(lines=(line,)))

    assert error.field == "items[0].unitPrice"


def test_place_order_accepts_free_items_and_trailing_zeros() -> None:
    lines = (
        OrderLine("book-001", 1, Decimal(0)),
        OrderLine("shirt-001", 1, Decimal("25.000")),
    )

    order = Order.place(place_command(lines=lines))

    assert order.total_amount == Decimal("25.00")


def test_place_order_fails_with_unknown_product_naming_it() -> None:
    line = OrderLine("unicorn-001", 1, Decimal("1.00"))

    error = invalid_field(place_command(lines=(LAPTOP, line)))

    assert error.field == "items[1].productId"
    assert "unicorn-001" in error.problem


def test_place_order_fails_with_unknown_confirmation_mode() -> None:
    error = invalid_field(place_command(confirmation="later"))

    assert error.field == "confirmation"


def test_place_order_fails_when_total_amount_does_not_match() -> None:
    error = invalid_field(place_command(total_amount=Decimal("1000.00")))

    assert error.field == "totalAmount"
    assert "1059.97" in error.problem


# Stock reservation and rejection


def test_mark_stock_reserved_records_order_stock_reserved() -> None:
    order = given(placed())

    order.mark_stock_reserved()

    assert order.take_pending() == [reserved()]
    assert order.status is OrderStatus.STOCK_RESERVED


def test_mark_stock_reserved_twice_records_nothing() -> None:
    order = given(placed(), reserved())

    order.mark_stock_reserved()

    assert order.take_pending() == []


def test_reject_records_order_rejected_for_pending_order() -> None:
    order = given(placed())

    order.reject("out of stock: laptop-001 (requested 1, available 0)")

    assert order.take_pending() == [
        OrderRejected(
            ORDER_ID, "out of stock: laptop-001 (requested 1, available 0)"
        )
    ]
    assert order.status is OrderStatus.REJECTED
    assert order.reason is not None and "out of stock" in order.reason


def test_reject_after_stock_reserved_records_nothing() -> None:
    order = given(placed(), reserved())

    order.reject("late")

    assert order.take_pending() == []


# Payment


def test_mark_paid_in_auto_mode_records_paid_and_confirmed() -> None:
    order = given(placed(), reserved())

    order.mark_paid(PAYMENT_ID, TOTAL)

    assert order.take_pending() == [paid(), OrderConfirmed(ORDER_ID)]
    assert order.status is OrderStatus.CONFIRMED


def test_mark_paid_in_manual_mode_records_only_paid() -> None:
    order = given(placed("manual"), reserved())

    order.mark_paid(PAYMENT_ID, TOTAL)

    assert order.take_pending() == [paid()]
    assert order.status is OrderStatus.PAID


def test_mark_paid_again_records_nothing() -> None:
    order = given(placed(), reserved(), paid(), OrderConfirmed(ORDER_ID))

    order.mark_paid(PAYMENT_ID, TOTAL)

    assert order.take_pending() == []


def test_mark_paid_before_stock_reserved_records_nothing() -> None:
    order = given(placed())

    order.mark_paid(PAYMENT_ID, TOTAL)

    assert order.take_pending() == []


def test_decline_payment_cancels_order_with_reason() -> None:
    order = given(placed(), reserved())

    order.decline_payment("amount too high")

    assert order.take_pending() == [
        OrderCancelled(
            ORDER_ID, "payment declined: amount too high", "stock_reserved"
        )
    ]
    assert order.status is OrderStatus.CANCELLED


def test_decline_payment_twice_records_nothing() -> None:
    order = given(
        placed(),
        reserved(),
        OrderCancelled(ORDER_ID, "payment declined: x", "stock_reserved"),
    )

    order.decline_payment("x")

    assert order.take_pending() == []


# Confirmation


def test_confirm_paid_order_records_confirmed_and_returns_true() -> None:
    order = given(placed("manual"), reserved(), paid())

    assert order.confirm() is True
    assert order.take_pending() == [OrderConfirmed(ORDER_ID)]
    assert order.status is OrderStatus.CONFIRMED


@pytest.mark.parametrize("ready", [False, True])
def test_confirm_confirmed_order_returns_false_and_records_nothing(
    ready: bool,
) -> None:
    history: list[Event] = [
        placed(), reserved(), paid(), OrderConfirmed(ORDER_ID)
    ]
    if ready:
        history.append(OrderReadyForDelivery(ORDER_ID))
    order = given(*history)

    assert order.confirm() is False
    assert order.take_pending() == []


def test_confirm_unpaid_auto_order_fails_saying_it_confirms_itself() -> None:
    order = given(placed(), reserved())

    with pytest.raises(OrderNotConfirmable) as caught:
        order.confirm()

    assert "not paid yet" in str(caught.value)
    assert "automatically" in str(caught.value)
    assert order.take_pending() == []


def test_confirm_unpaid_manual_order_fails_saying_it_is_not_paid() -> None:
    order = given(placed("manual"))

    with pytest.raises(OrderNotConfirmable, match="not paid yet"):
        order.confirm()


@pytest.mark.parametrize(
    "ending",
    [
        OrderRejected(ORDER_ID, "out of stock"),
        OrderCancelled(ORDER_ID, "changed my mind", "pending"),
    ],
)
def test_confirm_ended_order_fails_naming_its_status(ending: Event) -> None:
    order = given(placed(), ending)

    with pytest.raises(OrderNotConfirmable) as caught:
        order.confirm()

    assert str(order.status) in str(caught.value)
    assert isinstance(caught.value, OrderConflict)


# Delivery


def test_mark_ready_for_delivery_records_event_for_confirmed_order() -> None:
    order = given(placed(), reserved(), paid(), OrderConfirmed(ORDER_ID))

    order.mark_ready_for_delivery()

    assert order.take_pending() == [OrderReadyForDelivery(ORDER_ID)]
    assert order.status is OrderStatus.READY_FOR_DELIVERY


def test_mark_ready_for_delivery_of_unconfirmed_order_records_nothing() -> None:
    order = given(placed("manual"), reserved(), paid())

    order.mark_ready_for_delivery()

    assert order.take_pending() == []


# Cancellation


@pytest.mark.parametrize(
    ("history", "previous"),
    [
        ((), "pending"),
        ((reserved(),), "stock_reserved"),
        ((reserved(), paid()), "paid"),
        ((reserved(), paid(), OrderConfirmed(ORDER_ID)), "confirmed"),
        (
            (
                reserved(),
                paid(),
                OrderConfirmed(ORDER_ID),
                OrderReadyForDelivery(ORDER_ID),
            ),
            "ready_for_delivery",
        ),
    ],
)
def test_cancel_records_cancelled_with_previous_status(
    history: tuple[Event, ...], previous: str
) -> None:
    order = given(placed("manual"), *history)

    order.cancel("changed my mind")

    assert order.take_pending() == [
        OrderCancelled(ORDER_ID, "changed my mind", previous)
    ]
    assert order.status is OrderStatus.CANCELLED
    assert order.reason == "changed my mind"


def test_cancel_fails_with_blank_reason() -> None:
    order = given(placed())

    with pytest.raises(InvalidOrder) as caught:
        order.cancel("  ")

    assert caught.value.field == "reason"


@pytest.mark.parametrize(
    "ending",
    [
        OrderRejected(ORDER_ID, "out of stock"),
        OrderCancelled(ORDER_ID, "changed my mind", "pending"),
    ],
)
def test_cancel_ended_order_fails_naming_its_status(ending: Event) -> None:
    order = given(placed(), ending)

    with pytest.raises(OrderNotCancellable) as caught:
        order.cancel("again")

    assert str(order.status) in str(caught.value)
    assert isinstance(caught.value, OrderConflict)


# Rebuilding and helpers


def test_rebuild_reproduces_the_state_of_a_live_order() -> None:
    live = Order.place(place_command(confirmation="manual"))
    live.mark_stock_reserved()
    live.mark_paid(PAYMENT_ID, TOTAL)
    live.confirm()
    live.mark_ready_for_delivery()
    live.cancel("returned")

    replayed = Order.rebuild(live.take_pending())

    assert vars(replayed) == vars(live)
    assert replayed.version == 6
    assert replayed.stored_version == 6


def test_apply_rejects_an_event_of_another_aggregate() -> None:
    with pytest.raises(TypeError):
        Order().apply(Event())


def test_order_status_is_final_only_when_rejected_or_cancelled() -> None:
    final = {status for status in OrderStatus if status.is_final}

    assert final == {OrderStatus.REJECTED, OrderStatus.CANCELLED}


def test_order_line_subtotal_multiplies_price_by_quantity() -> None:
    assert MICE.subtotal == Decimal("59.98")


def test_order_stream_prefixes_the_order_id() -> None:
    order_id = uuid4()

    assert order_stream(order_id) == f"order-{order_id}"


def test_order_not_found_names_the_order() -> None:
    error = OrderNotFound(ORDER_ID)

    assert isinstance(error, OrderError)
    assert str(ORDER_ID) in str(error)


def test_registries_list_every_message_by_type_name() -> None:
    assert set(EVENTS) == {
        "OrderPlaced",
        "OrderStockReserved",
        "OrderRejected",
        "OrderPaid",
        "OrderConfirmed",
        "OrderReadyForDelivery",
        "OrderCancelled",
    }
    assert set(COMMANDS) == {"PlaceOrder", "ConfirmOrder", "CancelOrder"}
    assert all(cls.type_name() == name for name, cls in EVENTS.items())
