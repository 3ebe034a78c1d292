"""Runs an exercise source's cells in-process, as the test suites do."""

from __future__ import annotations

import re
import sys
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cqrs_lab.exercises.core import Result, Status
from cqrs_lab.exercises.source import View, parse, src_dir

STATUS = re.compile(r"^\[(?P<status>[a-z ]+)\]")


@dataclass(frozen=True)
class Loaded:
    """A view's namespace after its code cells ran, and its check cells."""

    namespace: dict[str, Any]
    checks: dict[str, str]

    def check(self, name: str) -> Result:
        """Runs the check cell of one exercise and returns its Result."""
        found: Result = eval(self.checks[name], self.namespace)
        return found


def source_of(lesson: str) -> Path:
    """The source file of a lesson given as "03" or "03-projections-…"."""
    found = sorted(src_dir().glob(f"{lesson[:2]}-*.py"))
    if not found:
        raise FileNotFoundError(f"no exercise source for lesson {lesson}")
    return found[0]


def load(lesson: str, view: View) -> Loaded:
    """Executes a view's code cells, except the checks, in a new namespace."""
    path = source_of(lesson)
    # Dataclasses look their module up in sys.modules, as in a kernel.
    module = types.ModuleType(f"exercise_{path.stem[:2]}_{view}")
    sys.modules[module.__name__] = module
    namespace: dict[str, Any] = module.__dict__
    checks: dict[str, str] = {}
    for cell in parse(path):
        if cell.kind != "code":
            continue
        text = cell.text(view)
        if "check" in cell.meta:
            checks[cell.meta["check"]] = text
        else:
            # Trusted code: the repository's own exercise sources.
            exec(compile(text, f"<{path.stem} {view}>", "exec"),  # noqa: S102
                 namespace)
    return Loaded(namespace, checks)


def status_of(text: str) -> Status | None:
    """The status a check cell's plain-text output starts with, if any."""
    found = STATUS.match(text)
    return Status(found["status"]) if found else None
