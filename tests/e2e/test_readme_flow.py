"""The README's walkthrough, run against the live stack: health, happy path, stock."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from services.shared.settings import LabSettings
from tests.e2e.shop import (
    FLOW_TIMEOUT,
    ORDER_HAPPY_PATH,
    history_types,
    log_lines_with,
    place,
    read,
    restock,
    stock,
    unique,
    wait_for_reservation,
    wait_for_status,
)
from tests.helpers import eventually

QUICK_TEST_CORRELATION = "flow-test-001"
QUICK_TEST_BODY = {
    "customerId": "customer-123",
    "items": [
        {"productId": "laptop-001", "quantity": 1, "unitPrice": 999.99},
        {"productId": "mouse-001", "quantity": 2, "unitPrice": 29.99},
    ],
    "totalAmount": 1059.97,
}


@pytest.mark.parametrize("path", ["/health", "/api/orders/health",
                                  "/api/payments/health",
                                  "/api/inventory/health"])
def test_every_health_route_of_the_readme_answers_ok(
        gateway: httpx.Client, path: str) -> None:
    """Each health curl of the README answers 200 with status ok."""
    response = gateway.get(path)

    assert response.status_code == 200, response.text
    assert response.json()["status"] == "ok"


@pytest.fixture(scope="module")
def quick_test(gateway: httpx.Client) -> dict[str, object]:
    """Places the quick-test order once; its checks below share it."""
    # Enough laptops and mice that earlier runs cannot starve the order.
    restock(gateway, "laptop-001", 5)
    restock(gateway, "mouse-001", 10)
    laptops_before = stock(gateway, "laptop-001")
    response = gateway.post(
        "/api/orders", json=QUICK_TEST_BODY,
        headers={"X-Correlation-ID": QUICK_TEST_CORRELATION})
    return {"response": response, "laptops_before": laptops_before}


@pytest.fixture(scope="module")
def order_id(quick_test: dict[str, object]) -> str:
    """The id of the quick-test order (fails its users if it was refused)."""
    response = quick_test["response"]
    assert isinstance(response, httpx.Response)
    assert response.status_code == 201, response.text
    return str(response.json()["data"]["orderId"])


class TestQuickTest:
    """The README's quick test exactly as written, checked end to end."""

    def test_answer_has_the_order_id_and_echoes_the_correlation_id(
            self, quick_test: dict[str, object]) -> None:
        """The 201 answer carries the order id and echoes the correlation id."""
        response = quick_test["response"]
        assert isinstance(response, httpx.Response)

        assert response.status_code == 201, response.text
        body = response.json()
        assert body["success"] is True
        assert set(body["data"]) == {"orderId", "correlationId"}
        assert body["data"]["correlationId"] == QUICK_TEST_CORRELATION
        assert response.headers["X-Correlation-ID"] == QUICK_TEST_CORRELATION

    def test_order_reaches_ready_for_delivery_through_every_step(
            self, gateway: httpx.Client, order_id: str) -> None:
        """The order's history is the whole happy path, in order."""
        view = wait_for_status(gateway, order_id, "ready_for_delivery")

        assert history_types(view) == ORDER_HAPPY_PATH
        assert [e["version"] for e in view["history"]] == [1, 2, 3, 4, 5]
        assert view["correlationId"] == QUICK_TEST_CORRELATION
        assert view["totalAmount"] == "1059.97"

    def test_confirming_the_delivered_order_again_changes_nothing(
            self, gateway: httpx.Client, order_id: str) -> None:
        """A confirm after the automatic one answers 200 with changed false."""
        wait_for_status(gateway, order_id, "ready_for_delivery")

        response = gateway.put(f"/api/orders/{order_id}/confirm")

        assert response.status_code == 200, response.text
        assert response.json()["data"]["changed"] is False
        assert response.json()["data"]["status"] == "ready_for_delivery"

    def test_payment_service_shows_the_approved_amount(
            self, service: dict[str, httpx.Client], order_id: str) -> None:
        """The payment service, on its own port, approved exactly 1059.97."""

        def approved() -> dict[str, object] | None:
            response = service["payments"].get(f"/payments/{order_id}")
            if response.status_code != 200:
                return None
            data = response.json()["data"]
            return data if data["status"] == "approved" else None

        payment = eventually(approved, FLOW_TIMEOUT, what="approved payment")

        assert payment["amount"] == "1059.97"
        assert payment["customerId"] == "customer-123"

    def test_inventory_service_shows_the_laptop_in_transit(
            self, gateway: httpx.Client, service: dict[str, httpx.Client],
            quick_test: dict[str, object], order_id: str) -> None:
        """Inventory, on its own port, shows the laptop in transit."""
        before = quick_test["laptops_before"]
        assert isinstance(before, dict)
        wait_for_reservation(gateway, order_id, "in_transit")

        def grown() -> dict[str, object] | None:
            data = service["inventory"].get("/inventory/laptop-001").json()
            now = data["data"]
            # At least: other users of this shared stack may ship laptops too.
            return now if now["inTransit"] >= before["inTransit"] + 1 else None

        eventually(grown, FLOW_TIMEOUT, what="laptop-001 in transit +1")

    @pytest.mark.parametrize("part", ["payments", "inventory"])
    def test_correlation_id_reaches_the_service_logs(
            self, gateway: httpx.Client, settings: LabSettings,
            order_id: str, part: str) -> None:
        """The log of each service that handled the order names the id."""
        log = settings.state_dir / "logs" / f"{part}.log"
        assert log.exists(), (f"no log at {log}; point CQRS_LAB_STATE_DIR at "
                              "the state folder of the stack under test")
        wait_for_status(gateway, order_id, "ready_for_delivery")
        needle = f"correlation_id={QUICK_TEST_CORRELATION}"

        # The order id ties the line to this run, as the id itself repeats.
        eventually(lambda: log_lines_with(log, needle, order_id), 10.0,
                   what=f"{needle} for {order_id} in {log}")


