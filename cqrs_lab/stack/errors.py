"""The one error type the launcher raises: a cause and a fix for a newcomer."""

from __future__ import annotations


class StackError(Exception):
    """Something stops the lab from starting; says what and how to fix it."""

    def __init__(self, cause: str, fix: str = "", log_tail: str = "") -> None:
        super().__init__(cause)
        self.cause = cause
        self.fix = fix
        self.log_tail = log_tail

    def __str__(self) -> str:
        text = self.cause
        if self.fix:
            text += f"\nFix: {self.fix}"
        if self.log_tail:
            text += f"\nLast lines of its log:\n{self.log_tail}"
        return text
