"""Commands and queries through the API gateway, with errors that say what to do."""

from __future__ import annotations

import html
import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import httpx

from cqrs_lab.errors import CommandRejected, LabNotRunning, UnknownOrder

CORRELATION_HEADER = "X-Correlation-ID"

# A line of an order: ("laptop-001", 1, "999.99") or the API's own dict.
Item = Sequence[Any] | Mapping[str, Any]


@dataclass(frozen=True)
class CommandResult:
    """What a command answered: order id, correlation id, HTTP status and body."""

    action: str
    order_id: uuid.UUID | None
    correlation_id: str | None
    status_code: int
    body: Any = field(repr=False)

    @property
    def ok(self) -> bool:
        """True when the API accepted the command (HTTP 2xx)."""
        return 200 <= self.status_code < 300

    def __str__(self) -> str:
        return str(self.order_id)

    def __repr__(self) -> str:
        return (f"<{self.action} {self.status_code} order={self.order_id} "
                f"correlation={self.correlation_id}>")

    def _repr_html_(self) -> str:
        body = html.escape(json.dumps(self.body, indent=2, default=str))
        return (f"<b>{html.escape(self.action)}</b> → HTTP {self.status_code}"
                f"<br>order <code>{self.order_id}</code>, correlation "
                f"<code>{html.escape(str(self.correlation_id))}</code>"
                f"<details><summary>body</summary><pre>{body}</pre></details>")


OrderRef = str | uuid.UUID | CommandResult | Mapping[str, Any]


def order_id_of(order: OrderRef) -> uuid.UUID:
    """The UUID of an order given as text, UUID, CommandResult or API dict."""
    if isinstance(order, CommandResult):
        if order.order_id is None:
            raise UnknownOrder(f"{order!r} did not create an order")
        return order.order_id
    if isinstance(order, Mapping):
        order = order.get("orderId") or order.get("order_id") or ""
    if isinstance(order, uuid.UUID):
        return order
    try:
        return uuid.UUID(str(order))
    except ValueError:
        raise UnknownOrder(
            f"{order!r} is not an order id: order ids are UUIDs such as "
            "the `order_id` of lab.place_order(...); list them with "
            "lab.orders()") from None


def item_body(item: Item) -> dict[str, Any]:
    """One order line as the API wants it, from a tuple or a dict."""
    if isinstance(item, Mapping):
        product = item.get("productId", item.get("product_id"))
        price = item.get("unitPrice", item.get("unit_price"))
        quantity = item.get("quantity", 1)
    else:
        product, quantity, price = item
    return {"productId": product, "quantity": int(quantity),
            "unitPrice": str(Decimal(str(price)))}


def order_body(customer: str, items: Iterable[Item], total: Any = None,
               confirmation: str | None = None) -> dict[str, Any]:
    """The body of `POST /api/orders`."""
    body: dict[str, Any] = {"customerId": customer,
                            "items": [item_body(i) for i in items]}
    if total is not None:
        body["totalAmount"] = str(Decimal(str(total)))
    if confirmation is not None:
        body["confirmation"] = confirmation
    return body


class Gateway:
    """A small synchronous client of the gateway that raises helpful errors."""

    def __init__(self, base_url: str, timeout: float = 10.0,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.base_url = base_url
        self.client = httpx.Client(base_url=base_url, timeout=timeout,
                                   transport=transport)

    def close(self) -> None:
        """Closes the HTTP connections."""
        self.client.close()

    def request(self, method: str, path: str, json_body: Any = None,
                params: Mapping[str, Any] | None = None,
                correlation_id: str | None = None,
                expected_version: int | None = None) -> httpx.Response:
        """Sends one request; an unreachable gateway raises LabNotRunning."""
        headers = {CORRELATION_HEADER: correlation_id} if correlation_id else {}
        if expected_version is not None:
            headers["If-Match"] = f'"{expected_version}"'

        query = {k: v for k, v in (params or {}).items() if v is not None}
        try:
            return self.client.request(method, path, json=json_body,
                                       params=query, headers=headers)
        except httpx.TransportError as error:
            raise LabNotRunning(f"The gateway at {self.base_url} does not "
                                f"answer ({type(error).__name__}).") from None

    def data(self, path: str, params: Mapping[str, Any] | None = None,
             not_found: str | None = None) -> Any:
        """The `data` of a GET answer; 404 raises UnknownOrder(not_found)."""
        response = self.request("GET", path, params=params)
        if response.status_code == 404 and not_found:
            raise UnknownOrder(not_found)
        return unwrap(raise_for_api_error(response).json())

    def command(self, action: str, method: str, path: str, body: Any = None,
                correlation_id: str | None = None,
                expected_version: int | None = None) -> CommandResult:
        """Sends a command and returns its result, or raises CommandRejected."""
        response = self.request(method, path, body, correlation_id=correlation_id,
                                expected_version=expected_version)
        raise_for_api_error(response)
        payload = response.json()
        data = unwrap(payload) or {}
        order_id = data.get("orderId") if isinstance(data, dict) else None
        correlation = (data.get("correlationId") if isinstance(data, dict)
                       else None) or response.headers.get(CORRELATION_HEADER)
        return CommandResult(action, uuid.UUID(order_id) if order_id else None,
                             correlation, response.status_code, payload)


def raise_for_api_error(response: httpx.Response) -> httpx.Response:
    """Raises CommandRejected with the API's own message for 4xx and 5xx."""
    if response.status_code < 400:
        return response
    try:
        payload = response.json()
    except ValueError:
        payload = response.text
    error = payload.get("error", {}) if isinstance(payload, dict) else {}
    code = str(error.get("code", "error"))
    message = str(error.get("message", payload))
    for problem in error.get("fields", []) or []:
        message += f"\n  {problem.get('field')}: {problem.get('problem')}"
    raise CommandRejected(response.status_code, code, message, payload)


def unwrap(payload: Any) -> Any:
    """The `data` of `{"success": true, "data": ...}`, or the payload itself."""
    if isinstance(payload, dict) and "data" in payload and (
            "success" in payload or len(payload) == 1):
        return payload["data"]
    return payload
