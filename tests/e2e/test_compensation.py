"""Sagas that undo work: cancellations, declined payments and manual confirmation."""

from __future__ import annotations

import httpx
import pytest

from services.shared.settings import LabSettings
from tests.e2e.shop import (
    FLOW_TIMEOUT,
    error_of,
    history_types,
    log_lines_with,
    place,
    restock,
    stock,
    unique,
    wait_for_payment,
    wait_for_reservation,
    wait_for_status,
)
from tests.helpers import eventually, order_body

CANCEL_CORRELATION = "cancel-test-002"
CANCEL_BODY = {"reason": "Customer changed mind"}


def _wait_for_available(gateway: httpx.Client, product_id: str,
                        expected: int) -> None:
    eventually(lambda: stock(gateway, product_id)["available"] == expected,
               FLOW_TIMEOUT, what=f"{product_id} available back at {expected}")


@pytest.fixture(scope="module")
def cancelled(gateway: httpx.Client) -> dict[str, object]:
    """A delivered order, cancelled with the README's body and correlation."""
    # Headphones belong to this test alone, so their stock is predictable.
    available = restock(gateway, "headphones-001", 5)
    order_id = place(gateway, order_body(
        ("headphones-001", 2, "159.00"), customer=unique("cancel")))
    wait_for_status(gateway, order_id, "ready_for_delivery")
    response = gateway.put(
        f"/api/orders/{order_id}/cancel", json=CANCEL_BODY,
        headers={"X-Correlation-ID": CANCEL_CORRELATION})
    return {"order_id": order_id, "available": available,
            "response": response}


class TestCancellationAfterDelivery:
    """Cancelling a delivered order refunds it and puts the stock back."""

    def test_cancel_answers_200_with_the_cancelled_status(
            self, cancelled: dict[str, object]) -> None:
        """The cancel call itself reports the change and its correlation id."""
        response = cancelled["response"]
        assert isinstance(response, httpx.Response)

        assert response.status_code == 200, response.text
        data = response.json()["data"]
        assert data["orderId"] == cancelled["order_id"]
        assert (data["status"], data["changed"]) == ("cancelled", True)
        assert data["correlationId"] == CANCEL_CORRELATION
        assert response.headers["X-Correlation-ID"] == CANCEL_CORRELATION

    def test_order_is_cancelled_with_the_customers_reason(
            self, gateway: httpx.Client, cancelled: dict[str, object]) -> None:
        """The read model shows the cancellation after the delivery steps."""
        view = wait_for_status(gateway, str(cancelled["order_id"]), "cancelled",
                               leaving="ready_for_delivery")

        assert view["reason"] == "Customer changed mind"
        assert history_types(view)[-2:] == ["OrderReadyForDelivery",
                                            "OrderCancelled"]
        assert view["history"][-1]["correlationId"] == CANCEL_CORRELATION

    def test_payment_is_refunded(self, gateway: httpx.Client,
                                 cancelled: dict[str, object]) -> None:
        """The saga refunds the charged amount."""
        payment = wait_for_payment(gateway, str(cancelled["order_id"]),
                                   "refunded")

        assert payment["amount"] == "318.00"

    def test_stock_is_released_to_its_level_before_the_order(
            self, gateway: httpx.Client, cancelled: dict[str, object]) -> None:
        """The reservation is released and the two units are available again."""
        order_id = str(cancelled["order_id"])

        reservation = wait_for_reservation(gateway, order_id, "released")

        assert [(line["product_id"], line["quantity"])
                for line in reservation["lines"]] == [("headphones-001", 2)]
        _wait_for_available(gateway, "headphones-001",
                            int(str(cancelled["available"])))

    def test_inventory_log_shows_the_release_under_the_cancel_id(
            self, settings: LabSettings,
            cancelled: dict[str, object]) -> None:
        """README: `cqrs-lab logs inventory | grep cancel-test-002` finds it."""
        log = settings.state_dir / "logs" / "inventory.log"
        assert log.exists(), (f"no log at {log}; point CQRS_LAB_STATE_DIR at "
                              "the state folder of the stack under test")
        needles = (f"correlation_id={CANCEL_CORRELATION}", "StockReleased",
                   str(cancelled["order_id"]))

        eventually(lambda: log_lines_with(log, *needles), FLOW_TIMEOUT,
                   what=f"{needles} in {log}")

    def test_cancelling_twice_is_a_conflict(
            self, gateway: httpx.Client, cancelled: dict[str, object]) -> None:
        """A second cancel is refused with 409 and a JSON error."""
        order_id = str(cancelled["order_id"])
        wait_for_status(gateway, order_id, "cancelled",
                        leaving="ready_for_delivery")

        response = gateway.put(f"/api/orders/{order_id}/cancel",
                               json=CANCEL_BODY)

        assert response.status_code == 409, response.text
        error = error_of(response)
        assert error["code"] == "order_conflict"
        assert "cancelled" in error["message"]


