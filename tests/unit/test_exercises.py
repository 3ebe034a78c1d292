"""Exercises: generated notebooks, the machinery, and the checks that need no stack."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import json
import re
import uuid
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from aiokafka.structs import ConsumerRecord
from sqlalchemy import MetaData

from cqrs_lab.exercises import LESSONS
from cqrs_lab.exercises.build import build, stale
from cqrs_lab.exercises.core import STARS, Exercise, Incorrect, Status
from cqrs_lab.exercises.source import (
    PLACEHOLDER,
    SourceError,
    parse,
    render,
    sources,
    src_dir,
)
from cqrs_lab.exercises.testing import load, source_of, status_of
from services.inventory.domain.stock import ProductStock, stock_stream
from services.orders.domain import Order
from services.shared.aggregate import Event
from services.shared.consumer import EventConsumer, Subscription, processed_table
from services.traces.synthetic import FakeSpan

ROOT = Path(__file__).resolve().parents[2]


def exercises() -> list[Exercise]:
    """Every exercise of every lesson module."""
    found = []
    for name in LESSONS:
        module = importlib.import_module(f"cqrs_lab.exercises.{name}")
        found.extend(v for v in vars(module).values() if isinstance(v, Exercise))
    return found


EXERCISES = exercises()


# -- the sources and the notebooks generated from them --------------------------


def test_the_learner_view_replaces_a_solution_with_a_placeholder() -> None:
    lines = ["def f():", "    # BEGIN SOLUTION", "    return 1",
             "    # END SOLUTION", "", "x = 1"]
    assert render(lines, "learner") == ["def f():", "    " + PLACEHOLDER, "",
                                        "x = 1"]
    assert render(lines, "solution") == ["def f():", "    return 1", "",
                                         "x = 1"]


def test_a_stub_block_replaces_the_solution_uncommented_for_the_learner() -> None:
    lines = ["    # BEGIN SOLUTION", "    self.seen = set()", "    # END SOLUTION",
             "    # BEGIN STUB", "    # # Remember what you need.",
             "    # super().apply(event)", "    # END STUB"]
    assert render(lines, "learner") == ["    # Remember what you need.",
                                        "    super().apply(event)"]
    assert render(lines, "solution") == ["    self.seen = set()"]


def test_an_unended_or_nested_region_is_a_source_error() -> None:
    with pytest.raises(SourceError, match="never ended"):
        render(["# BEGIN SOLUTION", "x = 1"], "learner")
    with pytest.raises(SourceError, match="inside SOLUTION"):
        render(["# BEGIN SOLUTION", "# BEGIN STUB"], "learner")


def test_the_notebooks_in_the_repository_match_their_sources(
        tmp_path: Path) -> None:
    assert not stale(), "run: python -m cqrs_lab.exercises.build"
    written = build(src_dir(), tmp_path)
    for path in written:
        kept = ROOT / "exercises" / path.relative_to(tmp_path)
        assert kept.read_text() == path.read_text(), kept


def test_learner_notebooks_hold_no_solution_and_no_outputs() -> None:
    import nbformat

    for source in sources():
        learner = nbformat.read(ROOT / "exercises" / f"{source.stem}.ipynb", 4)
        text = "\n".join(c.source for c in learner.cells)
        assert "BEGIN SOLUTION" not in text and "BEGIN STUB" not in text
        assert all(not c.get("outputs") for c in learner.cells
                   if c.cell_type == "code")
        solution_lines = {line.strip() for cell in parse(source)
                          for line in cell.text("solution").splitlines()}
        only_solution = solution_lines - {
            line.strip() for cell in parse(source)
            for line in cell.text("learner").splitlines()}
        assert not any(line and line in text for line in only_solution
                       if not line.startswith(("#", ")", "]", "}"))
                       and len(line) > 12), source.stem


def test_every_exercise_has_a_goal_a_starter_and_a_check_cell() -> None:
    for exercise in EXERCISES:
        cells = parse(source_of(exercise.lesson))
        metas = [c.meta for c in cells]
        assert {"exercise": exercise.name} in metas, exercise
        assert {"check": exercise.name} in metas, exercise
        goal = next(c.text("learner") for c in cells if c.kind == "markdown"
                    and f"Exercise {exercise.name[2:]} " in c.text("learner"))
        stars = re.search(r"(★+)", goal)
        assert stars and stars.group(1) == STARS[exercise.difficulty], goal


def test_sources_are_named_after_the_lessons_and_code_lines_are_short() -> None:
    stems = [s.stem for s in sources()]
    assert [s[:2] for s in stems] == [m[1:] for m in LESSONS]
    for source in sources():
        for cell in parse(source):
            for view in ("learner", "solution"):
                for line in cell.text(view).splitlines():
                    assert len(line) < 80, f"{source.stem}: {line}"


# -- hints, solutions, results ---------------------------------------------------


@pytest.mark.parametrize("exercise", EXERCISES, ids=lambda e: e.label)
def test_hints_grow_and_the_last_points_to_the_solution(
        exercise: Exercise) -> None:
    assert len(exercise.hints) >= 2
    first, last = exercise.hint(), exercise.hint(len(exercise.hints))
    assert "hint(2)" in first.body and "solution()" in last.body
    assert "hints 1 to" in exercise.hint(len(exercise.hints) + 1).body
    assert exercise.hint(2).body.startswith(exercise.hints[1])


class _Wrong(Exercise):
    """An exercise whose check always finds the same mistake."""

    lesson, name, title = "01-x", "ex9", "always wrong"
    hints = ("first", "second", "third")
    wrong_hint: int | None = None

    def verify(self, answer: Any) -> str:
        raise Incorrect("the total is off by one", hint=self.wrong_hint)


def test_an_incorrect_answer_points_at_the_hint_about_its_mistake() -> None:
    wrong = _Wrong()
    assert wrong.check(lambda: 1).message.endswith("ex9.hint(1) is about this")
    wrong.wrong_hint = 3
    result = wrong.check(lambda: 1)
    assert result.status is Status.INCORRECT
    assert result.message.startswith("the total is off by one")
    assert result.message.endswith("ex9.hint(3) is about this")


@pytest.mark.parametrize("exercise", EXERCISES, ids=lambda e: e.label)
def test_the_solution_is_the_reference_code_without_markers(
        exercise: Exercise) -> None:
    shown = exercise.solution()
    assert shown.code and "```python" in shown._repr_markdown_()
    assert "NotImplementedError" not in shown.body
    assert "BEGIN" not in shown.body and "END SOLUTION" not in shown.body


@pytest.mark.parametrize("lesson", LESSONS)
def test_untouched_starters_report_not_attempted_without_the_stack(
        lesson: str) -> None:
    learner = load(lesson[1:], "learner")
    for name in learner.checks:
        result = learner.check(name)
        assert result.status is Status.NOT_ATTEMPTED, result
        assert "NotImplementedError" in result.message
        assert status_of(repr(result)) is Status.NOT_ATTEMPTED


def test_a_check_without_an_answer_says_how_to_pass_one() -> None:
    from cqrs_lab.exercises.e04 import ex1

    result = ex1.check()
    assert result.status is Status.NOT_ATTEMPTED
    assert "ex1.check(predict)" in result.message
    assert "not attempted" in result._repr_html_()


def test_a_lab_that_is_down_gives_could_not_check_not_a_crash() -> None:
    from cqrs_lab.errors import LabNotRunning
    from cqrs_lab.exercises.e01 import PlaceAndRead

    class DownLab:
        def place_order(self, *args: Any, **kwargs: Any) -> None:
            raise LabNotRunning("The gateway does not answer.")

    def place_two_books(lab: Any, customer: str) -> Any:
        return lab.place_order(customer, [("book-001", 2, "19.99")])

    result = PlaceAndRead(DownLab()).check(place_two_books)
    assert result.status is Status.UNCHECKED
    assert "cqrs-lab up" in result.message


# -- 02: a new command on the Order ---------------------------------------------


REFERENCE_02 = load("02", "solution").namespace


def shippable(**overrides: Any) -> type[Order]:
    """The reference ShippableOrder, with methods replaced by `overrides`."""
    return type("Variant", (REFERENCE_02["ShippableOrder"],), overrides)


def test_02_reference_passes() -> None:
    from cqrs_lab.exercises.e02 import ex1

    result = ex1.check(shippable())
    assert result.status is Status.CORRECT, result


def test_02_without_a_guard_a_confirmed_order_accepts_an_address() -> None:
    from cqrs_lab.exercises.e02 import ex1

    def change_shipping_address(self: Any, address: str) -> None:
        changed = REFERENCE_02["ShippingAddressChanged"]
        self.record(changed(self.order_id, address))

    variant = shippable(change_shipping_address=change_shipping_address)
    result = ex1.check(variant)
    assert result.status is Status.INCORRECT
    assert "a confirmed order accepted a new address" in result.message


def test_02_an_apply_that_ignores_the_event_is_named() -> None:
    from cqrs_lab.exercises.e02 import ex1

    def apply(self: Any, event: Event) -> None:
        Order.apply(self, event)

    result = ex1.check(shippable(apply=apply))
    assert result.status is Status.INCORRECT
    assert "Order cannot apply ShippingAddressChanged" in result.message


# -- 06: poison records, judged in-process -----------------------------------------


def test_06_reference_judges_every_sample() -> None:
    from cqrs_lab.exercises.e06 import ex2

    result = ex2.check(load("06", "solution").namespace["is_poison"])
    assert result.status is Status.CORRECT, result


def test_06_valid_json_is_not_yet_an_envelope() -> None:
    from cqrs_lab.exercises.e06 import MALFORMED, ex2

    def is_poison(value: bytes) -> str | None:
        try:
            json.loads(value)
        except ValueError:
            return MALFORMED
        return None

    result = ex2.check(is_poison)
    assert result.status is Status.INCORRECT
    assert "it is JSON but not an envelope" in result.message


def test_06_parsing_before_measuring_is_named() -> None:
    from cqrs_lab.exercises.e06 import MALFORMED, TOO_LARGE, ex2

    reference = load("06", "solution").namespace["is_poison"]

    def is_poison(value: bytes) -> str | None:
        found: str | None = reference(value)
        if found == TOO_LARGE and not value.startswith(b"{"):
            return MALFORMED
        return found

    result = ex2.check(is_poison)
    assert result.status is Status.INCORRECT
    assert "the size is checked first" in result.message


class FakeConnection:
    """Stands in for a database connection: every event id is new."""

    async def execute(self, statement: Any) -> Any:
        return type("Rows", (), {"first": lambda self: (1,)})()


class FakeEngine:
    """Stands in for the services' engine: one fake connection per begin()."""

    @contextlib.asynccontextmanager
    async def begin(self) -> AsyncIterator[FakeConnection]:
        yield FakeConnection()


