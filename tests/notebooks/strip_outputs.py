"""Keeps only the outputs nbval checks, so committed notebooks diff cleanly.

    python tests/notebooks/strip_outputs.py notebooks/*.ipynb
    python tests/notebooks/strip_outputs.py --execute notebooks/*.ipynb

Every output is removed except those of cells whose source has the line
`# NBVAL_CHECK_OUTPUT`. Execution counts are removed, except that checked
cells are numbered 1, 2, 3... in order: nbval refuses a cell with outputs
and no execution count ("unrun reference cell"), and fixed numbers keep
the diffs clean. With
`--execute`, each notebook is first run top to bottom on the running lab
(the CQRS_LAB_* variables say where), so the checked outputs are fresh,
and the wall time of each run is printed.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import nbformat

MARKER = "# NBVAL_CHECK_OUTPUT"


def is_checked(cell: nbformat.NotebookNode) -> bool:
    """True for a code cell whose outputs nbval compares."""
    return cell.cell_type == "code" and any(
        line.strip() == MARKER for line in cell.source.splitlines())


def strip(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Removes unchecked outputs and run metadata; renumbers checked cells."""
    number = 0
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        cell.execution_count = None
        cell.metadata.pop("execution", None)
        if not is_checked(cell):
            cell.outputs = []
            continue
        number += 1
        cell.execution_count = number
        for output in cell.outputs:
            if "execution_count" in output:
                output["execution_count"] = number
    nb.metadata.pop("widgets", None)
    return nb


def execute(nb: nbformat.NotebookNode, path: Path, timeout: int) -> float:
    """Runs a notebook in its own folder; returns the wall time in seconds."""
    from nbclient import NotebookClient

    started = time.monotonic()
    NotebookClient(nb, timeout=timeout, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    return time.monotonic() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--execute", action="store_true",
                        help="run each notebook before stripping it")
    parser.add_argument("--timeout", type=int, default=120,
                        help="seconds one cell may take (with --execute)")
    args = parser.parse_args(argv)
    total = 0.0
    for path in args.notebooks:
        nb = nbformat.read(path, as_version=4)
        if args.execute:
            seconds = execute(nb, path, args.timeout)
            total += seconds
            print(f"{path}: ran in {seconds:.1f} s")
        nbformat.write(strip(nb), path)
    if args.execute:
        print(f"all: {total:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
