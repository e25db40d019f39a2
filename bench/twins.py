"""Correctness twins: a second implementation of a system, checked against it, never ranked or tested.

>>> split_checks(["bm25", "bm25-rank", "dense"])      # bm25-rank re-implements bm25 (rank_bm25)
(['bm25', 'dense'], {'bm25-rank': 'bm25'})
>>> agreement(bm25_ndcg, rank_ndcg, bm25_run, rank_run)   # per-query nDCG@10 and the runs
{'score': 0.5693, 'reference_score': 0.5694, 'queries': 2000, 'queries_differing': 2,
 'max_abs_delta': 0.0868, 'same_top': 1995, 'max_score_delta': 5e-06}
>>> sentence("bm25-rank", "bm25", agreement(...))
'`bm25-rank` differs from `bm25`: a different nDCG@10 on 2 of 2,000 queries (0.5693 vs 0.5694, ...'

A twin whose reference is not in the same table is an ordinary system there.
"""

from __future__ import annotations

from typing import Any

from bench.data import Run
from bench.results import ranked

CHECKS: dict[str, str] = {"bm25-rank": "bm25"}
"""Twin -> the system it re-implements: the same scoring function, written independently."""
TOP = 10


def split_checks(names: list[str], checks: dict[str, str] = CHECKS) -> tuple[list[str], dict[str, str]]:
    """(the systems, in order; {twin: reference} for each twin whose reference is among `names`)."""
    twins = {name: checks[name] for name in names if checks.get(name) in names}
    return [name for name in names if name not in twins], twins


def agreement(reference: dict[str, float], twin: dict[str, float], reference_run: Run, twin_run: Run,
              top: int = TOP) -> dict[str, Any]:
    """How a twin's per-query scores and rankings compare with its reference's, over `reference`'s queries.

    queries_differing: per-query scores not exactly equal; same_top: queries whose top `top`
    product ids are the same list; max_score_delta: the largest |score difference| of a product
    both runs returned for a query (0 when the runs score identically).
    """
    deltas = [abs(twin[qid] - reference[qid]) for qid in reference]
    same_top = sum(_top(reference_run, qid, top) == _top(twin_run, qid, top) for qid in reference)
    score_deltas = [abs(scores[doc_id] - twin_run[qid][doc_id])
                    for qid, scores in reference_run.items() if qid in twin_run
                    for doc_id in scores.keys() & twin_run[qid].keys()]
    return {
        "score": sum(twin.values()) / len(twin), "reference_score": sum(reference.values()) / len(reference),
        "queries": len(reference), "queries_differing": sum(delta > 0 for delta in deltas),
        "max_abs_delta": max(deltas, default=0.0), "same_top": same_top,
        "max_score_delta": max(score_deltas, default=0.0),
    }


def sentence(twin: str, reference: str, found: dict[str, Any], metric: str = "nDCG@10") -> str:
    """One line for the leaderboard: agrees (same scores and top lists), or how it differs."""
    n, differing = found["queries"], found["queries_differing"]
    other_tops = n - found["same_top"]
    scores = f"{found['score']:.4f} vs {found['reference_score']:.4f}"
    products = (f"product scores differ by up to {found['max_score_delta']:.2g}" if found["max_score_delta"]
                else "identical product scores")
    if differing == 0 and other_tops == 0:
        return (f"`{twin}` agrees with `{reference}`: identical {metric} on all {n:,} queries ({scores}), "
                f"the same top {TOP} on all, {products}.")
    return (f"`{twin}` differs from `{reference}`: a different {metric} on {differing:,} of {n:,} queries "
            f"({scores}, max per-query |Δ| {found['max_abs_delta']:.3f}), a different top {TOP} on "
            f"{other_tops:,}; {products}.")


def _top(run: Run, qid: str, top: int) -> list[str]:
    return [doc_id for doc_id, _ in ranked(run.get(qid) or {}, top)]
