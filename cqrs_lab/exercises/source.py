"""Reads exercise sources: percent-format cells with marked solution regions.

A source is a runnable Python file (the reference notebook). Cells start
at `# %%` lines; `# %% [markdown]` cells are comments. A header may carry
`exercise=ex1` (the starter cell), `check=ex1` (the check cell) and
`tags=a,b`. In code, `# BEGIN SOLUTION` / `# END SOLUTION` enclose the
answer; an optional `# BEGIN STUB` / `# END STUB` block of commented
lines right after it is what the learner gets instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

View = Literal["learner", "solution"]
HEADER = re.compile(r"^# %%(?P<rest>.*)$")
MARKER = re.compile(r"^(?P<indent>\s*)# (?P<edge>BEGIN|END) (?P<kind>SOLUTION|STUB)\s*$")
PLACEHOLDER = 'raise NotImplementedError("your code here")'


class SourceError(Exception):
    """An exercise source is malformed; the message names file and line."""


@dataclass(frozen=True)
class Cell:
    """One cell of a source: its kind, raw lines and metadata."""

    kind: Literal["code", "markdown"]
    lines: tuple[str, ...]
    meta: dict[str, str] = field(default_factory=dict)
    tags: tuple[str, ...] = ()

    def text(self, view: View) -> str:
        """The cell's text as the given view shows it."""
        if self.kind == "markdown":
            return _strip_blank("\n".join(_uncomment(line)
                                          for line in self.lines))
        return _strip_blank("\n".join(render(self.lines, view)))


def src_dir() -> Path:
    """The folder of exercise sources: in the repository, or above the cwd."""
    here = Path(__file__).resolve().parents[2] / "exercises" / "src"
    if here.is_dir():
        return here
    for folder in (Path.cwd(), *Path.cwd().parents):
        if (folder / "exercises" / "src").is_dir():
            return folder / "exercises" / "src"
    raise SourceError("exercises/src not found: run from the CQRS Lab "
                      "repository (installed with `pip install -e .`)")


def sources(folder: Path | None = None) -> list[Path]:
    """Every exercise source, in lesson order."""
    return sorted((folder or src_dir()).glob("[0-9][0-9]-*.py"))


def parse(path: Path) -> list[Cell]:
    """The cells of a source file; text before the first `# %%` is dropped."""
    cells: list[Cell] = []
    header: str | None = None
    lines: list[str] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        found = HEADER.match(line)
        if found is None:
            lines.append(line)
            continue
        if header is not None:
            cells.append(_cell(header, lines))
        header, lines = found["rest"], []
    if header is not None:
        cells.append(_cell(header, lines))
    return cells


def _cell(header: str, lines: list[str]) -> Cell:
    kind: Literal["code", "markdown"] = "code"
    meta: dict[str, str] = {}
    tags: tuple[str, ...] = ()
    for token in header.split():
        if token == "[markdown]":
            kind = "markdown"
        elif token.startswith("tags="):
            tags = tuple(token.removeprefix("tags=").split(","))
        elif "=" in token:
            key, value = token.split("=", 1)
            meta[key] = value
    return Cell(kind, tuple(lines), meta, tags)


def render(lines: tuple[str, ...] | list[str], view: View) -> list[str]:
    """Code lines with solution regions kept (solution) or stubbed (learner)."""
    out: list[str] = []
    inside: str | None = None
    pending: str | None = None  # indentation of a region awaiting its stub
    for number, line in enumerate(lines, 1):
        found = MARKER.match(line)
        if found is None:
            if inside == "SOLUTION" and view == "solution":
                out.append(line)
            elif inside == "STUB" and view == "learner":
                out.append(_uncomment(line))
            elif inside is None:
                if pending is not None:
                    out.append(pending + PLACEHOLDER)
                    pending = None
                out.append(line)
            continue
        edge, kind = found["edge"], found["kind"]
        if edge == "BEGIN":
            if inside is not None:
                raise SourceError(f"line {number}: BEGIN {kind} inside {inside}")
            if kind == "SOLUTION" and pending is not None and view == "learner":
                out.append(pending + PLACEHOLDER)
            if kind == "STUB":
                pending = None
            inside = kind
        else:
            if inside != kind:
                raise SourceError(f"line {number}: END {kind} without BEGIN")
            inside = None
            if kind == "SOLUTION" and view == "learner":
                pending = found["indent"]
    if inside is not None:
        raise SourceError(f"BEGIN {inside} is never ended")
    if pending is not None:
        out.append(pending + PLACEHOLDER)
    return out


def _uncomment(line: str) -> str:
    stripped = line.lstrip()
    indent = line[: len(line) - len(stripped)]
    if stripped.startswith("# "):
        return indent + stripped[2:]
    return indent + stripped.removeprefix("#")


def _strip_blank(text: str) -> str:
    return text.strip("\n")


def solution_code(lesson: str, name: str) -> str:
    """The reference version of an exercise's starter cell."""
    path = src_dir() / f"{lesson}.py"
    if not path.is_file():
        raise SourceError(f"no exercise source {path}")
    for cell in parse(path):
        if cell.meta.get("exercise") == name:
            return cell.text("solution")
    raise SourceError(f"{path.name} has no cell marked exercise={name}")