@pytest.mark.parametrize("part", ["gateway", "orders"])
def test_each_request_is_logged_with_its_correlation_id(
        gateway: httpx.Client, settings: LabSettings, part: str) -> None:
    """The gateway and the service behind it log the call under its id."""
    correlation_id = unique("log-test")
    body = {"customerId": correlation_id, "items": [
        {"productId": "book-001", "quantity": 1, "unitPrice": 19.99}]}
    response = gateway.post("/api/orders", json=body,
                            headers={"X-Correlation-ID": correlation_id})
    assert response.status_code == 201, response.text
    log = settings.state_dir / "logs" / f"{part}.log"

    def logged() -> list[str]:
        return log_lines_with(log, f"correlation_id={correlation_id}",
                              "method=POST", "status=201")

    eventually(logged, 10.0, what=f"the request of {correlation_id} in {log}")


README_EXAMPLES = [
    pytest.param("simple-test", {
        "customerId": "test-customer",
        "items": [{"productId": "book-001", "quantity": 1, "unitPrice": 19.99}],
        "totalAmount": 19.99}, "19.99", id="one-product"),
    pytest.param("multiple-test", {
        "customerId": "test-customer-multiple",
        "items": [{"productId": "shirt-001", "quantity": 2, "unitPrice": 25.00},
                  {"productId": "pants-001", "quantity": 1,
                   "unitPrice": 45.00}]}, "95.00", id="total-computed"),
]


@pytest.mark.parametrize(("correlation_id", "body", "total"), README_EXAMPLES)
def test_readme_example_orders_reach_ready_for_delivery(
        gateway: httpx.Client, correlation_id: str, body: dict[str, Any],
        total: str) -> None:
    """The README's one-product and computed-total orders, as written."""
    for item in body["items"]:
        restock(gateway, item["productId"], 5)

    order_id = place(gateway, body, correlation_id)

    view = wait_for_status(gateway, order_id, "ready_for_delivery")
    assert history_types(view) == ORDER_HAPPY_PATH
    assert view["totalAmount"] == total
    assert view["correlationId"] == correlation_id


def test_out_of_stock_order_is_rejected_and_holds_no_stock(
        gateway: httpx.Client) -> None:
    """README Test 3: asking for more than is available rejects the order."""
    before = stock(gateway, "limited-001")
    too_many = before["available"] + 1
    body = {"customerId": unique("out-of-stock"),
            "items": [{"productId": "limited-001", "quantity": too_many,
                       "unitPrice": 120.00}]}

    order_id = place(gateway, body)

    view = wait_for_status(gateway, order_id, "rejected")
    assert "limited-001" in view["reason"]
    assert history_types(view) == ["OrderPlaced", "OrderRejected"]
    reservation = wait_for_reservation(gateway, order_id, "rejected")
    assert "limited-001" in reservation["reason"]
    assert read(gateway, f"/api/payments/{order_id}") is None
    after = stock(gateway, "limited-001")
    assert (after["available"], after["reserved"]) == (
        before["available"], before["reserved"])
