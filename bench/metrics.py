"""Ranking metrics and paired significance tests on plain dicts, computed by ranx.

>>> qrels = {"q1": {"B01": 3, "B02": 1}, "q2": {"B07": 2}}
>>> run = {"q1": {"B02": 9.1, "B01": 8.4}, "q2": {}}
>>> evaluate(qrels, run, relevant_grade=2)["ndcg@10"]   # q1 0.797, q2 (no results) 0
0.39835...
>>> pool_scores(qrels, run, relevant_grade=2)          # per query; `pool` gives the means
{'judged@10': {'q1': 0.2, 'q2': 0.0}, 'ndcg_cond@10': {'q1': 0.797..., 'q2': 0.0}}
>>> compare(qrels, {"bm25": run_a, "splade": run_b, "dense": run_c}, 2, baseline="bm25")["metrics"]["ndcg@10"]
{'scores': ..., 'beats': {'bm25': {}, 'splade': {'bm25': 0.0004}, 'dense': {}}, ...}  # Holm over 2 tests

Protocol (what the leaderboard states):
- nDCG@10 uses the graded gains (Järvelin & Kekäläinen: gain / log2(rank + 1), no 2^gain - 1),
  as trec_eval's ndcg_cut.10 does. MRR, Recall, MAP and Precision are binary: a product counts
  as relevant when its gain is at least the dataset's `relevant_grade` (ranx's `-lN` metric
  suffix, trec_eval's `-l N`).
- The evaluated queries are the qrels queries with at least one relevant product. A query
  with none cannot be answered by any system: it would add 0 to every score and nothing to a test.
- A query the run returns nothing for, or does not contain, scores 0 on every metric
  (ranx cannot score an empty ranking, so it never sees those queries). Run queries that
  are not in the qrels are ignored.
- Ties follow trec_eval: a run is ranked by its scores at the written precision, descending,
  then by doc id descending (`bench.results.ranked`), as the run file is written; so the scores
  here equal trec_eval's on the run files (tests/test_interop.py checks it with pytrec_eval).
- Significance: two-sided paired Student's t-test over the evaluated queries (ranx's test,
  scipy's ttest_rel), alpha 0.05, Holm-corrected over the family of one metric (family-wise
  error <= alpha per metric). The family is every system against `BASELINE` (the leaderboard's
  main table; correctness twins, `bench.twins.CHECKS`, are left out by the caller) or every pair
  (`baseline=None`: the all-pairs table).
- Pool diagnostics (not tested, shown beside the metrics): judged@10 is the share of the top 10
  that has a grade in the qrels of that query (grade 0 included), out of 10 even when fewer were
  returned; ndcg_cond@10 is nDCG@10 of the condensed list (Sakai 2007): unjudged products removed
  from the ranking, then cut at 10, with the same graded gains and ideal ranking as nDCG@10.
  Unjudged products count as irrelevant everywhere else, so a low judged@10 makes every metric a
  lower bound, and ndcg_cond@10 is the check of how much of a gap between systems is pool bias.
"""

from __future__ import annotations

import math
import warnings
from itertools import combinations
from typing import Any

from bench.data import Qrels, Run
from bench.errors import BenchError
from bench.results import ranked

METRICS = ["ndcg@10", "mrr@10", "recall@10", "recall@100", "map@100", "precision@10"]
PRIMARY = "ndcg@10"
LABELS = {
    "ndcg@10": "nDCG@10", "mrr@10": "MRR@10", "recall@10": "Recall@10", "recall@100": "Recall@100",
    "map@100": "MAP@100", "precision@10": "P@10",
}
GRADED = {"ndcg"}  # metrics that use the gains themselves; the rest are binary
ALPHA = 0.05
CORRECTIONS = ("holm", "none")
TEST_NAME = "two-sided paired Student's t-test"
BASELINE = "bm25"  # the system every other one is tested against
POOL_DEPTH = 10
POOL = [f"judged@{POOL_DEPTH}", f"ndcg_cond@{POOL_DEPTH}"]
POOL_LABELS = {POOL[0]: f"Judged@{POOL_DEPTH}", POOL[1]: f"nDCG@{POOL_DEPTH} cond."}


def ranx_name(metric: str, relevant_grade: int) -> str:
    """`recall@100` -> `recall@100-l2` for relevant_grade 2; graded metrics keep every gain >= 1."""
    if metric.split("@")[0] in GRADED:
        return metric
    return f"{metric}-l{relevant_grade}"