class FakeDeadLetters:
    """Stands in for the dead-letter producer: keeps the reasons sent."""

    def __init__(self) -> None:
        self.reasons: list[str] = []

    async def send_and_wait(self, topic: str, value: bytes, key: Any,
                            headers: list[tuple[str, bytes]]) -> None:
        self.reasons.append(dict(headers)["dlq_reason"].decode())


def consumers_say(value: bytes) -> set[str | None]:
    """What each reader of orders-events does with a value, as a category."""
    from cqrs_lab.exercises import e06

    async def handled(*args: Any) -> None:
        return None

    found: set[str | None] = set()
    for group, subscriptions in e06.READERS.items():
        letters = FakeDeadLetters()
        consumer = EventConsumer(
            group, "unused:9092", [e06.TOPIC],
            {t: Subscription(s.model, handled, s.versions)
             for t, s in subscriptions.items()},
            FakeEngine(), processed_table(MetaData()),  # type: ignore[arg-type]
            letters)
        record = ConsumerRecord(e06.TOPIC, 0, 0, 0, 0, b"k", value, None, 1,
                                len(value), [])
        asyncio.run(consumer.process(record))
        for reason in letters.reasons:
            found.add(e06.TOO_LARGE if reason.startswith("record of")
                      else e06.MALFORMED if reason.startswith("malformed")
                      else e06.UNSUPPORTED if "schema version" in reason
                      else reason)
    return found or {None}


