"""Text shaped like SQL or HTML injection is stored and returned verbatim."""

from __future__ import annotations

import httpx
import pytest

from tests.e2e.shop import orders_of, place, restock, wait_for_status
from tests.helpers import eventually, order_body

HOSTILE = ["'; DROP TABLE orders.events; --", "<script>alert(1)</script>"]


@pytest.mark.parametrize("text", HOSTILE, ids=["sql", "html"])
def test_hostile_customer_id_and_reason_come_back_unchanged(
        gateway: httpx.Client, text: str) -> None:
    """The read model echoes both strings byte for byte, and keeps working."""
    restock(gateway, "mouse-001", 1)
    body = {**order_body(("mouse-001", 1, "29.99"), customer=text),
            "confirmation": "manual"}
    order_id = place(gateway, body)
    wait_for_status(gateway, order_id, "paid")

    response = gateway.put(f"/api/orders/{order_id}/cancel",
                           json={"reason": text})

    assert response.status_code == 200, response.text
    view = wait_for_status(gateway, order_id, "cancelled")
    assert view["customerId"] == text
    assert view["reason"] == text
    assert view["history"][-1]["data"]["reason"] == text
    # Filtering by the string is a parameter, not SQL: it finds this order.
    listed = eventually(lambda: [o for o in orders_of(gateway, text)
                                 if o["orderId"] == order_id],
                        what="the order listed under its customer id")
    assert listed[0]["customerId"] == text
