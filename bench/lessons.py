"""Times each lesson run headless, top to bottom, on the running lab.

Run with the lab up. Every notebook in `notebooks/` is executed in a fresh
kernel, as CI's nbval run does, without writing anything back; the wall
time of each and of all together is printed.
"""

from __future__ import annotations

import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

LESSONS = Path(__file__).resolve().parents[1] / "notebooks"
CELL_TIMEOUT = 300


def run(path: Path) -> float:
    """Executes one lesson in memory; returns its wall time in seconds."""
    nb = nbformat.read(path, as_version=4)
    began = time.monotonic()
    NotebookClient(nb, timeout=CELL_TIMEOUT, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    return time.monotonic() - began


def main() -> None:
    """Runs every lesson and prints the times."""
    total = 0.0
    for path in sorted(LESSONS.glob("[0-9][0-9]-*.ipynb")):
        seconds = run(path)
        total += seconds
        print(f"{path.stem:<32} {seconds:6.1f} s", flush=True)
    print(f"{'all lessons':<32} {total:6.1f} s")


if __name__ == "__main__":
    main()
