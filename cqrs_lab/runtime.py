"""A private event loop on a background thread, so async clients work anywhere.

Jupyter already runs an event loop on the main thread, where
`asyncio.run` is refused; running the lab's coroutines on a loop of their
own works the same in a notebook and in a plain script.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from concurrent.futures import Future
from typing import Any, TypeVar

T = TypeVar("T")


class LoopThread:
    """Runs coroutines on one long-lived event loop in a daemon thread."""

    def __init__(self, name: str = "cqrs-lab-loop") -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._serve, name=name,
                                        daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def submit(self, coro: Coroutine[Any, Any, T]) -> Future[T]:
        """Schedules a coroutine on the loop and returns its future."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def run(self, coro: Coroutine[Any, Any, T],
            timeout: float | None = None) -> T:
        """Runs a coroutine on the loop and waits for its result."""
        if threading.current_thread() is self._thread:
            raise RuntimeError("LoopThread.run called from its own loop")
        return self.submit(coro).result(timeout)

    def close(self) -> None:
        """Stops the loop and its thread."""
        if self.loop.is_closed():
            return
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=5)
        self.loop.close()
