"""The generated notebooks run top to bottom in a real kernel on the live stack.

Solution notebooks must report correct in every check cell; learner
notebooks must report not attempted, and nothing may raise.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from cqrs_lab.exercises.core import Status
from cqrs_lab.exercises.source import sources
from cqrs_lab.exercises.testing import status_of

pytestmark = pytest.mark.stack

ROOT = Path(__file__).resolve().parents[2] / "exercises"
STEMS = [source.stem for source in sources()]
# A check drives the saga, which waits at most 30 s per order; room to spare.
CELL_TIMEOUT = 120


def executed(path: Path) -> nbformat.NotebookNode:
    """The notebook after running every cell in a fresh kernel."""
    notebook = nbformat.read(path, as_version=4)
    # The kernel inherits this process's environment, CQRS_LAB_* included.
    client = NotebookClient(notebook, timeout=CELL_TIMEOUT,
                            kernel_name="python3",
                            resources={"metadata": {"path": str(ROOT)}})
    client.execute()
    return notebook


def check_statuses(notebook: nbformat.NotebookNode) -> dict[str, Status | None]:
    """The status each check cell displayed, by exercise name."""
    found = {}
    for cell in notebook.cells:
        name = cell.metadata.get("cqrs_lab", {}).get("check")
        if name is None:
            continue
        texts = [o["data"]["text/plain"] for o in cell.outputs
                 if o.get("output_type") == "execute_result"]
        found[name] = status_of(texts[0]) if texts else None
    return found


@pytest.mark.parametrize("stem", STEMS)
def test_solution_notebook_reports_correct_in_every_check(stem: str) -> None:
    statuses = check_statuses(executed(ROOT / "solutions" / f"{stem}.ipynb"))
    assert statuses and set(statuses.values()) == {Status.CORRECT}, statuses


@pytest.mark.parametrize("stem", STEMS)
def test_learner_notebook_runs_and_reports_not_attempted(stem: str) -> None:
    statuses = check_statuses(executed(ROOT / f"{stem}.ipynb"))
    assert statuses and set(statuses.values()) == {Status.NOT_ATTEMPTED}, \
        statuses
