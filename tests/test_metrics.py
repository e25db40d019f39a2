"""bench.metrics against numbers worked out by hand, and its t-test on real Home Depot judgments."""

from __future__ import annotations

import random
from math import log2

import pytest

from bench.data import Dataset
from bench.errors import BenchError
from bench.metrics import METRICS, compare, evaluate, holm, per_query

# Grades 0-3; the dataset's relevant grade is 2 unless a test says otherwise.
QRELS = {
    "q1": {"d1": 3, "d2": 2, "d3": 1, "d4": 0},
    "q2": {"d5": 2, "d6": 1},
    "q3": {"x": 2},
    "q4": {"d8": 1},  # nothing graded >= 2: not evaluated at relevant_grade 2
    "q5": {"y": 2},  # the run returns nothing for it
}
RUN = {
    "q1": {"d4": 0.9, "d2": 0.8, "d9": 0.7, "d1": 0.6},  # d9 is unjudged
    "q2": {"d6": 3.0, "d7": 2.0, "d5": 1.0},
    "q3": {**{f"n{i}": 20.0 - i for i in range(11)}, "x": 1.0},  # the relevant product at rank 12
    "q4": {"d8": 1.0},
    "q5": {},
    "not-judged": {"d1": 1.0},  # not in the qrels: ignored
}


def test_every_metric_matches_the_hand_computed_value() -> None:
    # nDCG@10, graded gains, discount log2(rank + 1):
    dcg_q1 = 0 / log2(2) + 2 / log2(3) + 0 / log2(4) + 3 / log2(5)  # d4, d2, d9, d1
    ideal_q1 = 3 / log2(2) + 2 / log2(3) + 1 / log2(4)  # d1, d2, d3
    ndcg_q1 = dcg_q1 / ideal_q1
    ndcg_q2 = (1 / log2(2) + 0 / log2(3) + 2 / log2(4)) / (2 / log2(2) + 1 / log2(3))
    ndcg_q3 = 0.0  # x is at rank 12
    ndcg_q5 = 0.0  # empty result list
    # Binary metrics, relevant = grade >= 2: q1 {d1, d2} at ranks 4 and 2; q2 {d5} at rank 3; q3 {x} at 12.
    expected = {
        "ndcg@10": (ndcg_q1 + ndcg_q2 + ndcg_q3 + ndcg_q5) / 4,
        "mrr@10": (1 / 2 + 1 / 3 + 0 + 0) / 4,
        "recall@10": (2 / 2 + 1 / 1 + 0 / 1 + 0) / 4,
        "recall@100": (2 / 2 + 1 / 1 + 1 / 1 + 0) / 4,
        "map@100": ((1 / 2 + 2 / 4) / 2 + (1 / 3) / 1 + (1 / 12) / 1 + 0) / 4,
        "precision@10": (2 / 10 + 1 / 10 + 0 / 10 + 0) / 4,
    }
    scores = evaluate(QRELS, RUN, relevant_grade=2)
    assert list(scores) == METRICS
    assert scores == pytest.approx(expected, abs=1e-12)
    assert per_query(QRELS, RUN, 2, "ndcg@10") == pytest.approx(
        {"q1": ndcg_q1, "q2": ndcg_q2, "q3": 0.0, "q5": 0.0}, abs=1e-12
    )


def test_relevant_grade_changes_binary_metrics_but_not_the_gains_of_ndcg() -> None:
    # relevant = grade >= 1: q1 {d1, d2, d3}, q2 {d5, d6}, q3 {x}, q4 {d8} (now evaluated), q5 {y}.
    scores = evaluate(QRELS, RUN, relevant_grade=1)
    assert scores["mrr@10"] == pytest.approx((1 / 2 + 1 / 1 + 0 + 1 / 1 + 0) / 5)
    assert scores["map@100"] == pytest.approx(
        ((1 / 2 + 2 / 4) / 3 + (1 / 1 + 2 / 3) / 2 + (1 / 12) / 1 + 1 / 1 + 0) / 5
    )
    assert scores["precision@10"] == pytest.approx((2 / 10 + 2 / 10 + 0 + 1 / 10 + 0) / 5)
    # nDCG of a query does not depend on the threshold; only the evaluated set grew by q4 (nDCG 1).
    at_two, at_one = per_query(QRELS, RUN, 2), per_query(QRELS, RUN, 1)
    assert at_one == pytest.approx({**at_two, "q4": 1.0})


