"""The leaderboard as data: leaderboard.csv (one row per run) and leaderboard.json (everything).

>>> csv_rows(board)[0]["retriever"], csv_rows(board)[0]["ndcg@10"]     # results/: crowdflower's bm25
('bm25', 0.802314)
>>> json_data(board)["protocol"]["test"]
"two-sided paired Student's t-test"
"""

from __future__ import annotations

import csv
import io
from typing import Any

from bench.leaderboard import evidence
from bench.leaderboard.cells import round6
from bench.leaderboard.qdrant import qdrant_reference
from bench.leaderboard.rows import cross_domain
from bench.leaderboard.store import Leaderboard, ResultTable
from bench.metrics import ALPHA, BASELINE, METRICS, POOL, PRIMARY, TEST_NAME

TIMING_COLUMNS = [
    "latency_ms_p50", "latency_ms_p95", "qps", "search_seconds", "model_load_seconds", "index_seconds",
    "index_cached", "docs_per_second", "warmup",
]
VERSUS_COLUMNS = {  # CSV column -> key of the row's comparison with the baseline (bench.leaderboard.evidence)
    "delta_ndcg@10": "delta", "ci95_low": "ci95_low", "ci95_high": "ci95_high", "p_vs_baseline": "p",
    "p_vs_baseline_raw": "p_raw", "wins": "wins", "ties": "ties", "losses": "losses",
}
INFO_COLUMNS = ["active_dims_query", "active_dims_doc", "model", "model_sha256", "trained_on"]
CSV_COLUMNS = ["dataset", "variant", "retriever", *METRICS, *POOL, *VERSUS_COLUMNS, "check_of",
               "queries_evaluated", "k", "engine", *TIMING_COLUMNS, *INFO_COLUMNS, "machine", "source",
               "run_sha256"]


def csv_rows(board: Leaderboard) -> list[dict[str, Any]]:
    rows = []
    for table in [*board.tables, *board.variants]:
        for stored in table.runs:
            info = stored.meta.get("info") or {}
            row: dict[str, Any] = {"dataset": table.name, "variant": table.variant,
                                   "retriever": stored.retriever}
            row.update({m: round6(table.score(stored.retriever, m)) for m in METRICS})
            extra = evidence.rounded(table.evidence, stored.retriever)
            versus = extra["vs_baseline"] or {}
            row.update(extra["pool"])
            row.update({column: versus.get(key) for column, key in VERSUS_COLUMNS.items()})
            row.update(check_of=extra["check_of"], queries_evaluated=table.queries, k=stored.meta.get("k"),
                       engine=stored.meta.get("engine"))
            row.update({key: stored.meta.get(key) for key in TIMING_COLUMNS})
            row.update({key: info.get(key) for key in INFO_COLUMNS})
            if isinstance(row["trained_on"], list):
                row["trained_on"] = "+".join(row["trained_on"])
            row.update(machine=stored.machine, source=str(stored.source), run_sha256=stored.sha256)
            rows.append(row)
    return rows


def csv_text(board: Leaderboard) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in csv_rows(board):
        writer.writerow({key: "" if value is None else value for key, value in row.items()})
    return buffer.getvalue()


def json_data(board: Leaderboard) -> dict[str, Any]:
    def entry(table: ResultTable) -> dict[str, Any]:
        return {
            "dataset": table.meta,
            "variant": table.variant,
            "queries_evaluated": table.queries,
            "retrievers": {r.retriever: {
                "metrics": {m: round6(table.score(r.retriever, m)) for m in METRICS},
                **evidence.rounded(table.evidence, r.retriever),
                "machine": r.machine, "source": str(r.source), "run": r.meta,
            } for r in table.runs},
            **evidence.rounded_table(table.evidence),
        }

    return {
        "protocol": {
            "metrics": METRICS, "primary": PRIMARY, "test": TEST_NAME, "alpha": ALPHA,
            "correction": "holm", "baseline": BASELINE,
            **evidence.PROTOCOL,
            "queries": "qrels queries with at least one product graded >= relevant_grade; "
                       "a query without results scores 0",
            "ties": "trec_eval: score (6 decimals) descending, then doc id descending",
            "compared": "only runs of the same table (results folder, so the same queries)",
        },
        "environment": next(iter(board.machines.values())) if len(board.machines) == 1 else None,
        "machines": board.machines,
        "sources": [str(s) for s in board.sources],
        "systems": board.letters,
        "datasets": {t.name: entry(t) for t in board.tables},
        "variants": {t.key: entry(t) for t in board.variants},
        "cross_domain": cross_domain(board.main),
        "qdrant_reference": {"sources": qdrant_reference()["sources"], "ndcg@10": {
            dataset: {system: list(bounds) for system, bounds in systems.items()}
            for dataset, systems in qdrant_reference()["ndcg@10"].items()
        }},
    }