def test_flagged_customer_payment_is_declined_and_stock_released(
        gateway: httpx.Client) -> None:
    """A `decline-` customer's order is cancelled by the payment saga."""
    # Monitors are left alone by the README flows, so deltas are exact.
    available = restock(gateway, "monitor-001", 3)

    order_id = place(gateway, order_body(("monitor-001", 3, "249.00"),
                                         customer="decline-test"))

    view = wait_for_status(gateway, order_id, "cancelled")
    assert view["reason"].startswith("payment declined")
    assert "decline-test" in view["reason"]
    assert history_types(view) == ["OrderPlaced", "OrderStockReserved",
                                   "OrderCancelled"]
    payment = wait_for_payment(gateway, order_id, "declined")
    assert payment["amount"] == "747.00"
    wait_for_reservation(gateway, order_id, "released")
    _wait_for_available(gateway, "monitor-001", available)


def test_payment_over_the_limit_is_declined_and_stock_released(
        gateway: httpx.Client) -> None:
    """21 monitors at 249.00 (5229.00) exceed the 5000.00 limit."""
    available = restock(gateway, "monitor-001", 21)

    order_id = place(gateway, order_body(("monitor-001", 21, "249.00"),
                                         customer=unique("big-spender"),
                                         total="5229.00"))

    view = wait_for_status(gateway, order_id, "cancelled")
    assert view["reason"].startswith("payment declined")
    assert "5229.00" in view["reason"]
    payment = wait_for_payment(gateway, order_id, "declined")
    assert payment["amount"] == "5229.00"
    wait_for_reservation(gateway, order_id, "released")
    _wait_for_available(gateway, "monitor-001", available)


def _manual_order(gateway: httpx.Client) -> str:
    restock(gateway, "mouse-001", 2)
    body = {**order_body(("mouse-001", 1, "29.99"), customer=unique("manual")),
            "confirmation": "manual"}
    return place(gateway, body)


def test_manual_order_stops_at_paid_until_confirmed(
        gateway: httpx.Client) -> None:
    """A manual order waits at paid; confirming it sends it on to delivery."""
    order_id = _manual_order(gateway)

    view = wait_for_status(gateway, order_id, "paid")
    assert view["confirmation"] == "manual"
    assert history_types(view) == ["OrderPlaced", "OrderStockReserved",
                                   "OrderPaid"]

    response = gateway.put(f"/api/orders/{order_id}/confirm")

    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert (data["status"], data["changed"]) == ("confirmed", True)
    view = wait_for_status(gateway, order_id, "ready_for_delivery")
    assert history_types(view)[3:] == ["OrderConfirmed",
                                       "OrderReadyForDelivery"]


def test_confirming_a_cancelled_order_is_a_conflict(
        gateway: httpx.Client) -> None:
    """Once cancelled, a manual order can no longer be confirmed (409)."""
    order_id = _manual_order(gateway)
    wait_for_status(gateway, order_id, "paid")
    cancel = gateway.put(f"/api/orders/{order_id}/cancel",
                         json={"reason": "changed my mind"})
    assert cancel.status_code == 200, cancel.text

    response = gateway.put(f"/api/orders/{order_id}/confirm")

    assert response.status_code == 409, response.text
    error = error_of(response)
    assert error["code"] == "order_conflict"
    assert "cancelled" in error["message"]
    wait_for_payment(gateway, order_id, "refunded")
    view = wait_for_status(gateway, order_id, "cancelled")
    assert "OrderConfirmed" not in history_types(view)
