"""A command without an expected version is decided again after a lost race."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from services.shared.commands import ATTEMPTS, run_command
from services.shared.eventstore import ConcurrencyConflict


class FakeEngine:
    """Hands out a connection per transaction and counts the transactions."""

    def __init__(self) -> None:
        self.transactions = 0

    @asynccontextmanager
    async def begin(self) -> AsyncIterator[object]:
        self.transactions += 1
        yield object()


def losing(times: int) -> Any:
    """A decision that loses `times` races, then answers "done"."""
    lost = 0

    async def decide(_: object) -> str:
        nonlocal lost
        if lost < times:
            lost += 1
            raise ConcurrencyConflict("stock-x", lost, lost + 1)
        return "done"

    return decide


async def test_a_command_that_lost_a_race_is_decided_again() -> None:
    engine = FakeEngine()

    answer = await run_command(engine, losing(2))  # type: ignore[arg-type]

    assert answer == "done"
    assert engine.transactions == 3


async def test_a_command_with_the_callers_version_is_not_retried() -> None:
    engine = FakeEngine()

    with pytest.raises(ConcurrencyConflict):
        await run_command(engine, losing(1), retry=False)  # type: ignore[arg-type]

    assert engine.transactions == 1


async def test_a_command_gives_up_after_its_attempts() -> None:
    engine = FakeEngine()

    with pytest.raises(ConcurrencyConflict):
        await run_command(engine, losing(ATTEMPTS))  # type: ignore[arg-type]

    assert engine.transactions == ATTEMPTS