def evaluated_queries(qrels: Qrels, relevant_grade: int) -> list[str]:
    """Sorted ids of the qrels queries with at least one product graded >= relevant_grade."""
    if relevant_grade < 1:
        raise BenchError(f"relevant_grade must be >= 1, got {relevant_grade}; fix the grade mapping")
    return sorted(qid for qid, grades in qrels.items() if any(g >= relevant_grade for g in grades.values()))


def per_query_scores(
    qrels: Qrels, run: Run, relevant_grade: int, metrics: list[str] = METRICS
) -> dict[str, dict[str, float]]:
    """metric -> query id -> score, over `evaluated_queries` (0 where the run has nothing)."""
    from numba.core.errors import NumbaTypeSafetyWarning
    from ranx import Qrels as RanxQrels
    from ranx import Run as RanxRun
    from ranx import evaluate as ranx_evaluate

    query_ids = evaluated_queries(qrels, relevant_grade)
    if not query_ids:
        raise BenchError(f"no qrels query has a product graded >= {relevant_grade}; check the qrels")
    scores = {metric: dict.fromkeys(query_ids, 0.0) for metric in metrics}
    answered = [qid for qid in query_ids if run.get(qid)]
    if not answered:
        return scores

    ranx_qrels = RanxQrels({qid: {str(d): int(g) for d, g in qrels[qid].items()} for qid in answered})
    ranx_run = RanxRun({qid: _rank_scores(run[qid]) for qid in answered})
    names = {metric: ranx_name(metric, relevant_grade) for metric in metrics}
    with warnings.catch_warnings():  # ranx's MRR casts uint64 -> int64 on positions; harmless, noisy
        warnings.simplefilter("ignore", NumbaTypeSafetyWarning)
        ranx_evaluate(ranx_qrels, ranx_run, list(names.values()))  # per-query scores land in ranx_run.scores
    for metric, name in names.items():
        for qid in answered:
            scores[metric][qid] = float(ranx_run.scores[name][qid])
    return scores


def evaluate(qrels: Qrels, run: Run, relevant_grade: int, metrics: list[str] = METRICS) -> dict[str, float]:
    """Mean of each metric over the evaluated queries, e.g. {"ndcg@10": 0.41, "mrr@10": 0.52, ...}."""
    scores = per_query_scores(qrels, run, relevant_grade, metrics)
    return {metric: mean(by_query) for metric, by_query in scores.items()}


def per_query(qrels: Qrels, run: Run, relevant_grade: int, metric: str = PRIMARY) -> dict[str, float]:
    """One metric for each evaluated query: query id -> score."""
    return per_query_scores(qrels, run, relevant_grade, [metric])[metric]


def compare(
    qrels: Qrels,
    runs: dict[str, Run],
    relevant_grade: int,
    metrics: list[str] = METRICS,
    alpha: float = ALPHA,
    correction: str = "holm",
    baseline: str | None = None,
) -> dict[str, Any]:
    """Scores of every system and which systems each one significantly beats, per metric.

    `baseline=None` tests every pair; a name tests every other system against it (the family
    the correction runs over). The result is `significance`'s, from these runs' per-query scores.
    """
    per_system = {name: per_query_scores(qrels, run, relevant_grade, metrics) for name, run in runs.items()}
    return significance(per_system, metrics, alpha, correction, baseline)


def family(names: list[str], baseline: str | None = None) -> list[tuple[str, str]]:
    """The pairs tested together: every pair of `names`, or (system, baseline) for every other system."""
    if baseline is None:
        return list(combinations(names, 2))
    if baseline not in names:
        raise BenchError(f"baseline {baseline!r} is not one of the compared systems: {', '.join(names)}")
    return [(name, baseline) for name in names if name != baseline]


