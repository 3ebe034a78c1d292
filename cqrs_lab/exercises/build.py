"""Generates the exercise notebooks from their sources.

    python -m cqrs_lab.exercises.build            # write exercises/*.ipynb
    python -m cqrs_lab.exercises.build --check    # fail if any is stale

Each `exercises/src/NN-name.py` gives `exercises/NN-name.ipynb` (the
learner's copy: stubs, no outputs) and `exercises/solutions/NN-name.ipynb`
(the reference copy). Output is deterministic, so it can be diffed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import nbformat

from cqrs_lab.exercises.source import Cell, View, parse, sources, src_dir

# nbformat has no type hints: one typed handle on it for this module.
NB: Any = nbformat
KERNEL = {"display_name": "Python 3", "language": "python", "name": "python3"}


def notebook(cells: list[Cell], view: View, stem: str) -> Any:
    """The notebook of one view of a source's cells."""
    made = []
    for index, cell in enumerate(cells):
        text = cell.text(view)
        meta: dict[str, object] = {}
        if cell.meta:
            meta["cqrs_lab"] = dict(cell.meta)
        if cell.tags:
            meta["tags"] = list(cell.tags)
        if cell.kind == "markdown":
            new = NB.v4.new_markdown_cell(text, metadata=meta)
        else:
            new = NB.v4.new_code_cell(text, metadata=meta)
        # Stable ids keep regenerated notebooks identical to the old ones.
        new["id"] = f"{stem[:2]}-{view[0]}-{index:02d}"
        made.append(new)
    return NB.v4.new_notebook(cells=made, metadata={
        "kernelspec": KERNEL, "language_info": {"name": "python"}})


def outputs(source: Path, out_dir: Path) -> dict[Path, str]:
    """The learner and solution notebooks of a source, as text by path."""
    cells = parse(source)
    stem = source.stem
    return {
        out_dir / f"{stem}.ipynb": NB.writes(
            notebook(cells, "learner", stem)) + "\n",
        out_dir / "solutions" / f"{stem}.ipynb": NB.writes(
            notebook(cells, "solution", stem)) + "\n",
    }


def build(src: Path | None = None, out_dir: Path | None = None) -> list[Path]:
    """Writes every notebook and returns their paths."""
    src = src or src_dir()
    out_dir = out_dir or src.parent
    written = []
    for source in sources(src):
        for path, text in outputs(source, out_dir).items():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            written.append(path)
    return written


def stale(src: Path | None = None, out_dir: Path | None = None) -> list[Path]:
    """The notebooks that differ from what their sources generate."""
    src = src or src_dir()
    out_dir = out_dir or src.parent
    return [path for source in sources(src)
            for path, text in outputs(source, out_dir).items()
            if not path.is_file() or path.read_text(encoding="utf-8") != text]


def main(argv: list[str] | None = None) -> int:
    """Writes the notebooks, or with --check lists stale ones and fails."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="only report notebooks that are out of date")
    args = parser.parse_args(argv)
    if args.check:
        found = stale()
        for path in found:
            print(f"stale: {path}")
        return 1 if found else 0
    for path in build():
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
