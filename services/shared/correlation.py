"""The correlation id of the work in hand, carried through logs and messages."""

from __future__ import annotations

import logging
import re
import uuid
from contextvars import ContextVar

HEADER = "X-Correlation-ID"

_current: ContextVar[str | None] = ContextVar("correlation_id", default=None)

# Printable ASCII without spaces, short enough for a header and a log line.
_VALID = re.compile(r"^[A-Za-z0-9._:@/+=-]{1,128}$")


def new_correlation_id() -> str:
    """A fresh correlation id for a request that came without one."""
    return str(uuid.uuid4())


def is_valid(value: str) -> bool:
    """True when a caller's correlation id is safe to log and forward."""
    return bool(_VALID.match(value))


def current() -> str | None:
    """The correlation id of the current task, if any."""
    return _current.get()


def bind(correlation_id: str | None) -> object:
    """Makes `correlation_id` current; returns a token for `unbind`."""
    return _current.set(correlation_id)


def unbind(token: object) -> None:
    """Restores the correlation id that was current before `bind`."""
    _current.reset(token)  # type: ignore[arg-type]


class CorrelationFilter(logging.Filter):
    """Adds `correlation_id` to every log record (`-` when there is none)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "correlation_id"):
            record.correlation_id = _current.get() or "-"
        return True


def configure_logging(service: str, level: int = logging.INFO) -> None:
    """Sends the process's logs to stderr, each line with its correlation id."""
    handler = logging.StreamHandler()
    handler.addFilter(CorrelationFilter())
    handler.setFormatter(logging.Formatter(
        f"%(asctime)s %(levelname)s service={service} "
        "correlation_id=%(correlation_id)s %(name)s: %(message)s"
    ))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("aiokafka", "uvicorn.access", "httpx"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
