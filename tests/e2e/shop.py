"""Steps the end-to-end tests share: place orders and read them back, by API."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import httpx

from tests.helpers import eventually

# The saga takes several Kafka hops, and the shared stack may be under load.
FLOW_TIMEOUT = 60.0
# Statuses an order does not leave by itself.
SETTLED = frozenset({"rejected", "cancelled", "ready_for_delivery"})
ORDER_HAPPY_PATH = ["OrderPlaced", "OrderStockReserved", "OrderPaid",
                    "OrderConfirmed", "OrderReadyForDelivery"]


def unique(prefix: str) -> str:
    """An id no other test or run uses, so read models can be filtered by it."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def place(gateway: httpx.Client, body: Any,
          correlation_id: str | None = None) -> str:
    """Places an order through the gateway and returns its id (asserts 201)."""
    headers = {"X-Correlation-ID": correlation_id} if correlation_id else {}
    response = gateway.post("/api/orders", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return str(response.json()["data"]["orderId"])


def order(gateway: httpx.Client, order_id: str) -> dict[str, Any] | None:
    """The order's read model, or None while it is not projected yet."""
    response = gateway.get(f"/api/orders/{order_id}")
    if response.status_code == 404:
        return None
    assert response.status_code == 200, response.text
    return dict(response.json()["data"])


def wait_for_status(gateway: httpx.Client, order_id: str, status: str,
                    timeout: float = FLOW_TIMEOUT,
                    leaving: str | None = None) -> dict[str, Any]:
    """Polls until the order has `status`; fails early if it settles elsewhere.

    `leaving` names a settled status a command has just moved the order out
    of, which the read model may still show for a moment.
    """
    settled = SETTLED - {leaving}

    def probe() -> dict[str, Any] | None:
        seen = order(gateway, order_id)
        if seen is None:
            return None
        if seen["status"] == status:
            return seen
        # Waiting out the deadline would only hide where the order went.
        assert seen["status"] not in settled, (
            f"order {order_id} settled as {seen['status']} "
            f"(reason {seen['reason']!r}), not {status}")
        return None

    return eventually(probe, timeout, what=f"order {order_id} being {status}")


def history_types(view: dict[str, Any]) -> list[str]:
    """The event types of an order's history, oldest first."""
    return [entry["type"] for entry in view["history"]]


def read(gateway: httpx.Client, path: str) -> dict[str, Any] | None:
    """The `data` of a GET through the gateway, or None on 404."""
    response = gateway.get(path)
    if response.status_code == 404:
        return None
    assert response.status_code == 200, response.text
    return dict(response.json()["data"])


def wait_for_payment(gateway: httpx.Client, order_id: str,
                     status: str) -> dict[str, Any]:
    """Polls the order's payment until it has `status`."""

    def probe() -> dict[str, Any] | None:
        seen = read(gateway, f"/api/payments/{order_id}")
        return seen if seen and seen["status"] == status else None

    return eventually(probe, FLOW_TIMEOUT,
                      what=f"payment of {order_id} being {status}")


def wait_for_reservation(gateway: httpx.Client, order_id: str,
                         status: str) -> dict[str, Any]:
    """Polls the order's stock reservation until it has `status`."""

    def probe() -> dict[str, Any] | None:
        seen = read(gateway, f"/api/reservations/{order_id}")
        return seen if seen and seen["status"] == status else None

    return eventually(probe, FLOW_TIMEOUT,
                      what=f"reservation of {order_id} being {status}")


def stock(gateway: httpx.Client, product_id: str) -> dict[str, Any]:
    """A product's stock: available, reserved and inTransit units."""
    seen = read(gateway, f"/api/inventory/{product_id}")
    assert seen is not None, f"product {product_id} is not in the inventory"
    return seen


def restock(gateway: httpx.Client, product_id: str, quantity: int) -> int:
    """Adds units and returns the units available just after, as written.

    The answer comes from the write side, so unlike a read of the stock
    levels right after it, it is never stale.
    """
    response = gateway.post(f"/api/inventory/{product_id}/restock",
                            json={"quantity": quantity})
    assert response.status_code == 200, response.text
    return int(response.json()["data"]["available"])


def orders_of(gateway: httpx.Client, customer_id: str) -> list[dict[str, Any]]:
    """Every order of one customer, as the read model lists them."""
    response = gateway.get("/api/orders", params={"customerId": customer_id})
    assert response.status_code == 200, response.text
    return list(response.json()["data"])


def error_of(response: httpx.Response) -> dict[str, Any]:
    """The `error` object of a JSON error answer (asserts the envelope)."""
    body = response.json()
    assert body["success"] is False, body
    return dict(body["error"])


def log_lines_with(path: Path, *needles: str) -> list[str]:
    """The lines of a service log that contain every one of `needles`."""
    if not path.exists():
        return []
    with path.open(encoding="utf-8", errors="replace") as log:
        return [line for line in log if all(n in line for n in needles)]
