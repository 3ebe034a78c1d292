"""Exercises against the live stack: wrong answers name the symptom they cause.

The reference answers are checked by running the solution notebooks
(tests/integration/test_exercises_notebooks.py); here each live exercise
gets a plausible wrong answer and must say what went wrong with it.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pandas as pd
import pytest

from cqrs_lab import Lab
from cqrs_lab.exercises.core import Exercise, Result, Status
from cqrs_lab.exercises.testing import load
from services.shared.settings import LabSettings

pytestmark = pytest.mark.stack


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    """A Lab on the stack under test, closed after the module."""
    lab = Lab(LabSettings())
    lab.check()
    yield lab
    lab.close()


def check(lab: Lab, lesson: str, answer: Any) -> Result:
    """Checks an answer to a lesson's ex1 on the stack under test."""
    module = importlib.import_module(f"cqrs_lab.exercises.e{lesson}")
    exercise: Exercise = type(module.ex1)(lab)
    return exercise.check(answer)


def test_01_returning_the_command_result_is_not_the_read_model(
        lab: Lab) -> None:
    def place_two_books(lab: Lab, customer: str) -> Any:
        return lab.place_order(customer, [("book-001", 2, "19.99")])

    result = check(lab, "01", place_two_books)
    assert result.status is Status.INCORRECT, result
    assert "returned CommandResult" in result.message


def test_01_one_book_instead_of_two_is_named(lab: Lab) -> None:
    def place_two_books(lab: Lab, customer: str) -> dict[str, Any]:
        placed = lab.place_order(customer, [("book-001", 1, "19.99")])
        return lab.wait_for(placed, "ready_for_delivery", timeout=30)

    result = check(lab, "01", place_two_books)
    assert result.status is Status.INCORRECT, result
    assert "it should hold 2 × book-001" in result.message


def test_03_counting_placed_orders_names_the_customer_and_orders(
        lab: Lab) -> None:
    class RevenuePerCustomer:
        def __init__(self) -> None:
            self.revenue: dict[str, Decimal] = {}

        def when_OrderPlaced(self, event: Any) -> None:
            customer = event.data["customer_id"]
            total = Decimal(event.data["total_amount"])
            self.revenue[customer] = self.revenue.get(customer, 0) + total

        def result(self) -> dict[str, Decimal]:
            return self.revenue

    result = check(lab, "03", RevenuePerCustomer)
    assert result.status is Status.INCORRECT, result
    assert "alice: expected 39.98, your projection says 64.98" in \
        result.message
    assert "cancelled after payment, 25.00" in result.message


def test_04_predicting_only_the_happy_path_shows_the_real_stream(
        lab: Lab) -> None:
    def predict(customer_id: str, total: Decimal) -> list[str]:
        return ["OrderPlaced", "OrderStockReserved", "OrderPaid",
                "OrderConfirmed", "OrderReadyForDelivery"]

    result = check(lab, "04", predict)
    assert result.status is Status.INCORRECT, result
    assert "went OrderPlaced → OrderStockReserved → OrderCancelled" in \
        result.message


def test_05_the_longest_span_is_not_the_slowest_hop(lab: Lab) -> None:
    def slowest_hop(spans: pd.DataFrame) -> tuple[str, str]:
        row = spans.loc[spans["duration_ms"].idxmax()]
        return row["service"], row["name"]

    result = check(lab, "05", slowest_hop)
    assert result.status is Status.INCORRECT, result
    assert "waited 1.2 s in Kafka" in result.message


def test_05_reference_finds_the_hop_in_traces_sent_to_the_collector(
        lab: Lab) -> None:
    answer = load("05", "solution").namespace["slowest_hop"]
    result = check(lab, "05", answer)
    assert result.status is Status.CORRECT, result


def test_06_reading_only_the_inventory_group_misses_payments(
        lab: Lab) -> None:
    def dead_letter_reasons(lab: Lab, key: str) -> dict[str, str]:
        letters = lab.dead_letters()
        mine = letters[(letters["key"] == key)
                       & (letters["dlq_consumer"] == "inventory-service")]
        return dict(zip(mine["dlq_consumer"], mine["dlq_reason"]))

    result = check(lab, "06", dead_letter_reasons)
    assert result.status is Status.INCORRECT, result
    assert "you found only inventory-service; payments-service also gave up" \
        in result.message


def test_06_forgetting_the_key_names_the_other_groups(lab: Lab) -> None:
    def dead_letter_reasons(lab: Lab, key: str) -> dict[str, str]:
        letters = lab.dead_letters()
        return dict(zip(letters["dlq_consumer"], letters["dlq_reason"]))

    result = check(lab, "06", dead_letter_reasons)
    assert result.status is Status.INCORRECT, result
    assert "keep only the rows with that key" in result.message or \
        "take the reason from the row of key" in result.message


def test_08_deduplicating_by_offset_counts_a_redelivery_twice(
        lab: Lab) -> None:
    class UnitsOrdered:
        def __init__(self) -> None:
            self.units: dict[str, int] = {}
            self.seen: set[tuple[int, int]] = set()

        def handle(self, record: dict[str, Any]) -> None:
            where = (record["partition"], record["offset"])
            if where in self.seen:
                return
            self.seen.add(where)
            for line in record["payload"]["data"]["lines"]:
                product = line["product_id"]
                self.units[product] = (self.units.get(product, 0)
                                       + line["quantity"])

    result = check(lab, "08", UnitsOrdered)
    assert result.status is Status.INCORRECT, result
    assert "was counted twice after a redelivery" in result.message


def test_10_a_float_total_and_a_wrong_rename_fail_to_decode(
        lab: Lab) -> None:
    def upcast_order_placed_v1(data: dict[str, Any]) -> dict[str, Any]:
        return {"order_id": data["order_id"], "customer_id": data["customer"],
                "lines": data["items"], "confirmation": "auto",
                "total_amount": data["total_cents"] / 100}

    result = check(lab, "10", upcast_order_placed_v1)
    assert result.status is Status.INCORRECT, result
    assert "does not decode after your upcaster" in result.message
