"""The rows of a leaderboard table, as cells every format renders its own way (Markdown, LaTeX, HTML).

>>> header, rows = leaderboard_rows(board.tables[0], board)    # results/: crowdflower first
>>> [cell.text for cell in rows[0][:4]]           # letter, retriever, queries, nDCG@10 (best first)
['c', 'hybrid:bm25+dense', '47', '0.831']
>>> cross_domain(board.main)["rows"][0]["label"]   # the cross-domain matrix, as data
'crowdflower+homedepot (`splade-finetuned`)'
"""

from __future__ import annotations

from typing import Any

from bench.leaderboard import evidence, timings
from bench.leaderboard.cells import Cell, p_text
from bench.leaderboard.store import Leaderboard, ResultTable
from bench.metrics import ALPHA, BASELINE, LABELS, METRICS, TEST_NAME

METRIC_NOTES = {
    "ndcg@10": "graded gains, gain / log2(rank + 1), top 10",
    "mrr@10": "1 / rank of the first relevant product in the top 10",
    "recall@10": "share of the relevant products found in the top 10",
    "recall@100": "share of the relevant products found in the top 100",
    "map@100": "mean average precision over the top 100",
    "precision@10": "share of relevant products in the top 10",
}


def leaderboard_rows(table: ResultTable, board: Leaderboard) -> tuple[list[Cell], list[list[Cell]]]:
    """Header and rows of one table: letter, retriever, queries, metrics, pool, vs BM25, speed, sparsity."""
    letters = board.letters
    found = table.evidence
    scores = found["scores"]
    beats = found["significance"]["metrics"] if found["significance"] else None
    systems = table.systems()
    best = {m: max(round(scores[m][r.retriever], 3) for r in systems) for m in METRICS}
    fastest = timings.fastest([r.meta for r in systems]) if len(table.machines()) == 1 else {}
    sig_note = (f"superscript: the retrievers (letters) this score beats, {TEST_NAME} against {BASELINE}, "
                f"Holm-corrected p < {ALPHA}")

    header = [Cell("", note="letter used by the significance marks"),
              Cell("Retriever", note="the adapter's name (`python -m bench list`)"),
              Cell("Queries", note="queries this row was scored on (with a relevant product)")]
    header += [Cell(LABELS[m], note=f"{METRIC_NOTES[m]}; {sig_note}") for m in METRICS]
    header += evidence.pool_header()
    if found["versus_baseline"]:
        header += evidence.versus_header(found["significance"]["family_size"])
    header += [*timings.speed_header(),
               Cell("Active dims q / d", note="mean non-zero dimensions of query / document vectors")]
    if len(board.machines) > 1:
        header.append(Cell("Machine", note="where this row ran; see Machines"))
    rows = []
    for stored in table.ranked():
        name = stored.retriever
        row = [Cell(letters[name]), Cell(name, code=True), Cell(f"{table.queries:,}", sort=table.queries)]
        for m in METRICS:
            score = scores[m][name]
            beaten = beats[m]["beats"][name] if beats else {}
            order = sorted(beaten, key=letters.__getitem__)
            explained = "; ".join(f"{other} (p={p_text(beaten[other])})" for other in order)
            row.append(Cell(f"{round(score, 3):.3f}", bold=round(score, 3) == best[m],
                            sup="".join(letters[other] for other in order),
                            sort=round(score, 6),
                            sup_note=f"significantly better than {explained}" if beaten else ""))
        row += evidence.pool_cells(found, name)
        if found["versus_baseline"]:
            row += evidence.versus_cells(found["versus_baseline"].get(name))
        row += timings.speed_cells(stored.meta, fastest)
        info = stored.meta.get("info") or {}
        row.append(Cell(active_dims(info), sort=info.get("active_dims_query")))
        if len(board.machines) > 1:
            row.append(Cell(stored.machine, note=machine_short(stored.environment)))
        rows.append(row)
    return header, rows


def active_dims(info: dict[str, Any]) -> str:
    query, doc = info.get("active_dims_query"), info.get("active_dims_doc")
    if query is None and doc is None:
        return "—"
    return f"{timings.display(query, 'dims')} / {timings.display(doc, 'dims')}"


def cross_domain(tables: list[ResultTable]) -> dict[str, Any]:
    """Rows: one per (retriever, trained_on) plus the untrained baseline; columns: tables."""
    rows: dict[tuple[str, tuple[str, ...]], dict[str, float]] = {}
    for table in tables:
        for stored in table.runs:
            trained_on = (stored.meta.get("info") or {}).get("trained_on")
            if trained_on:
                key = (stored.retriever, tuple(sorted(trained_on)))
                rows.setdefault(key, {})[table.label] = table.score(stored.retriever)
    columns = [t.label for t in tables]
    if not rows:
        return {"columns": columns, "rows": []}
    result = [
        {"retriever": name, "trained_on": list(trained_on), "label": f"{'+'.join(trained_on)} (`{name}`)",
         "ndcg@10": scores}
        for (name, trained_on), scores in sorted(rows.items())
    ]
    baseline = {t.label: t.score(BASELINE) for t in tables if t.has(BASELINE)}
    if baseline:
        result.append({"retriever": BASELINE, "trained_on": [], "label": f"none (`{BASELINE}`)",
                       "ndcg@10": baseline})
    return {"columns": columns, "rows": result}


def machine_line(environment: dict[str, Any] | None) -> str:
    if not environment:
        return "not recorded (no environment.json)."
    cpu = environment.get("cpu") or {}
    packages = environment.get("packages") or {}
    versions = ", ".join(f"{name} {v}" for name, v in packages.items() if v and name != "ranx")
    return (
        f"{cpu.get('model', '?')} ({cpu.get('cores', '?')} cores), "
        f"{environment.get('memory_gib', '?')} GiB RAM, "
        f"GPU: {environment.get('gpu') or 'none'}; Python {environment.get('python', '?')}; {versions}; "
        f"git {environment.get('git_commit') or 'unknown'}."
    )


def machine_short(environment: dict[str, Any] | None) -> str:
    if not environment:
        return "not recorded"
    cpu = environment.get("cpu") or {}
    return f"{cpu.get('model', '?')} ×{cpu.get('cores', '?')}, GPU: {environment.get('gpu') or 'none'}"
