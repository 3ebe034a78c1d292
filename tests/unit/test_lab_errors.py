"""Errors a learner meets say what to do: stack down, unknown order or topic, 4xx."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from cqrs_lab import CommandRejected, Lab, LabNotRunning, UnknownOrder, UnknownTopic
from cqrs_lab.commands import Gateway, order_body, order_id_of
from cqrs_lab.kafka import _partitions
from services.shared.settings import LabSettings


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def down_lab(tmp_path: Path) -> Iterator[Lab]:
    """A Lab whose every part points at a port nobody listens on."""
    ports = {f"{name}_port": free_port() for name in (
        "gateway", "orders", "payments", "inventory", "traces", "dashboard",
        "kafka", "postgres")}
    lab = Lab(LabSettings(state_dir=tmp_path, **ports))  # type: ignore[arg-type]
    yield lab
    lab.close()


def test_status_says_in_one_sentence_how_to_start(down_lab: Lab,
                                                  capsys: Any) -> None:
    frame = down_lab.status()
    assert set(frame["state"]) == {"down"}
    assert len(frame) == 8
    assert "cqrs-lab up" in capsys.readouterr().out


def test_status_names_the_parts_that_are_down_and_how_to_start_one(
        down_lab: Lab, capsys: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    async def rows() -> list[dict[str, Any]]:
        return [{"name": "gateway", "state": "up", "port": 3005, "pid": 1,
                 "health": "healthy"},
                {"name": "payments", "state": "down", "port": 3002,
                 "pid": None, "health": "-"}]

    monkeypatch.setattr(down_lab, "_status_rows", rows)
    down_lab.status()
    said = capsys.readouterr().out
    assert "Down: payments." in said
    assert "cqrs-lab start payments" in said


def test_check_and_commands_raise_lab_not_running(down_lab: Lab) -> None:
    with pytest.raises(LabNotRunning, match="cqrs-lab up"):
        down_lab.check()
    with pytest.raises(LabNotRunning, match="make up"):
        down_lab.place_order("c", [("laptop-001", 1, "1.00")])
    with pytest.raises(LabNotRunning, match="PostgreSQL"):
        down_lab.events()


def _gateway(status: int, body: Any) -> Gateway:
    transport = httpx.MockTransport(lambda r: httpx.Response(status, json=body))
    return Gateway("http://gateway", transport=transport)


def test_an_unknown_order_is_named(down_lab: Lab) -> None:
    down_lab.gateway = _gateway(404, {"success": False, "error": {
        "code": "order_not_found", "message": "order x not found"}})
    order = "6f1e4d2a-0000-0000-0000-000000000000"
    with pytest.raises(UnknownOrder, match=f"no order {order}"):
        down_lab.order(order)
    with pytest.raises(UnknownOrder, match="is not an order id"):
        order_id_of("laptop-001")


def test_a_4xx_shows_the_apis_own_message(down_lab: Lab) -> None:
    down_lab.gateway = _gateway(422, {"success": False, "error": {
        "code": "validation_error", "message": "items[0].quantity: too small",
        "fields": [{"field": "items[0].quantity", "problem": "too small"}]}})
    with pytest.raises(CommandRejected) as caught:
        down_lab.place_order("c", [("laptop-001", 0, "1.00")])
    assert caught.value.status == 422
    assert "items[0].quantity: too small" in str(caught.value)


def test_items_are_accepted_as_tuples_or_dicts() -> None:
    body = order_body("c", [("laptop-001", 1, 999.99),
                            {"product_id": "mouse-001", "quantity": 2,
                             "unit_price": "29.99"}], total="1059.97")
    assert body["items"] == [
        {"productId": "laptop-001", "quantity": 1, "unitPrice": "999.99"},
        {"productId": "mouse-001", "quantity": 2, "unitPrice": "29.99"}]
    assert body["totalAmount"] == "1059.97"


class FakeConsumer:
    async def topics(self) -> set[str]:
        return {"orders-events", "dead-letter", "__consumer_offsets"}


async def test_an_unknown_topic_names_the_known_ones() -> None:
    with pytest.raises(UnknownTopic) as caught:
        await _partitions(FakeConsumer(), "order-events")  # type: ignore[arg-type]
    assert str(caught.value) == ("unknown topic 'order-events'; the topics "
                                 "are: dead-letter, orders-events")


def test_a_command_with_an_expected_version_sends_it_as_if_match() -> None:
    seen: dict[str, str] = {}

    def answer(request: httpx.Request) -> httpx.Response:
        seen.update(request.headers)
        return httpx.Response(200, json={"success": True, "data": {
            "orderId": "8d2f4f5e-7a47-4e0a-9d59-2f6f3f1b8a10"}})

    gateway = Gateway("http://gateway", transport=httpx.MockTransport(answer))
    gateway.command("ConfirmOrder", "PUT", "/api/orders/x/confirm",
                    expected_version=3)

    assert seen["if-match"] == '"3"'
