"""In-process broadcast of new records and traces to server-sent-event clients."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

logger = logging.getLogger(__name__)

QUEUE_SIZE = 2000


@dataclass(frozen=True)
class Message:
    """One item to push: its SSE event name and JSON-ready data."""

    event: str
    data: dict[str, Any]
    health: bool = False


class Subscription:
    """One client's bounded queue; a slow client loses its oldest items."""

    def __init__(self, size: int = QUEUE_SIZE) -> None:
        self.queue: asyncio.Queue[Message | None] = asyncio.Queue(size)
        self.dropped = 0

    def offer(self, item: Message | None) -> None:
        """Queues an item, dropping the oldest one when the queue is full."""
        while True:
            try:
                self.queue.put_nowait(item)
                return
            except asyncio.QueueFull:
                self.queue.get_nowait()
                self.dropped += 1


class Hub:
    """Fans messages out to every subscription of this process."""

    def __init__(self) -> None:
        self._subscriptions: set[Subscription] = set()
        self.closed = False

    def publish(self, messages: list[Message]) -> None:
        """Hands the messages to every current subscriber without waiting."""
        for subscription in list(self._subscriptions):
            for message in messages:
                subscription.offer(message)

    @asynccontextmanager
    async def subscribe(self) -> AsyncIterator[Subscription]:
        """Yields one subscription and removes it when the client leaves."""
        subscription = Subscription()
        self._subscriptions.add(subscription)
        if self.closed:
            subscription.offer(None)
        logger.info("stream client joined clients=%d", len(self._subscriptions))
        try:
            yield subscription
        finally:
            self._subscriptions.discard(subscription)
            logger.info("stream client left clients=%d dropped=%d",
                        len(self._subscriptions), subscription.dropped)

    def close(self) -> None:
        """Ends every stream, so the server can shut down without waiting."""
        self.closed = True
        for subscription in list(self._subscriptions):
            subscription.offer(None)

    @property
    def clients(self) -> int:
        """How many streams are open."""
        return len(self._subscriptions)
