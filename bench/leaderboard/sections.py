"""What the leaderboard says, as sections: rendered as Markdown (markdown.py) and as the web page (page.py).

>>> parts = sections(board)
>>> [part.title for part in parts][:3]
['Systems', 'crowdflower', 'crowdflower: all pairs']

Results first (each table with its checks and its all-pairs p-values, the plots, the
cross-domain matrix, Qdrant's numbers, the quick runs), then how they were made (protocol,
machines).
"""

from __future__ import annotations

from typing import Any

from bench.leaderboard import evidence, timings
from bench.leaderboard.cells import Cell, count_text
from bench.leaderboard.page import Section
from bench.leaderboard.plots import PLOT_NAMES
from bench.leaderboard.qdrant import qdrant_section
from bench.leaderboard.rows import cross_domain, leaderboard_rows, machine_line
from bench.leaderboard.store import Leaderboard, ResultTable
from bench.metrics import BASELINE, LABELS, METRICS


def sections(board: Leaderboard) -> list[Section]:
    """Results first (tables, plots, cross-domain, Qdrant's numbers, quick runs), then how they were made."""
    legend = ", ".join(f"{letter} = `{name}`" for name, letter in board.letters.items())
    parts = [Section("Systems", "systems", text=[
        f"Letters used by the significance marks: {legend}. Each table is one results folder: its rows were "
        f"scored on the same queries and are tested against `{BASELINE}` only; every pair is tested in the "
        "all-pairs table under it. Protocol and machine: at the end."
    ])]
    parts += [part for t in board.tables for part in table_sections(t, board)]
    if board.quick_only:
        parts.append(Section("Full protocol", "full-protocol", text=[
            "No full-protocol run yet (every test query, k = 100, seed 42); the quick runs are below. "
            "Run `python -m bench run --all` for the published protocol."]))
    parts.append(plots_section(board))
    parts.append(cross_domain_section(board))
    parts.append(qdrant_section(board))
    if board.variants:
        parts.append(Section("Quick runs (not the protocol)", "quick-runs", text=[
            "Runs on a query sample, another k or another seed. Each table was scored on its own "
            "queries: its rows are compared only with each other, never with the tables above or "
            "with another quick run."]))
        parts += [part for t in board.variants for part in table_sections(t, board, level=3)]
    parts.append(Section("Protocol", "protocol", bullets=protocol_lines(board)))
    if len(board.machines) > 1:
        parts.append(machines_section(board))
    return parts


def table_sections(table: ResultTable, board: Leaderboard, level: int = 2) -> list[Section]:
    """The table (with its checks below it), then its all-pairs p-values one level down."""
    meta = table.meta
    line = (f"{meta.get('split', 'test')} split: {count_text(meta.get('queries'))} queries "
            f"({table.queries:,} with a relevant product, scored), {count_text(meta.get('documents'))} "
            f"products, {count_text(meta.get('judgments'))} judgments; relevant = grade >= "
            f"{table.relevant_grade}.")
    if table.variant is not None:
        line = f"Quick run `{table.variant}`, not the protocol: " + line
    main = Section(table.label, table.anchor, level=level, text=[line], bullets=list(meta.get("notes", [])),
                   table=leaderboard_rows(table, board), after=evidence.checks_line(table.evidence))
    ranked = [r.retriever for r in table.ranked()]
    pairs = evidence.pairs_section(f"{table.label}: all pairs", f"{table.anchor}-pairs", level + 1, ranked,
                                   board.letters, table.evidence)
    return [main] if pairs is None else [main, pairs]


def plots_section(board: Leaderboard) -> Section:
    which = "quick runs (no full-protocol run yet)" if board.quick_only else "full-protocol runs"
    return Section("Plots", "plots", text=[f"nDCG@10 and quality against latency, {which}."],
                   images=[("nDCG@10 per dataset and retriever", f"plots/{PLOT_NAMES[0]}"),
                           ("nDCG@10 against p50 latency", f"plots/{PLOT_NAMES[1]}")])


