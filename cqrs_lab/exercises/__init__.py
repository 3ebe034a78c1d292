"""Exercises for the lessons: checks, progressive hints and solutions.

    from cqrs_lab.exercises.e03 import ex1
    ex1.check(RevenuePerCustomer)   # correct / incorrect / not attempted
    ex1.hint()                      # ex1.hint(2) says more
    ex1.solution()                  # the reference answer, when you ask

The notebooks in exercises/ are generated from exercises/src/ with
`python -m cqrs_lab.exercises.build`.
"""

from __future__ import annotations

from cqrs_lab.exercises.core import Exercise, Result, Status

LESSONS = ("e01", "e02", "e03", "e04", "e05", "e06", "e07", "e08", "e09", "e10")

__all__ = ["LESSONS", "Exercise", "Result", "Status"]
