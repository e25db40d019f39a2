"""The leaderboard's speed columns, and what each timing in a run's sidecar includes.

>>> best = fastest([bm25_meta, splade_meta])          # as displayed: equal-looking values tie
>>> [cell.text for cell in speed_cells(bm25_meta, best)]
['0.69', '0.91', '1389', '—', '1.3']                   # p50 ms, p95 ms, QPS, Load s, Index s
>>> protocol_lines([("bm25", bm25_meta), ("splade", splade_meta)])
['**Speed**: latency p50/p95 = single-query `search` calls, ...']

What the runner times (bench/runner.py), each apart: Load s = loading the model weights (None,
shown —, for a retriever without a model); Index s = building the index (encoding + upserts)
or opening the cached one, model loading excluded; QPS = all test queries in one batch, after
one untimed warm-up batch; latency p50/p95 = single-query `search` calls after one warm-up
call. A sidecar without `warmup` predates these rules: its QPS is the cold first batch, its
Index s includes loading the model, and it has no Load s.
"""

from __future__ import annotations

from typing import Any

from bench.leaderboard.cells import Cell

BEST = {"latency_ms_p50": min, "latency_ms_p95": min, "qps": max}  # which end of a speed column is best


def speed_header() -> list[Cell]:
    return [
        Cell("p50 ms", note="median single-query latency: one search call, query encoding included, after "
                            "one warm-up call"),
        Cell("p95 ms", note="95th percentile single-query latency"),
        Cell("QPS", note="queries per second: all test queries in one batch, after an untimed warm-up batch"),
        Cell("Load s", note="seconds to load the model weights (— without a model or not recorded)"),
        Cell("Index s", note="seconds to build the index, encoding + upserts (to open it when cached); "
                             "model loading excluded"),
    ]


def fastest(metas: list[dict[str, Any]]) -> dict[str, str | None]:
    """The best displayed value of each of `BEST`'s columns over these runs (bold in the table)."""
    best: dict[str, str | None] = {}
    for key, pick in BEST.items():
        values = [display(meta[key], key) for meta in metas if meta.get(key) is not None]
        best[key] = pick(values, key=float) if values else None
    return best


def speed_cells(meta: dict[str, Any], best: dict[str, str | None]) -> list[Cell]:
    """p50, p95, QPS (bold where best), Load s and Index s of one run's sidecar."""
    cells = []
    for key in BEST:
        shown = display(meta.get(key), key)
        cells.append(Cell(shown, bold=shown != "—" and shown == best.get(key), sort=meta.get(key)))
    load = meta.get("model_load_seconds")
    older = "warmup" not in meta
    index = display(meta.get("index_seconds"), "index_seconds")
    return [
        *cells,
        Cell(display(load, "model_load_seconds"), sort=load,
             note="not recorded: an older run, its Index s includes model loading" if older
             else "no model to load" if load is None else ""),
        Cell(f"{index} (cached)" if meta.get("index_cached") else index, sort=meta.get("index_seconds"),
             note="includes model loading (an older run)" if older else ""),
    ]


def protocol_lines(runs: list[tuple[str, dict[str, Any]]]) -> list[str]:
    """The Speed bullet for these (retriever, sidecar) runs, and one on runs from before the warm-up."""
    latency_queries = sorted({meta.get("latency_queries") for _, meta in runs} - {None}, key=str)
    lines = [
        "**Speed**: latency p50/p95 = single-query `search` calls, query encoding included, after one "
        f"warm-up call, on {', '.join(map(str, latency_queries))} sampled queries; QPS = all test queries in "
        "one batch / wall time, after one untimed warm-up batch of the same queries; Index s = building the "
        "index (encoding + upserts), or opening the cached one when marked cached, model loading excluded; "
        "Load s = loading the model weights (— for a retriever without a model). Speed is comparable only "
        "between rows of the same machine.",
    ]
    slow_batches = [line for name, meta in runs if (line := batch_below_p50(name, meta))]
    if slow_batches:
        lines.append("**QPS below 1000 / p50**: " + "; ".join(slow_batches) + ". Such a batch is no faster "
                     "than its single calls (it answers one query at a time), and single-call latency is "
                     "skewed: a few slow queries put the mean above the p50.")
    older = sorted({name for name, meta in runs if "warmup" not in meta})
    if older:
        which = "every run here" if all("warmup" not in meta for _, meta in runs) else "the runs of " + \
            ", ".join(f"`{name}`" for name in older)
        lines.append(f"**Older timings**: {which} predate these rules (no `warmup` in the sidecar): their "
                     "QPS is the first, cold batch, their Index s includes loading the model, and Load s was "
                     "not recorded (—).")
    return lines


def batch_below_p50(name: str, meta: dict[str, Any]) -> str:
    """`name (QPS; 1000 / p50; 1000 / mean latency)` when its warm batch is slower than 1000 / p50."""
    qps, p50, mean = meta.get("qps"), meta.get("latency_ms_p50"), meta.get("latency_ms_mean")
    if not (qps and p50 and mean) or qps >= 1000 / p50:
        return ""
    where = f" on {meta['dataset']}" if meta.get("dataset") else ""
    return (f"`{name}`{where} ({qps:,.0f} q/s; 1000 / p50 = {1000 / p50:,.0f}, "
            f"1000 / mean latency = {1000 / mean:,.0f})")


def display(value: Any, key: str) -> str:
    """How a timing or count reads in the table (bold compares these strings)."""
    if value is None:
        return "—"
    if key in {"latency_ms_p50", "latency_ms_p95"}:
        return f"{value:.2f}" if value < 100 else f"{value:.0f}"
    if key in {"qps", "dims"}:
        return f"{value:.0f}"
    return f"{value:.1f}"
