"""The errors the lab raises: each says what went wrong and what to do."""

from __future__ import annotations

START_HINT = ("The lab is not running: start it with `cqrs-lab up` "
              "(or `make up`) in a terminal at the project's root.")


class LabError(Exception):
    """Something the lab cannot do; the message says what to do instead."""


class LabNotRunning(LabError):
    """A part of the stack does not answer; the message says how to start it."""

    def __init__(self, detail: str = "") -> None:
        text = START_HINT if not detail else f"{detail}\n{START_HINT}"
        super().__init__(text)
        self.detail = detail


class UnknownOrder(LabError):
    """No order has this id (or it is not in the read model yet)."""


class UnknownTopic(LabError):
    """A Kafka topic the lab does not know."""


class CommandRejected(LabError):
    """The API answered 4xx or 5xx; the message is the API's own explanation."""

    def __init__(self, status: int, code: str, message: str,
                 body: object = None) -> None:
        super().__init__(f"HTTP {status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.body = body


class OrderStuck(LabError):
    """An order reached a final status other than the one awaited."""


class TracesUnavailable(LabError):
    """The trace collector does not answer or has no spans for the request."""