def test_06_the_check_judges_every_sample_as_the_real_consumers_do() -> None:
    from cqrs_lab.exercises.e06 import judge, samples

    for sample in samples():
        assert consumers_say(sample.value) == {judge(sample.value)}, sample.name


# -- 07: compensation, in-process cases ------------------------------------------


def test_07_refunding_a_declined_payment_is_explained() -> None:
    from cqrs_lab.exercises.e07 import ex1
    from services.inventory.domain.commands import ReleaseStock
    from services.payments.domain.commands import RefundPayment

    def compensate(event: Any) -> list[Any]:
        if event.type_name() == "StockReservationRejected":
            return []
        reason = getattr(event, "reason", "")
        if event.type_name() == "PaymentDeclined":
            reason = f"payment declined: {reason}"
        return [ReleaseStock(event.order_id, reason),
                RefundPayment(event.order_id, reason)]

    result = ex1.check(compensate)
    assert result.status is Status.INCORRECT
    assert "when the payment was declined" in result.message
    assert "no money was taken" in result.message


def test_07_releasing_stock_that_was_never_reserved_is_explained() -> None:
    from cqrs_lab.exercises.e07 import ex1

    reference = load("07", "solution").namespace["compensate"]
    from services.inventory.domain.commands import ReleaseStock

    def compensate(event: Any) -> list[Any]:
        if event.type_name() == "StockReservationRejected":
            return [ReleaseStock(event.order_id, event.reason)]
        return list(reference(event))

    result = ex1.check(compensate)
    assert result.status is Status.INCORRECT
    assert "never taken" in result.message