def significance(
    per_system: dict[str, dict[str, dict[str, float]]],
    metrics: list[str] = METRICS,
    alpha: float = ALPHA,
    correction: str = "holm",
    baseline: str | None = None,
) -> dict[str, Any]:
    """Paired t-tests of `family(systems, baseline)` on per-query scores (system -> metric -> query -> score).

    Returns plain dicts:
    {"test", "alpha", "correction", "queries", "baseline", "family_size", "pairs": [[a, b], ...],
     "metrics": {metric: {"scores": {system: mean},
                          "p_values": {system: {other: p}},       # tested pairs, corrected, symmetric
                          "p_values_raw": {system: {other: p}},
                          "beats": {system: {other: p}}}}}       # higher mean and corrected p < alpha
    A pair with identical per-query scores has p = 1.
    """
    from ranx.statistical_tests import paired_student_t_test

    if correction not in CORRECTIONS:
        raise BenchError(f"unknown correction {correction!r}; choose one of: {', '.join(CORRECTIONS)}")
    if not per_system:
        raise BenchError("compare needs at least one run")
    names = list(per_system)
    pairs = family(names, baseline)
    query_ids = list(per_system[names[0]][metrics[0]])
    report: dict[str, Any] = {
        "test": TEST_NAME, "alpha": alpha, "correction": correction, "queries": len(query_ids),
        "baseline": baseline, "family_size": len(pairs), "pairs": [list(pair) for pair in pairs],
        "metrics": {},
    }
    for metric in metrics:
        vectors = {name: [per_system[name][metric][qid] for qid in query_ids] for name in names}
        raw = []
        for a, b in pairs:
            p_value, _ = paired_student_t_test(vectors[a], vectors[b], alpha)
            raw.append(1.0 if math.isnan(p_value) else float(p_value))  # nan: no variance, identical runs
        adjusted = holm(raw) if correction == "holm" else raw
        means = {name: mean(per_system[name][metric]) for name in names}
        entry: dict[str, Any] = {
            "scores": means,
            "p_values": {name: {} for name in names},
            "p_values_raw": {name: {} for name in names},
            "beats": {name: {} for name in names},
        }
        for (a, b), p_raw, p_adj in zip(pairs, raw, adjusted, strict=True):
            for x, y in ((a, b), (b, a)):
                entry["p_values"][x][y] = p_adj
                entry["p_values_raw"][x][y] = p_raw
            if p_adj < alpha and means[a] != means[b]:
                winner, loser = (a, b) if means[a] > means[b] else (b, a)
                entry["beats"][winner][loser] = p_adj
        report["metrics"][metric] = entry
    return report


def holm(p_values: list[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values, in the input order.

    The i-th smallest p (0-based) is multiplied by (m - i); adjusted values never decrease
    along that order and are capped at 1.
    """
    m = len(p_values)
    adjusted = [0.0] * m
    running_max = 0.0
    for position, index in enumerate(sorted(range(m), key=lambda i: p_values[i])):
        running_max = max(running_max, min(1.0, (m - position) * p_values[index]))
        adjusted[index] = running_max
    return adjusted


def pool_scores(
    qrels: Qrels, run: Run, relevant_grade: int, k: int = POOL_DEPTH
) -> dict[str, dict[str, float]]:
    """judged@k and ndcg_cond@k of each evaluated query (see the protocol above): name -> query -> value.

    The ranking is the tie convention's (`bench.results.ranked`), as for every other metric.
    """
    judged, condensed = {}, {}
    for qid in evaluated_queries(qrels, relevant_grade):
        grades = qrels[qid]
        order = [doc_id for doc_id, _ in ranked(run.get(qid) or {})]
        judged[qid] = sum(doc_id in grades for doc_id in order[:k]) / k
        kept = [grades[doc_id] for doc_id in order if doc_id in grades]  # the condensed list
        condensed[qid] = ndcg(kept, list(grades.values()), k)
    return {f"judged@{k}": judged, f"ndcg_cond@{k}": condensed}


def pool(qrels: Qrels, run: Run, relevant_grade: int, k: int = POOL_DEPTH) -> dict[str, float]:
    """Means of `pool_scores` over the evaluated queries, e.g. {"judged@10": 0.37, "ndcg_cond@10": 0.83}."""
    return {name: mean(by_query) for name, by_query in pool_scores(qrels, run, relevant_grade, k).items()}


def ndcg(gains: list[int], grades: list[int], k: int) -> float:
    """nDCG@k of `gains` in rank order against the ideal order of all of the query's `grades`.

    Graded gains, gain / log2(rank + 1), as nDCG@10 above (ranx's and trec_eval's ndcg_cut).
    """
    ideal = _dcg(sorted(grades, reverse=True)[:k])
    return _dcg(gains[:k]) / ideal if ideal > 0 else 0.0


def _dcg(gains: list[int]) -> float:
    return sum(gain / math.log2(rank + 2) for rank, gain in enumerate(gains))


def _rank_scores(scores: dict[str, float]) -> dict[str, float]:
    """Strictly decreasing scores in the tie convention's order: ranx orders tied scores arbitrarily."""
    order = ranked(scores)
    return {str(doc_id): float(len(order) - rank) for rank, (doc_id, _) in enumerate(order)}


def mean(scores: dict[str, float]) -> float:
    """The mean of per-query scores (the one average every table shows)."""
    return sum(scores.values()) / len(scores)
