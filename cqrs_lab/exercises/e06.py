"""Exercises of lesson 06, failure and recovery: poison messages and dead letters.

Exercise 1 sends a record that is not JSON to orders-events and asks the
learner to read, from the dead-letter topic, why each consumer group gave
up on it. Exercise 2 needs no stack: the learner judges raw values as the
consumers would, and the check compares with the same three tests the
consumers run, in the same order.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from cqrs_lab.errors import LabError
from cqrs_lab.exercises.core import Exercise, Incorrect
from cqrs_lab.exercises.live import TIMEOUT, run_id
from services.inventory.handlers import SUBSCRIPTIONS as INVENTORY
from services.payments.handlers import SUBSCRIPTIONS as PAYMENTS
from services.shared.consumer import MAX_RECORD_BYTES, Subscription
from services.shared.messages import Envelope

TOPIC = "orders-events"
# The consumer groups that read TOPIC, each with what it handles.
READERS: dict[str, Mapping[str, Subscription]] = {
    "inventory-service": INVENTORY, "payments-service": PAYMENTS}
POISON = b"{not json"
# JSON but no envelope: malformed too, for another reason than POISON.
DECOY = b'{"event_type": "OrderPlaced"}'

TOO_LARGE = "too large"
MALFORMED = "malformed envelope"
UNSUPPORTED = "unsupported schema version"


def reads(readers: Mapping[str, Mapping[str, Subscription]]
          ) -> dict[str, frozenset[int]]:
    """Each event type some reader handles, with the versions all of them read."""
    found: dict[str, frozenset[int]] = {}
    for subscriptions in readers.values():
        for event_type, subscription in subscriptions.items():
            known = found.get(event_type, subscription.versions)
            found[event_type] = known & subscription.versions
    return found


READS = reads(READERS)


# -- exercise 1: read the dead letters ----------------------------------------------


class DeadLetterReasons(Exercise):
    """Which consumer groups gave up on a poison record, and why."""

    lesson = "06-failure-and-recovery"
    name = "ex1"
    title = "Read the dead letters"
    difficulty = 1
    answer_name = "dead_letter_reasons"
    hints = (
        ("`lab.dead_letters()` is a DataFrame of the whole dead-letter topic: "
         "keep the rows whose `key` column is the key you were given."),
        ("Each consumer group that gave up wrote its own row: the group is in "
         "`dlq_consumer`, the reason in `dlq_reason`."),
        ("Filter with `letters[letters['key'] == key]`, then build the dict "
         "with `dict(zip(rows['dlq_consumer'], rows['dlq_reason']))`."),
    )

    def verify(self, answer: Callable[[Any, str], Any]) -> str:
        """Sends a fresh poison record; the answer must match its dead letters."""
        key = f"ex06-{run_id()}"
        deadline = time.monotonic() + TIMEOUT
        sent = self.lab.send_raw(TOPIC, POISON, key=key)
        want = self._reasons(key, deadline)
        # A later poison with another key and reason: an answer that ignores
        # the key reads this one's reasons, not those of the record asked for.
        self.lab.send_raw(TOPIC, DECOY, key=f"{key}-decoy")
        self._reasons(f"{key}-decoy", deadline)
        got = self.call(answer, self.lab, key)
        if not isinstance(got, Mapping):
            raise Incorrect(f"{self.answer_name} returned "
                            f"{type(got).__name__}; return a dict of consumer "
                            "group → reason")
        got = {str(group): reason for group, reason in got.items()}
        if not got:
            raise Incorrect(
                f"you found no dead letters for key {key}, yet "
                f"{' and '.join(sorted(want))} both dead-lettered it: keep the "
                "rows of lab.dead_letters() whose key column is that key")
        self._compare(key, got, want)
        return (f"{POISON!r} (key {key}, offset {sent['offset']} of "
                f"{TOPIC}) was given up by {' and '.join(sorted(want))}: "
                "every group reads the topic on its own, so each dead-letters "
                "it, with the reason")

    def _compare(self, key: str, got: Mapping[str, Any],
                 want: Mapping[str, str]) -> None:
        if missing := sorted(set(want) - set(got)):
            found = ", ".join(sorted(got))
            raise Incorrect(
                f"you found only {found}; {' and '.join(missing)} also gave up "
                f"on the record with key {key}: each consumer group of {TOPIC} "
                "reads it on its own")
        if extra := sorted(set(got) - set(want)):
            named = ", ".join(extra[:3]) + (" …" if len(extra) > 3 else "")
            raise Incorrect(
                f"{named} did not dead-letter the record with key "
                f"{key}; only {' and '.join(sorted(want))} did: keep only the "
                "rows with that key")
        for group, reason in sorted(want.items()):
            if got[group] != reason:
                raise Incorrect(
                    f"for {group} you said {got[group]!r}; its dlq_reason "
                    f"header says {reason!r}: take the reason from the row of "
                    f"key {key}, not another column or another record")

    def _reasons(self, key: str, deadline: float) -> dict[str, str]:
        """Waits until every reader of the topic has dead-lettered the key."""
        found: dict[str, str] = {}
        while time.monotonic() < deadline:
            left = deadline - time.monotonic()
            letters = self.lab.dead_letters(timeout=min(left, 5.0))
            mine = letters[letters["key"] == key]
            found = dict(zip(mine["dlq_consumer"], mine["dlq_reason"],
                             strict=True))
            if set(found) >= set(READERS):
                break
            time.sleep(0.3)
        if set(found) < set(READERS):
            waiting = sorted(set(READERS) - set(found))
            raise TimeoutError(
                f"{', '.join(waiting)} did not dead-letter the poison record "
                f"(key {key}) within {TIMEOUT:.0f} s: is the service running? "
                "(cqrs-lab status)")
        if not all("malformed" in reason for reason in found.values()):
            # The consumers changed how they word it: the check needs fixing.
            raise LabError(f"the dead letters of {key} give unexpected "
                           f"reasons, please report: {found}")
        return found


# -- exercise 2: which record is poison? ----------------------------------------------


def judge(value: bytes, versions: Mapping[str, frozenset[int]] = READS
          ) -> str | None:
    """Why the readers of orders-events would dead-letter a value, or None."""
    # The consumers' order matters: size first, so a huge value is never parsed.
    if len(value) > MAX_RECORD_BYTES:
        return TOO_LARGE
    try:
        envelope = Envelope.model_validate_json(value)
    except ValidationError:
        return MALFORMED
    handled = versions.get(envelope.event_type)
    # An event type no reader handles is skipped, not dead-lettered.
    if handled is not None and envelope.schema_version not in handled:
        return UNSUPPORTED
    return None


@dataclass(frozen=True)
class Sample:
    """A raw value, how messages name it, and why the consumers judge it so."""

    name: str
    value: bytes
    why: str


def envelope(event_type: str, version: int, **extra: Any) -> bytes:
    """A well-formed envelope of an order event, as the services publish one."""
    order_id = str(uuid.uuid4())
    data = {"order_id": order_id, "customer_id": "ex06",
            "lines": [{"product_id": "book-001", "quantity": 1,
                       "unit_price": "19.99"}],
            "total_amount": "19.99", "reason": "exercise 06"}
    fields = Envelope(
        event_id=uuid.uuid4(), event_type=event_type, schema_version=version,
        source="orders", stream_id=f"order-{order_id}", version=1,
        occurred_at=datetime.now(UTC), data=data).model_dump(mode="json")
    # Extra top-level fields are ignored by Envelope: they only add bytes.
    return json.dumps({**fields, **extra}).encode()


def samples() -> list[Sample]:
    """The values the check judges, each a trap some answer falls into."""
    huge = "x" * (MAX_RECORD_BYTES + 1024)
    return [
        Sample("an OrderPlaced envelope, version 1", envelope("OrderPlaced", 1),
               "a well-formed envelope at a version its readers handle"),
        Sample(f"{POISON!r}", POISON, "it is not JSON"),
        Sample("b'' (an empty value)", b"", "no bytes are no envelope"),
        Sample("b'{\"event_type\": \"OrderPlaced\", \"data\": {}}'",
               b'{"event_type": "OrderPlaced", "data": {}}',
               "it is JSON but not an envelope: event_id, schema_version, "
               "source… are missing"),
        Sample("an OrderPlaced envelope, version 2", envelope("OrderPlaced", 2),
               f"inventory-service reads OrderPlaced at versions "
               f"{sorted(READS['OrderPlaced'])} only"),
        Sample("a GiftWrapped envelope, version 3", envelope("GiftWrapped", 3),
               f"no reader of {TOPIC} handles GiftWrapped, so each skips it: "
               "skipping is not dead-lettering"),
        Sample("an OrderPlaced envelope, version 1, of about 257 KiB",
               envelope("OrderPlaced", 1, padding=huge),
               f"more than {MAX_RECORD_BYTES} bytes is refused before it is "
               "parsed, however well-formed"),
        Sample(f"{MAX_RECORD_BYTES + 1} bytes of b'x'",
               b"x" * (MAX_RECORD_BYTES + 1),
               "the size is checked first: a huge value is never parsed"),
    ]


class PoisonJudge(Exercise):
    """Says which raw values the consumers would dead-letter, and why."""

    lesson = "06-failure-and-recovery"
    name = "ex2"
    title = "Which record is poison?"
    difficulty = 2
    answer_name = "is_poison"
    hints = (
        ("A consumer tests a record in this order and dead-letters it at the "
         "first failure: its size (over `MAX_RECORD_BYTES`), then its "
         "envelope, then the schema version of an event type it handles."),
        ("Valid JSON is not always an envelope: "
         "`Envelope.model_validate_json(value)` raises `ValidationError` "
         "for anything that is not one. An event type missing from `READS` "
         "is skipped by every reader: not poison."),
        ("Return `TOO_LARGE` when `len(value) > MAX_RECORD_BYTES`; "
         "`MALFORMED` when validating the envelope fails; `UNSUPPORTED` when "
         "`envelope.event_type` is in `READS` but `envelope.schema_version` "
         "is not in `READS[envelope.event_type]`; otherwise `None`."),
    )

    def verify(self, answer: Callable[[bytes], Any]) -> str:
        """Judges every sample with the answer and with the consumers' tests."""
        allowed = (TOO_LARGE, MALFORMED, UNSUPPORTED, None)
        checked = samples()
        for sample in checked:
            got = self.call(answer, sample.value,
                            what=f"{self.answer_name}({sample.name})")
            if got not in allowed:
                raise Incorrect(
                    f"{self.answer_name}({sample.name}) returned {got!r}; "
                    "return TOO_LARGE, MALFORMED, UNSUPPORTED or None")
            want = judge(sample.value)
            if got != want:
                said = "None (not poison)" if got is None else repr(got)
                would = ("handle or skip it" if want is None
                         else f"dead-letter it as {want!r}")
                raise Incorrect(f"{sample.name}: you said {said}, the "
                                f"consumers would {would}: {sample.why}")
        poison = sum(judge(s.value) is not None for s in checked)
        return (f"{len(checked)} values judged as the consumers do: {poison} "
                "poison, the rest handled or skipped")


ex1 = DeadLetterReasons()
ex2 = PoisonJudge()

__all__ = ["MALFORMED", "READS", "TOO_LARGE", "UNSUPPORTED", "ex1", "ex2",
           "judge", "samples"]
