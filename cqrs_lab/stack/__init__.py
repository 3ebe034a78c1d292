"""Starts, watches and stops the lab's processes on this machine, without Docker."""

from cqrs_lab.stack.errors import StackError
from cqrs_lab.stack.launcher import PartStatus, Stack

__all__ = ["PartStatus", "Stack", "StackError"]
