"""Wakes a service's background loops when its event store gets new events.

PostgreSQL's LISTEN/NOTIFY turns polling into pushing: the append sends a
notification at commit, and the relay and projectors start at once. They
still poll every half second, so a lost connection only slows them down.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import asyncpg

from services.shared.settings import LabSettings

logger = logging.getLogger(__name__)

POLL_SECONDS = 0.5


class Wakeup:
    """Listens on one channel and sets every registered asyncio.Event."""

    def __init__(self, settings: LabSettings, channel: str) -> None:
        self.settings = settings
        self.channel = channel
        self.waiters: list[asyncio.Event] = []
        self._conn: asyncpg.Connection | None = None

    def waiter(self) -> asyncio.Event:
        """An event that is set whenever a notification arrives."""
        event = asyncio.Event()
        self.waiters.append(event)
        return event

    async def run(self) -> None:
        """Keeps a listening connection open, reconnecting when it drops."""
        while True:
            try:
                await self._listen()
            except asyncio.CancelledError:
                raise
            except (OSError, asyncpg.PostgresError) as error:
                logger.warning("listen failed channel=%s error=%s",
                               self.channel, error)
            await asyncio.sleep(1.0)

    async def _listen(self) -> None:
        s = self.settings
        conn = await asyncpg.connect(
            host=s.postgres_host or s.host, port=s.postgres_port,
            user=s.postgres_user, password=s.postgres_password,
            database=s.postgres_db,
        )
        try:
            await conn.add_listener(self.channel, self._notified)
            self._notified()
            while not conn.is_closed():
                await asyncio.sleep(POLL_SECONDS)
        finally:
            await conn.close()

    def _notified(self, *_: Any) -> None:
        for event in self.waiters:
            event.set()


async def wait(event: asyncio.Event, timeout: float = POLL_SECONDS) -> None:
    """Waits for a wake-up or the polling interval, whichever comes first."""
    try:
        await asyncio.wait_for(event.wait(), timeout)
    except TimeoutError:
        pass
    event.clear()
