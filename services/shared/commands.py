"""Runs a command's load, decide and save in one transaction, again after a lost race.

A command sent without an expected version means "do this to the stream as
it is now". When a consumer appends to that stream between the command's
load and its save, loading again and deciding again is exactly what the
caller asked for, so the command is retried a few times instead of
answering 409. A command that carries the caller's expected version
(If-Match) is never retried: its conflict is the answer.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.shared.eventstore import ConcurrencyConflict

logger = logging.getLogger(__name__)

T = TypeVar("T")

ATTEMPTS = 10


async def run_command(engine: AsyncEngine,
                      decide: Callable[[AsyncConnection], Awaitable[T]],
                      retry: bool = True) -> T:
    """Runs `decide` in a transaction; with `retry`, again after a conflict."""
    attempt = 1
    while True:
        try:
            async with engine.begin() as conn:
                return await decide(conn)
        except ConcurrencyConflict as conflict:
            if not retry or attempt >= ATTEMPTS:
                raise
            logger.info("command lost a race stream_id=%s attempt=%s",
                        conflict.stream_id, attempt)
        # A short, growing, random pause: writers that collided do not
        # collide again in step, and the winner's transaction can end.
        await asyncio.sleep(random.uniform(0, 0.02 * attempt))
        attempt += 1
