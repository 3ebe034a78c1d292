"""Exercises of lesson 05, tracing: find the slow hop in a trace.

The check sends the collector a synthetic trace shaped like the lab's,
with one Kafka hop that waited long in the topic and one consumer that
worked long (a decoy), then asks the learner's function which hop was
slowest from publish to processed.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from cqrs_lab.exercises.core import Exercise, Incorrect
from cqrs_lab.exercises.live import TIMEOUT, poll
from services.traces.synthetic import MS, FakeSpan, export, saga

PROTOBUF = "application/x-protobuf"


@dataclass(frozen=True)
class Planted:
    """A synthetic trace with a known slow hop and a decoy."""

    correlation_id: str
    spans: list[FakeSpan]
    slow: FakeSpan
    wait_ms: float
    decoy: FakeSpan
    decoy_ms: float


def plant(rng: random.Random, wait_ms: float = 1200.0,
          decoy_ms: float = 400.0) -> Planted:
    """A saga trace where one consumer waited `wait_ms` in Kafka."""
    correlation_id = f"ex05-{uuid.uuid4().hex[:10]}"
    built = saga(str(uuid.uuid4()), correlation_id)
    consumers = [s for s in built.spans if s.kind == "consumer"]
    slow, decoy = rng.sample(consumers, 2)
    decoy.duration_ms = decoy_ms
    # Delay the slow consumer and everything after it: a queue wait.
    cut = slow.start_ns
    for span in built.spans:
        if span.start_ns >= cut:
            span.start_ns += int(wait_ms * MS)
    return Planted(correlation_id, built.spans, slow, wait_ms, decoy, decoy_ms)


def hop_ms(consumer: FakeSpan) -> float:
    """Publish start to processing end of a consumer span, in ms."""
    producer = consumer.parent or consumer
    return (consumer.end_ns - producer.start_ns) / MS


class SlowestHop(Exercise):
    """Read a trace: which Kafka hop cost the saga the most time?"""

    lesson = "05-tracing"
    name = "ex1"
    title = "Find the slowest hop"
    difficulty = 2
    answer_name = "slowest_hop"
    hints = (
        ("A hop is a producer span (`publish <topic>`) and the consumer span "
         "(`process <event>`) whose parent it is. Time it from the start of "
         "publishing to the end of processing."),
        ("`cqrs_lab.traces.kafka_hops(spans)` joins each consumer span to its "
         "producer: the producer's columns end in `_producer`."),
        ("end = start + duration; took = end − start_producer; return the "
         "(service, name) of the row where `took` is largest "
         "(`Series.idxmax()`)."),
    )

    def verify(self, answer: Callable[[pd.DataFrame], Any]) -> str:
        """Plants two traces with different slow hops; both must be found."""
        rng = random.Random()
        for _ in range(2):
            planted = plant(rng)
            spans = self._send(planted)
            found = self.call(answer, spans, what=self.answer_name)
            self._compare(planted, found)
        return ("found the hop that waited in Kafka in two traces, each with "
                "a slower-working decoy")

    def _send(self, planted: Planted) -> pd.DataFrame:
        body = export(planted.spans).SerializeToString()
        response = self.lab.collector.client.post(
            "/v1/traces", content=body, headers={"content-type": PROTOBUF})
        response.raise_for_status()
        want = len(planted.spans)

        def arrived() -> pd.DataFrame | None:
            spans = self.lab.spans(correlation_id=planted.correlation_id)
            return spans if len(spans) >= want else None

        spans = poll(arrived, TIMEOUT)
        if spans is None:
            raise TimeoutError(f"the collector did not show the {want} spans "
                               f"of {planted.correlation_id} within "
                               f"{TIMEOUT:.0f} s")
        return spans

    def _compare(self, planted: Planted, found: Any) -> None:
        slow = (planted.slow.service, planted.slow.name)
        if not isinstance(found, (tuple, list)) or len(found) != 2:
            raise Incorrect(f"slowest_hop returned {found!r}; return a tuple "
                            "(service, span name), e.g. ('orders', "
                            "'process StockReserved')")
        answer = tuple(str(x) for x in found)
        if answer == slow:
            return
        decoy = (planted.decoy.service, planted.decoy.name)
        took = hop_ms(planted.slow)
        if answer == decoy:
            raise Incorrect(
                f"in trace {planted.correlation_id} you answered {answer}, "
                f"the longest span ({planted.decoy_ms:.0f} ms of work); but "
                f"the hop into {slow} took {took:.0f} ms from publish to "
                f"processed: it waited {planted.wait_ms / 1000:.1f} s in Kafka "
                "before its consumer started")
        raise Incorrect(f"in trace {planted.correlation_id} you answered "
                        f"{answer}; the slowest hop was into {slow}, "
                        f"{took:.0f} ms from publish to processed")


ex1 = SlowestHop()

__all__ = ["Planted", "ex1", "hop_ms", "plant"]
