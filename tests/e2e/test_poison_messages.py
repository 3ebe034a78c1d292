"""Poison messages on each real topic go to the dead letters; good ones flow on."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from cqrs_lab import Lab
from tests.e2e.shop import place, wait_for_status
from tests.helpers import eventually, order_body

# Which consumer groups read each topic, so each poison message is
# expected once per group.
READERS = {
    "orders-events": {"inventory-service", "payments-service"},
    "inventory-events": {"orders-service"},
    "payments-events": {"orders-service"},
}
# A type every reader of the topic subscribes to, so each one must reject
# the spoiled versions (a type a reader does not follow, it skips).
SUBSCRIBED = {"orders-events": "OrderCancelled",
              "inventory-events": "StockReserved",
              "payments-events": "PaymentApproved"}


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    """The learner's API, used here for raw Kafka access."""
    handle = Lab()
    yield handle
    handle.close()


def envelope(event_type: str, **changes: Any) -> dict[str, Any]:
    """A well-formed envelope that changes can spoil in one way."""
    body: dict[str, Any] = {
        "event_id": str(uuid.uuid4()), "event_type": event_type,
        "schema_version": 1, "source": "poison-test",
        "stream_id": "poison", "version": 1,
        "occurred_at": "2026-01-01T00:00:00+00:00",
        "data": {"order_id": str(uuid.uuid4())},
    }
    body.update(changes)
    return body


def poisons(topic: str) -> dict[str, bytes]:
    """One record of each kind of poison, by the reason it should be given."""
    kind = SUBSCRIBED[topic]
    wrong = envelope(kind, data={"order_id": "not-a-uuid", "lines": "x"})
    return {
        "malformed envelope": b"{not json",
        "exceeds": b" " * (300 * 1024),
        "data is invalid": json.dumps(wrong).encode(),
        "schema version 99": json.dumps(
            envelope(kind, schema_version=99)).encode(),
    }


@pytest.mark.parametrize("topic", sorted(READERS))
def test_each_kind_of_poison_is_dead_lettered_by_every_reader_with_its_reason(
    lab: Lab, gateway: httpx.Client, topic: str,
) -> None:
    marker = f"poison-{uuid.uuid4().hex[:8]}"
    for name, value in poisons(topic).items():
        lab.send_raw(topic, value, key=marker, headers={"marker": name})

    def landed() -> list[tuple[str, str]] | None:
        letters = lab.dead_letters(timeout=2.0)
        mine = letters[letters["key"] == marker] if len(letters) else letters
        found = [(row["dlq_consumer"], row["dlq_reason"])
                 for _, row in mine.iterrows()]
        expected = len(poisons(topic)) * len(READERS[topic])
        return found if len(found) >= expected else None

    found = eventually(landed, 45, interval=1.0, what="poison dead-lettered")
    assert {consumer for consumer, _ in found} == READERS[topic]
    for reason in poisons(topic):
        hits = [c for c, why in found if reason in why]
        assert sorted(hits) == sorted(READERS[topic]), (reason, found)

    # The consumers carried on: a new order still goes all the way.
    order_id = place(gateway, order_body(("book-001", 1, "19.99")))
    wait_for_status(gateway, order_id, "ready_for_delivery")
