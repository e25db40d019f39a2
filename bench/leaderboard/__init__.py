"""The published leaderboard: tables, significance and plots rebuilt from the stored runs.

>>> build(Path("results"))   # also `python -m bench leaderboard`
[PosixPath('results/leaderboard.md'), PosixPath('results/leaderboard.csv'), ...]
>>> build(Path("merged"), sources=[Path("laptop"), Path("gpu-box")])   # several machines, one page

Every folder holding a dataset.json (`results/<dataset>/`, and `results/<dataset>/variants/<v>/`
for quick runs) is one independent table: its runs are scored and significance-tested against
each other only, on that folder's own queries (every system against the baseline, then every
pair in a table of its own: evidence.py), and every row says how many queries it was scored
on. A correctness twin (bench.twins) is a check line under its table, not a row. The main
tables hold full-protocol runs; variants get their own section. A run is read only if its file
matches the sha256 in its sidecar (else it is skipped with one line).

Writes leaderboard.md, .csv, .json, .tex (booktabs), index.html (one self-contained page) and
plots/*.png. Everything is computed before the first file is written, each file is written
atomically, and the same inputs give byte-identical files (no timestamps but the runs' own).

The rooms: store.py (reading and merging results folders), evidence.py (what a table shows beyond
its means), rows.py and sections.py (what the tables and the text say), markdown.py, page.py
(HTML), latex.py, exports.py (CSV, JSON), plots.py, qdrant.py (Qdrant's published numbers, read
from qdrant_reference.json), cells.py and timings.py (how a cell and a speed column read). The
numbers themselves come from bench.metrics, bench.uncertainty and bench.twins.
"""

from __future__ import annotations

import json
from pathlib import Path

from bench.io import atomic_path
from bench.leaderboard.exports import csv_text, json_data
from bench.leaderboard.latex import latex
from bench.leaderboard.markdown import markdown
from bench.leaderboard.page import render
from bench.leaderboard.plots import PLOT_NAMES, plot_ndcg, plot_quality_vs_latency
from bench.leaderboard.sections import sections
from bench.leaderboard.store import Leaderboard, read_leaderboard

FORMATS = ("md", "csv", "json", "latex", "html")


def build(
    out: Path, sources: list[Path] | None = None, prefer: Path | None = None,
    formats: tuple[str, ...] = FORMATS,
) -> list[Path]:
    """Rebuild the leaderboard files in `out` from the runs stored in `sources` (default: `out`)."""
    out = Path(out)
    board = read_leaderboard(sources or [out], prefer)
    md = markdown(board)
    plots = {}  # PNGs: files next to the Markdown, inlined into the page
    if {"md", "html"} & set(formats):
        plots = {out / "plots" / PLOT_NAMES[0]: plot_ndcg(board),
                 out / "plots" / PLOT_NAMES[1]: plot_quality_vs_latency(board)}
    outputs: dict[Path, bytes] = {}
    if "md" in formats:
        outputs[out / "leaderboard.md"] = md.encode()
    if "csv" in formats:
        outputs[out / "leaderboard.csv"] = csv_text(board).encode()
    if "json" in formats:
        outputs[out / "leaderboard.json"] = (json.dumps(json_data(board), indent=2) + "\n").encode()
    if "latex" in formats:
        outputs[out / "leaderboard.tex"] = latex(board).encode()
    if "html" in formats:
        images = {path.name: data for path, data in plots.items()}
        outputs[out / "index.html"] = render(
            "E-commerce retrieval leaderboard", sections(board), images
        ).encode()
    outputs.update(plots)
    for path, content in outputs.items():  # only now, with everything computed
        with atomic_path(path) as tmp:
            tmp.write_bytes(content)
    print_summary(board, list(outputs))
    return list(outputs)


def print_summary(board: Leaderboard, paths: list[Path]) -> None:
    for table in [*board.tables, *board.variants]:
        best = table.ranked()[0].retriever
        systems, checks = len(table.systems()), len(table.evidence["checks"])
        print(f"{table.label}: best nDCG@10 {table.score(best):.3f} by {best} ({systems} retrievers, "
              + (f"{checks} check{'s' * (checks > 1)}, " if checks else "") + f"{table.queries} queries)")
    print("wrote " + ", ".join(str(p) for p in paths))


__all__ = ["FORMATS", "build", "read_leaderboard"]
