"""CQRS Lab: the learner's handle on a running event-driven system.

    from cqrs_lab import Lab
    lab = Lab()
    lab.status()
"""

from __future__ import annotations

from cqrs_lab.commands import CommandResult
from cqrs_lab.errors import (
    CommandRejected,
    LabError,
    LabNotRunning,
    OrderStuck,
    TracesUnavailable,
    UnknownOrder,
    UnknownTopic,
)
from cqrs_lab.lab import Lab
from cqrs_lab.store import StoredEvent
from cqrs_lab.widgets import TailView

__all__ = [
    "CommandRejected",
    "CommandResult",
    "Lab",
    "LabError",
    "LabNotRunning",
    "OrderStuck",
    "StoredEvent",
    "TailView",
    "TracesUnavailable",
    "UnknownOrder",
    "UnknownTopic",
]