# -- 09: racing writers ------------------------------------------------------------


def test_09_reference_passes() -> None:
    from cqrs_lab.exercises.e09 import ex1

    result = ex1.check(load("09", "solution").namespace["reserve_one"])
    assert result.status is Status.CORRECT, result


def test_09_appending_without_the_expected_version_oversells() -> None:
    from cqrs_lab.exercises.e09 import ex1

    def reserve_one(store: Any, product_id: str, order_id: uuid.UUID) -> bool:
        stream = stock_stream(product_id)
        _, events = store.load(stream)
        stock = ProductStock.rebuild(events)
        stock.allocate(order_id, 1)
        store.append(stream, None, stock.take_pending())
        return True

    result = ex1.check(reserve_one)
    assert result.status is Status.INCORRECT
    assert "oversold" in result.message


def test_09_giving_up_on_a_conflict_is_named() -> None:
    from cqrs_lab.exercises.e09 import ex1

    def reserve_one(store: Any, product_id: str, order_id: uuid.UUID) -> bool:
        stream = stock_stream(product_id)
        version, events = store.load(stream)
        stock = ProductStock.rebuild(events)
        stock.allocate(order_id, 1)
        store.append(stream, version, stock.take_pending())
        return True

    result = ex1.check(reserve_one)
    assert result.status is Status.INCORRECT
    assert "raised ConcurrencyConflict" in result.message


# -- 05: the slow hop, with a fake collector --------------------------------------


def span_json(span: FakeSpan) -> dict[str, Any]:
    """A FakeSpan as the collector's JSON API answers it."""
    return {"traceId": span.trace_id, "spanId": span.span_id,
            "parentSpanId": span.parent.span_id if span.parent else None,
            "service": span.service, "kind": span.kind, "name": span.name,
            "startNs": span.start_ns, "durationMs": span.duration_ms,
            "attributes": span.attributes}


class FakeCollectorLab:
    """Stands in for the lab: keeps exported spans, answers lab.spans()."""

    def __init__(self) -> None:
        self.exported: list[FakeSpan] = []

        class Client:
            def post(self, path: str, content: bytes, headers: Any) -> Any:
                from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
                    ExportTraceServiceRequest,
                )

                ExportTraceServiceRequest.FromString(content)
                return type("Ok", (), {"raise_for_status": lambda self: None})()

        self.collector = type("Collector", (), {"client": Client()})()

    def spans(self, correlation_id: str) -> pd.DataFrame:
        from cqrs_lab.traces import spans_frame

        return spans_frame(span_json(s) for s in self.exported
                           if s.attributes["cqrs.correlation_id"]
                           == correlation_id)