def cross_domain_section(board: Leaderboard) -> Section:
    part = Section("Cross-domain", "cross-domain")
    matrix = cross_domain(board.main)
    if not matrix["rows"]:
        part.text = ["No run of a fine-tuned model (run info `trained_on`) yet."]
        return part
    columns = matrix["columns"]
    rows = []
    for row in matrix["rows"]:
        cells = [Cell(row["label"])]
        for column in columns:
            value = row["ndcg@10"].get(column)
            in_domain = column in row["trained_on"]
            cells.append(Cell("—") if value is None else
                         Cell(f"{value:.3f}{' †' if in_domain else ''}", sort=round(value, 6),
                              note="in-domain: trained on this dataset's train split" if in_domain else ""))
        rows.append(cells)
    part.text = ["nDCG@10 of models trained on the dataset(s) of the row (train split), evaluated on the "
                 f"test split of each column; † = in-domain. `{BASELINE}` (no training) for reference."
                 + (" Quick runs: each column on its own query sample." if board.quick_only else "")]
    part.table = ([Cell("trained on → evaluated on"), *(Cell(c) for c in columns)], rows)
    return part


def protocol_lines(board: Leaderboard) -> list[str]:
    tables = [*board.tables, *board.variants]
    runs = [r for t in tables for r in t.runs]
    ks = sorted({r.meta.get("k") for r in runs}, key=str)
    engines = sorted({str(r.meta.get("engine")) for r in runs})
    environments = list(board.machines.values())
    lines = [
        f"**Quality**: {', '.join(LABELS[m] for m in METRICS)} on each dataset's test split, computed with "
        f"ranx {_package(environments[0] if environments else None, 'ranx')}. nDCG@10 (primary) uses the "
        "graded gains (gain / log2(rank + 1)); MRR, Recall, MAP and P count a product as relevant when its "
        "grade is at least the dataset's relevant grade (stated per dataset).",
        "**Queries**: those with at least one relevant product; every row says how many it was scored on. "
        "A query a retriever returns nothing for scores 0.",
        "**Ties**: trec_eval's convention. Scores are rounded to the 6 decimals written in the run file; "
        "within a query, products rank by that score descending, then by product id descending (string "
        "order), so the run files give these numbers with trec_eval.",
        *evidence.protocol_lines([t.evidence["significance"]["family_size"] for t in tables
                                  if t.evidence["significance"]]),
        f"**Protocol runs**: every test query, k = 100, seed 42. **k** in these results: "
        f"{', '.join(map(str, ks))}; engine: {', '.join(engines)}.",
    ]
    lines += timings.protocol_lines([(r.retriever, r.meta) for r in runs])
    if len(board.machines) == 1:
        lines.append(f"**Machine**: {machine_line(environments[0])}")
    else:
        lines.append(f"**Machines**: {len(board.machines)} (M1 ... M{len(board.machines)}); each row names "
                     "its machine, described in the Machines section.")
    if len(board.sources) > 1:
        lines.append("**Merged from**: " + ", ".join(f"`{s}`" for s in board.sources) + ".")
    return lines


def machines_section(board: Leaderboard) -> Section:
    sources: dict[str, set[str]] = {}
    for table in [*board.tables, *board.variants]:
        for stored in table.runs:
            sources.setdefault(stored.machine, set()).add(str(stored.source))
    rows = [[Cell(label), Cell(machine_line(env)), Cell(", ".join(sorted(sources.get(label, ()))), code=True)]
            for label, env in board.machines.items()]
    return Section("Machines", "machines", text=["Each row of the tables names the machine it ran on."],
                   table=([Cell("Machine"), Cell("Environment"), Cell("Results folder")], rows))


def _package(environment: dict[str, Any] | None, name: str) -> str:
    """A package's version as recorded with the runs, else as installed now."""
    recorded = ((environment or {}).get("packages") or {}).get(name)
    if recorded:
        return recorded
    from importlib.metadata import version

    return version(name)
