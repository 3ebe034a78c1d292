"""The committed lessons carry no run-dependent outputs and follow the house form.

No stack is needed: these tests read the .ipynb files only. The lessons
themselves run under nbval (see tests/notebooks/sanitize.cfg):

    pytest --nbval-lax --nbval-sanitize-with tests/notebooks/sanitize.cfg notebooks/
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[2]
LESSONS = sorted((ROOT / "notebooks").glob("[0-9][0-9]-*.ipynb"))
MARKER = "# NBVAL_CHECK_OUTPUT"
LINK = re.compile(r"\]\(([^)\s]+\.ipynb)\)")


def read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def checked(cell: nbformat.NotebookNode) -> bool:
    return cell.cell_type == "code" and any(
        line.strip() == MARKER for line in cell.source.splitlines())


def markdown(nb: nbformat.NotebookNode) -> str:
    return "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")


def test_the_lessons_are_there() -> None:
    assert len(LESSONS) == 11, [p.name for p in LESSONS]
    assert [p.name[:2] for p in LESSONS] == [f"{n:02d}" for n in range(11)]


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_only_checked_cells_keep_outputs(path: Path) -> None:
    nb = read(path)
    number = 0
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        where = f"{path.name} cell {index}"
        if not checked(cell):
            assert cell.outputs == [], f"{where} has outputs; strip them"
            assert cell.execution_count is None, f"{where} has a count"
            continue
        # nbval needs a count on a checked cell; fixed numbers diff cleanly.
        number += 1
        assert cell.execution_count == number, f"{where}: count not {number}"
        assert cell.outputs, f"{where} is checked but has no recorded output"
        for output in cell.outputs:
            assert output.get("output_type") != "error", f"{where} failed"
            if "execution_count" in output:
                assert output["execution_count"] == number, where
    assert "widgets" not in nb.metadata, f"{path.name} keeps widget state"


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_enough_checked_cells(path: Path) -> None:
    assert sum(checked(c) for c in read(path).cells) >= 2


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_house_form(path: Path) -> None:
    nb = read(path)
    first = nb.cells[0]
    assert first.cell_type == "markdown" and first.source.startswith("# "), \
        f"{path.name} must open with its title"
    headings = [line for c in nb.cells if c.cell_type == "markdown"
                for line in c.source.splitlines() if line.startswith("## ")]
    assert "## Summary" in headings, f"{path.name} has no Summary section"
    assert "## Setup" in headings, f"{path.name} has no Setup section"
    links = LINK.findall(markdown(nb))
    exercise = path.parent.parent / "exercises" / path.name
    if exercise.exists():
        assert f"../exercises/{path.name}" in links, \
            f"{path.name} does not link to its exercise notebook"
    index = LESSONS.index(path)
    if index + 1 < len(LESSONS):
        assert LESSONS[index + 1].name in links, \
            f"{path.name} does not link to the next lesson"
    else:
        assert LESSONS[0].name in links


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_setup_checks_the_stack(path: Path) -> None:
    code = "\n".join(c.source for c in read(path).cells
                     if c.cell_type == "code")
    assert "lab = Lab()" in code and "lab.check()" in code


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_code_is_short_and_portable(path: Path) -> None:
    for index, cell in enumerate(read(path).cells):
        if cell.cell_type != "code":
            continue
        for line in cell.source.splitlines():
            assert len(line) < 80, f"{path.name} cell {index}: {line!r}"
        # Ports and hosts come from lab.settings, so CI's ports work too.
        assert not re.search(r"localhost|127\.0\.0\.1|:\d{4}\b", cell.source), \
            f"{path.name} cell {index} hard-codes an address"


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_links_point_at_lessons(path: Path) -> None:
    for link in LINK.findall(markdown(read(path))):
        assert (path.parent / link).exists(), f"{path.name} links to {link}"