def slow_hop_exercise() -> Any:
    """The 05 exercise on a fake collector that shows what was planted."""
    from cqrs_lab.exercises import e05

    lab = FakeCollectorLab()
    exercise = e05.SlowestHop(lab)
    plant = e05.plant

    def planting(rng: Any, **kwargs: Any) -> Any:
        planted = plant(rng, **kwargs)
        lab.exported.extend(planted.spans)
        return planted

    return exercise, planting


def test_05_reference_finds_the_planted_hop(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from cqrs_lab.exercises import e05

    exercise, planting = slow_hop_exercise()
    monkeypatch.setattr(e05, "plant", planting)
    result = exercise.check(load("05", "solution").namespace["slowest_hop"])
    assert result.status is Status.CORRECT, result


def test_05_the_longest_span_is_the_decoy(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from cqrs_lab.exercises import e05

    exercise, planting = slow_hop_exercise()
    monkeypatch.setattr(e05, "plant", planting)

    def slowest_hop(spans: pd.DataFrame) -> tuple[str, str]:
        row = spans.loc[spans["duration_ms"].idxmax()]
        return row["service"], row["name"]

    result = exercise.check(slowest_hop)
    assert result.status is Status.INCORRECT
    assert "the longest span" in result.message
    assert "waited 1.2 s in Kafka" in result.message


# -- 10: upcasting, with a fake store ----------------------------------------------


class FakeStoreLab:
    """Stands in for the lab: a few OrderPlaced rows, as lab.events gives."""

    def place_order(self, *args: Any, **kwargs: Any) -> None:
        return None

    def events(self, service: str, event_type: str, limit: int) -> pd.DataFrame:
        rows = [{"event_type": "OrderPlaced", "schema_version": 1, "data": {
            "order_id": str(uuid.uuid4()), "customer_id": f"c{n}",
            "lines": [{"product_id": "book-001", "quantity": n + 1,
                       "unit_price": "19.99"}],
            "total_amount": str(Decimal("19.99") * (n + 1)),
            "confirmation": "auto" if n % 3 else "manual"}} for n in range(6)]
        return pd.DataFrame(rows)


def test_10_reference_passes_on_mixed_versions() -> None:
    from cqrs_lab.exercises.e10 import Upcaster

    answer = load("10", "solution").namespace["upcast_order_placed_v1"]
    result = Upcaster(FakeStoreLab()).check(answer)
    assert result.status is Status.CORRECT, result


def test_10_forgetting_the_confirmation_default_fails_to_decode() -> None:
    from cqrs_lab.exercises.e10 import Upcaster

    reference = load("10", "solution").namespace["upcast_order_placed_v1"]

    def upcast_order_placed_v1(data: dict[str, Any]) -> dict[str, Any]:
        found = dict(reference(data))
        found.pop("confirmation")
        return found

    result = Upcaster(FakeStoreLab()).check(upcast_order_placed_v1)
    assert result.status is Status.INCORRECT
    assert "does not decode after your upcaster" in result.message


# -- 03: the expected revenue is computed from what the check did ------------------


def test_03_expected_revenue_counts_only_delivered_orders() -> None:
    from cqrs_lab.exercises.e03 import Placed, expected_revenue

    placed = [Placed("a", None, Decimal("39.98"), "delivered"),
              Placed("a", None, Decimal("25.00"), "cancelled after payment"),
              Placed("b", None, Decimal("29.99"), "declined")]
    assert expected_revenue(placed) == {"a": Decimal("39.98"),
                                        "b": Decimal("0.00")}


def test_a_refusal_raised_by_the_learners_own_call_is_incorrect() -> None:
    from cqrs_lab.errors import UnknownOrder
    from cqrs_lab.exercises.e01 import PlaceAndRead

    def place_two_books(lab: Any, customer: str) -> Any:
        raise UnknownOrder("no order 3f2a in the read model")

    result = PlaceAndRead(object()).check(place_two_books)
    assert result.status is Status.INCORRECT
    assert "raised UnknownOrder: no order 3f2a" in result.message