def test_queries_without_results_score_zero_instead_of_raising() -> None:
    nothing = {qid: {} for qid in QRELS}
    assert evaluate(QRELS, nothing, 2) == dict.fromkeys(METRICS, 0.0)
    assert evaluate(QRELS, {}, 2) == dict.fromkeys(METRICS, 0.0)
    only_q2 = evaluate(QRELS, {"q2": RUN["q2"]}, 2)  # q1, q3, q5 missing from the run: 0 each
    assert only_q2["mrr@10"] == pytest.approx((1 / 3) / 4)


def test_tied_scores_are_broken_by_doc_id_descending_as_trec_eval() -> None:
    tied = {"q": {"b": 1.0, "a": 1.0}}
    assert evaluate({"q": {"b": 1}}, tied, 1)["mrr@10"] == 1.0  # "b" is ranked before "a"
    assert evaluate({"q": {"a": 1}}, tied, 1)["mrr@10"] == 0.5
    # scores equal at the written precision (6 decimals) tie too: the file cannot tell them apart
    near = {"q": {"a": 13.0547411, "b": 13.0547409}}
    assert evaluate({"q": {"a": 1}}, near, 1)["mrr@10"] == 0.5


def test_bad_relevant_grade_and_unanswerable_qrels_are_one_line_errors() -> None:
    with pytest.raises(BenchError, match="relevant_grade must be >= 1"):
        evaluate(QRELS, RUN, relevant_grade=0)
    with pytest.raises(BenchError, match="graded >= 5"):
        evaluate(QRELS, RUN, relevant_grade=5)


def test_holm_adjustment_by_hand() -> None:
    # sorted: 0.005 * 4 = 0.02, 0.01 * 3 = 0.03, 0.03 * 2 = 0.06, 0.04 * 1 = 0.04 -> raised to 0.06
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([0.6, 0.9]) == pytest.approx([1.0, 1.0])


def judged_runs(dataset: Dataset) -> dict[str, dict[str, dict[str, float]]]:
    """Rankings of each query's judged products: by true grade, reversed, and shuffled (seeded)."""
    by_gain, reversed_, shuffled = {}, {}, {}
    rng = random.Random(7)
    for qid, grades in dataset.qrels.items():
        order = sorted(grades, key=lambda d: (-grades[d], d))
        by_gain[qid] = {d: float(len(order) - i) for i, d in enumerate(order)}
        reversed_[qid] = {d: float(i + 1) for i, d in enumerate(order)}
        rng.shuffle(order)
        shuffled[qid] = {d: float(len(order) - i) for i, d in enumerate(order)}
    return {"by-gain": by_gain, "reversed": reversed_, "shuffled": shuffled}


def test_compare_finds_the_real_difference_and_none_between_identical_runs(homedepot: Dataset) -> None:
    runs = judged_runs(homedepot)
    runs["by-gain-copy"] = {qid: dict(scores) for qid, scores in runs["by-gain"].items()}
    result = compare(homedepot.qrels, runs, homedepot.relevant_grade)
    assert result["alpha"] == 0.05 and result["correction"] == "holm"
    ndcg = result["metrics"]["ndcg@10"]
    assert ndcg["scores"]["by-gain"] == pytest.approx(1.0)  # the ideal ranking
    assert ndcg["scores"]["by-gain"] > ndcg["scores"]["shuffled"] > ndcg["scores"]["reversed"]
    assert ndcg["beats"]["by-gain"]["reversed"] < 0.05
    assert ndcg["beats"]["reversed"] == {}
    assert "by-gain-copy" not in ndcg["beats"]["by-gain"]
    assert ndcg["p_values"]["by-gain"]["by-gain-copy"] == 1.0
    # Holm never lowers a p-value, and the table is symmetric.
    for a, others in ndcg["p_values"].items():
        for b, p_value in others.items():
            assert p_value >= ndcg["p_values_raw"][a][b]
            assert p_value == ndcg["p_values"][b][a]
    assert result["metrics"]["ndcg@10"]["scores"] == {
        name: pytest.approx(evaluate(homedepot.qrels, run, homedepot.relevant_grade)["ndcg@10"])
        for name, run in runs.items()
    }
