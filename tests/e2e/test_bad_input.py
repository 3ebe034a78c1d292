"""Bad requests get a 4xx JSON error naming the problem, and write nothing."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from tests.e2e.shop import FLOW_TIMEOUT, error_of, orders_of, place, restock, unique
from tests.helpers import eventually, order_body

# Where each target serves the order routes: the gateway adds /api.
PREFIX = {"gateway": "/api", "orders": ""}
OVER_LIMIT = 64 * 1024 + 1

Body = Callable[[str], Any]


def _valid(customer: str) -> dict[str, Any]:
    return order_body(("book-001", 1, "19.99"), customer=customer)


def _with_item(**changes: Any) -> Body:
    def build(customer: str) -> dict[str, Any]:
        body = _valid(customer)
        body["items"][0].update(changes)
        return body
    return build


def _without(key: str) -> Body:
    def build(customer: str) -> dict[str, Any]:
        body = _valid(customer)
        del body[key]
        return body
    return build


def _with(**changes: Any) -> Body:
    return lambda customer: {**_valid(customer), **changes}


# (case id, body builder, status, field the error must name)
JSON_CASES = [
    ("missing-items", _without("items"), 422, "items"),
    ("empty-items", _with(items=[]), 422, "items"),
    ("quantity-zero", _with_item(quantity=0), 422, "items[0].quantity"),
    ("quantity-negative", _with_item(quantity=-1), 422, "items[0].quantity"),
    ("quantity-string", _with_item(quantity="2"), 422, "items[0].quantity"),
    ("quantity-fraction", _with_item(quantity=1.5), 422, "items[0].quantity"),
    ("price-negative", _with_item(unitPrice=-1), 422, "items[0].unitPrice"),
    ("price-text", _with_item(unitPrice="abc"), 422, "items[0].unitPrice"),
    ("unknown-product", _with_item(productId="unicorn-001"), 422,
     "items[0].productId"),
    ("wrong-total", _with(totalAmount=20.00), 422, "totalAmount"),
    ("unknown-field", _with(colour="red"), 422, "colour"),
]


@pytest.fixture(scope="module", autouse=True)
def books(gateway: httpx.Client) -> None:
    """Stock for the sentinel orders that prove nothing else was written."""
    restock(gateway, "book-001", 50)


@pytest.fixture(params=sorted(PREFIX))
def target(request: pytest.FixtureRequest, gateway: httpx.Client,
           service: dict[str, httpx.Client]) -> tuple[httpx.Client, str]:
    """The gateway, or the order service on its own port, with its prefix."""
    name = str(request.param)
    client = gateway if name == "gateway" else service["orders"]
    return client, PREFIX[name]


@pytest.fixture
def customer(gateway: httpx.Client) -> Iterator[str]:
    """A customer id of this test alone; afterwards, proves no order was kept."""
    customer_id = unique("bad-input")
    yield customer_id
    # Projections apply events by position, so once the sentinel placed now
    # is listed, any order the bad request had written would be listed too.
    sentinel = place(gateway, _valid(customer_id))
    listed = eventually(lambda: orders_of(gateway, customer_id), FLOW_TIMEOUT,
                        what=f"sentinel order of {customer_id} listed")
    assert [o["orderId"] for o in listed] == [sentinel], (
        "a refused request left an order behind")


def _fields(response: httpx.Response) -> list[str]:
    return [f["field"] for f in error_of(response).get("fields", [])]


@pytest.mark.parametrize(("build", "status", "field"),
                         [pytest.param(b, s, f, id=i)
                          for i, b, s, f in JSON_CASES])
def test_invalid_order_is_refused_naming_the_field(
        target: tuple[httpx.Client, str], customer: str, build: Body,
        status: int, field: str) -> None:
    """Each invalid body is a 4xx JSON error whose fields name the culprit."""
    client, prefix = target

    response = client.post(f"{prefix}/orders", json=build(customer))

    assert response.status_code == status, response.text
    assert field in _fields(response)
    assert field in error_of(response)["message"]


def test_malformed_json_is_a_400_malformed_json_error(
        target: tuple[httpx.Client, str], customer: str) -> None:
    """A body that is not JSON is named as such, not as a validation error."""
    client, prefix = target
    text = json.dumps(_valid(customer))[:-5]

    response = client.post(f"{prefix}/orders", content=text,
                           headers={"Content-Type": "application/json"})

    assert response.status_code == 400, response.text
    assert error_of(response)["code"] == "malformed_json"


def _oversized(customer: str) -> bytes:
    body = {**_valid(customer), "padding": "x" * OVER_LIMIT}
    return json.dumps(body).encode()


def test_oversized_body_is_a_413(target: tuple[httpx.Client, str],
                                 customer: str) -> None:
    """A body above 64 KiB is refused before it is parsed."""
    client, prefix = target

    response = client.post(f"{prefix}/orders", content=_oversized(customer),
                           headers={"Content-Type": "application/json",
                                    "X-Correlation-ID": f"big-{customer}"})

    assert response.status_code == 413, response.text
    assert error_of(response)["code"] == "body_too_large"
    assert response.headers["X-Correlation-ID"] == f"big-{customer}"


def test_oversized_chunked_body_is_a_413(target: tuple[httpx.Client, str],
                                         customer: str) -> None:
    """Without a Content-Length the limit still holds, counted as it streams."""
    client, prefix = target
    data = _oversized(customer)

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(data), 8192):
            yield data[start:start + 8192]

    response = client.post(f"{prefix}/orders", content=chunks(),
                           headers={"Content-Type": "application/json"})

    assert response.status_code == 413, response.text
    assert error_of(response)["code"] == "body_too_large"


def test_unknown_field_in_a_cancel_body_is_refused(
        target: tuple[httpx.Client, str]) -> None:
    """The cancel body is as strict as the order body."""
    client, prefix = target

    response = client.put(f"{prefix}/orders/{uuid.uuid4()}/cancel",
                          json={"reason": "why not", "refund": "double"})

    assert response.status_code == 422, response.text
    assert "refund" in _fields(response)


@pytest.mark.parametrize(("method", "suffix"), [
    ("GET", ""), ("PUT", "/confirm"), ("PUT", "/cancel")])
def test_order_id_that_is_not_a_uuid_is_a_422(
        target: tuple[httpx.Client, str], method: str, suffix: str) -> None:
    """Order routes name the malformed id instead of looking it up."""
    client, prefix = target

    response = client.request(method, f"{prefix}/orders/not-a-uuid{suffix}")

    assert response.status_code == 422, response.text
    assert "order_id" in _fields(response)


def test_unknown_order_is_a_404_json_error(
        target: tuple[httpx.Client, str]) -> None:
    """A well-formed id of no order is a 404 with the order service's code."""
    client, prefix = target

    response = client.put(f"{prefix}/orders/{uuid.uuid4()}/confirm")

    assert response.status_code == 404, response.text
    assert error_of(response)["code"] == "order_not_found"


@pytest.mark.parametrize("path", ["/no-such-route", "/orders/x/y/z"])
def test_unknown_path_is_a_404_json_error(
        target: tuple[httpx.Client, str], path: str) -> None:
    """Routes that do not exist answer with the JSON error shape too."""
    client, prefix = target

    response = client.get(f"{prefix}{path}")

    assert response.status_code == 404, response.text
    error = error_of(response)
    assert error["code"] == "not_found"
    assert path in error["message"]
