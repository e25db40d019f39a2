"""bench.metrics, bench.uncertainty and bench.twins against numbers worked out by hand, their t-tests
on real Home Depot judgments, and the published Home Depot runs against scipy and pytrec_eval."""

from __future__ import annotations

import json
import random
from itertools import combinations
from math import comb, log2
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import ttest_rel

from bench import uncertainty
from bench.data import Dataset
from bench.errors import BenchError
from bench.leaderboard.evidence import analyse
from bench.metrics import METRICS, compare, evaluate, family, holm, per_query, pool, pool_scores
from bench.results import read_trec_qrels, read_trec_run
from bench.twins import agreement, sentence, split_checks
from bench.uncertainty import RESAMPLES, SEED, bootstrap_ci, resampled_means, versus_baseline

PUBLISHED = Path(__file__).resolve().parents[1] / "results" / "homedepot"

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


def test_compare_with_a_baseline_tests_only_the_pairs_with_it(homedepot: Dataset) -> None:
    runs = judged_runs(homedepot)
    result = compare(homedepot.qrels, runs, homedepot.relevant_grade, ["ndcg@10"], baseline="reversed")
    assert result["family_size"] == 2
    assert result["pairs"] == [["by-gain", "reversed"], ["shuffled", "reversed"]]
    ndcg = result["metrics"]["ndcg@10"]
    assert set(ndcg["p_values"]["by-gain"]) == {"reversed"}  # by-gain vs shuffled is not in the family
    everything = compare(homedepot.qrels, runs, homedepot.relevant_grade, ["ndcg@10"])
    assert everything["family_size"] == 3
    raw = [everything["metrics"]["ndcg@10"]["p_values_raw"][a][b] for a, b in result["pairs"]]
    assert [ndcg["p_values"][a][b] for a, b in result["pairs"]] == pytest.approx(holm(raw))  # m = 2, not 3
    assert family(["a", "b", "c"]) == [("a", "b"), ("a", "c"), ("b", "c")]
    with pytest.raises(BenchError, match="baseline 'bm25' is not one of"):
        family(["a", "b"], "bm25")


# ------------------------------------------------------------------ pool diagnostics


def test_judged_at_10_and_condensed_ndcg_by_hand() -> None:
    # Evaluated at relevant_grade 2: q1, q2, q3, q5. judged@10 = judged products in the top 10 / 10.
    judged = {"q1": 3 / 10,  # d4, d2, d1 judged (d4 at grade 0 counts), d9 not; 4 returned, still / 10
              "q2": 2 / 10,  # d6, d5 judged, d7 not
              "q3": 0 / 10,  # n0..n9 unjudged; x (judged) is at rank 12
              "q5": 0.0}  # nothing returned
    # Condensed lists: unjudged products removed first, then nDCG@10 with the graded gains.
    condensed = {
        "q1": (0 / log2(2) + 2 / log2(3) + 3 / log2(4)) / (3 / log2(2) + 2 / log2(3) + 1 / log2(4)),  # d4d2d1
        "q2": (1 / log2(2) + 2 / log2(3)) / (2 / log2(2) + 1 / log2(3)),  # d6 d5
        "q3": 1.0,  # x moves up from rank 12 to rank 1
        "q5": 0.0,
    }
    scores = pool_scores(QRELS, RUN, relevant_grade=2)
    assert scores["judged@10"] == pytest.approx(judged, abs=1e-12)
    assert scores["ndcg_cond@10"] == pytest.approx(condensed, abs=1e-12)
    assert pool(QRELS, RUN, 2) == pytest.approx(
        {"judged@10": sum(judged.values()) / 4, "ndcg_cond@10": sum(condensed.values()) / 4}, abs=1e-12)
    # the tie convention orders the list before the cut: "b" (unjudged) ranks above "a" at equal score
    tied = {"q": {f"u{i}": 1.0 for i in range(9)} | {"b": 0.5, "a": 0.5}}
    assert pool_scores({"q": {"a": 1}}, tied, 1)["judged@10"] == {"q": 0.0}


def test_condensed_ndcg_is_ranx_ndcg_when_every_product_is_judged(homedepot: Dataset) -> None:
    for run in judged_runs(homedepot).values():  # rankings of judged products only
        scores = pool_scores(homedepot.qrels, run, homedepot.relevant_grade)
        ranx_ndcg = per_query(homedepot.qrels, run, homedepot.relevant_grade, "ndcg@10")
        assert scores["ndcg_cond@10"] == pytest.approx(ranx_ndcg, abs=1e-12)
        assert scores["judged@10"] == {qid: min(10, len(homedepot.qrels[qid])) / 10 for qid in ranx_ndcg}


# ------------------------------------------------------------------ bootstrap and wins/ties/losses


def test_bootstrap_of_three_queries_against_the_enumerated_distribution() -> None:
    # Differences 0, 0, 3: a resample of 3 queries with replacement has mean K, K ~ Binomial(3, 1/3)
    # (how many times the third query was drawn): P(K = 0..3) = 8/27, 12/27, 6/27, 1/27.
    system, baseline = {"a": 1.0, "b": 1.0, "c": 4.0}, {"a": 1.0, "b": 1.0, "c": 1.0}
    means = resampled_means(np.array([0.0, 0.0, 3.0]))[0]
    assert means.shape == (RESAMPLES,)
    for k in range(4):
        p = comb(3, k) * (1 / 3) ** k * (2 / 3) ** (3 - k)
        assert np.mean(means == k) == pytest.approx(p, abs=5 * (p * (1 - p) / RESAMPLES) ** 0.5)
    # 2.5th percentile: P(K = 0) = 0.30 > 2.5%, so 0; 97.5th: P(K <= 2) = 26/27 = 0.963 < 97.5%, so 3.
    assert bootstrap_ci(system, baseline) == (0.0, 3.0)
    assert bootstrap_ci({"a": 0.7}, {"a": 0.2}) == pytest.approx((0.5, 0.5))  # one query: one value
    assert uncertainty.wins_ties_losses(system, baseline) == (1, 2, 0)


def test_bootstrap_is_a_seeded_loop_over_resamples_the_same_for_every_system() -> None:
    deltas = np.random.default_rng(3).normal(size=(2, 57))
    rng = np.random.default_rng(SEED)  # the documented protocol, one resample at a time
    samples = [rng.integers(0, 57, size=57) for _ in range(RESAMPLES)]
    for row in range(2):
        expected = np.array([deltas[row][sample].mean() for sample in samples])
        assert np.array_equal(resampled_means(deltas)[row], expected)
        assert np.array_equal(resampled_means(deltas[row])[0], expected)  # alone: the same numbers
    base = {f"q{i}": 0.0 for i in range(57)}
    systems = {"base": base, **{f"s{row}": dict(zip(base, deltas[row], strict=True)) for row in range(2)}}
    both = versus_baseline(systems, "base")
    alone = versus_baseline({"base": base, "s1": systems["s1"]}, "base")
    assert both["s1"] == alone["s1"]
    low, high = np.percentile(np.array([deltas[1][s].mean() for s in samples]), [2.5, 97.5])
    assert (both["s1"]["ci95_low"], both["s1"]["ci95_high"]) == (low, high)
    assert both["s1"]["delta"] == pytest.approx(deltas[1].mean())


# ------------------------------------------------------------------ twins


def test_a_twin_is_a_check_only_next_to_its_reference() -> None:
    assert split_checks(["bm25", "bm25-rank", "dense"]) == (["bm25", "dense"], {"bm25-rank": "bm25"})
    assert split_checks(["bm25-rank", "dense"]) == (["bm25-rank", "dense"], {})  # nothing to check against
    reference_run = {"q1": {"a": 2.0, "b": 1.0}, "q2": {"c": 1.0}}
    twin_run = {"q1": {"a": 0.9999995, "b": 1.0}, "q2": {"c": 1.0}}  # b now ranks first in q1
    found = agreement({"q1": 1.0, "q2": 0.5}, {"q1": 0.63, "q2": 0.5}, reference_run, twin_run)
    assert found == pytest.approx({"score": 0.565, "reference_score": 0.75, "queries": 2,
                                   "queries_differing": 1, "max_abs_delta": 0.37, "same_top": 1,
                                   "max_score_delta": 1.0000005})
    assert sentence("bm25-rank", "bm25", found) == (
        "`bm25-rank` differs from `bm25`: a different nDCG@10 on 1 of 2 queries (0.5650 vs 0.7500, "
        "max per-query |Δ| 0.370), a different top 10 on 1; product scores differ by up to 1.")
    same = agreement({"q1": 1.0}, {"q1": 1.0}, reference_run, reference_run)
    assert sentence("bm25-rank", "bm25", same).startswith("`bm25-rank` agrees with `bm25`: identical nDCG@10")


# ------------------------------------------------------------------ the published Home Depot runs


@pytest.fixture(scope="module")
def published_homedepot() -> tuple[dict[str, object], dict[str, np.ndarray], list[str]]:
    """The committed Home Depot runs analysed as the leaderboard does, and per-query nDCG@10 of each
    run file from pytrec_eval (trec_eval's code), in the evaluated queries' (sorted) order."""
    pytrec_eval = pytest.importorskip("pytrec_eval")
    if not (PUBLISHED / "qrels.trec").is_file():
        pytest.skip("no published results/homedepot here")
    grade = json.loads((PUBLISHED / "dataset.json").read_text())["relevant_grade"]
    qrels = read_trec_qrels(PUBLISHED / "qrels.trec")
    runs = {json.loads(path.with_suffix(".json").read_text())["retriever"]: read_trec_run(path)
            for path in sorted((PUBLISHED / "runs").glob("*.trec"))}
    evaluated = sorted(q for q, grades in qrels.items() if max(grades.values()) >= grade)
    evaluator = pytrec_eval.RelevanceEvaluator({q: qrels[q] for q in evaluated}, {"ndcg_cut.10"})
    ndcg = {}
    for name, run in runs.items():
        scored = evaluator.evaluate(run)
        ndcg[name] = np.array([scored.get(q, {}).get("ndcg_cut_10", 0.0) for q in evaluated])
    return analyse(qrels, runs, grade), ndcg, evaluated


def test_published_p_values_are_scipy_ttest_rel_on_trec_eval_scores(published_homedepot: tuple) -> None:
    found, ndcg, _ = published_homedepot
    assert "bm25" in found["systems"] and "bm25-rank" in found["checks"]
    systems = [name for name in ndcg if name != "bm25-rank"]  # its twin is a check, not a system
    assert sorted(found["systems"]) == sorted(systems)
    main, pairs = found["significance"], found["all_pairs"]
    assert main["family_size"] == len(systems) - 1  # every system but bm25, against bm25
    assert sorted(map(tuple, main["pairs"])) == sorted((name, "bm25") for name in systems if name != "bm25")
    assert pairs["family_size"] == len(list(combinations(systems, 2)))
    for tests in (main, pairs):
        entry = tests["metrics"]["ndcg@10"]
        scipy_p = [ttest_rel(ndcg[a], ndcg[b]).pvalue for a, b in tests["pairs"]]
        ours = [entry["p_values_raw"][a][b] for a, b in tests["pairs"]]
        assert ours == pytest.approx(scipy_p, abs=1e-9)
        assert [entry["p_values"][a][b] for a, b in tests["pairs"]] == pytest.approx(holm(scipy_p), abs=1e-9)


def test_published_intervals_and_wins_follow_the_protocol(published_homedepot: tuple) -> None:
    found, ndcg, evaluated = published_homedepot
    rng = np.random.default_rng(SEED)
    samples = [rng.integers(0, len(evaluated), size=len(evaluated)) for _ in range(RESAMPLES)]
    for name, row in found["versus_baseline"].items():
        deltas = ndcg[name] - ndcg["bm25"]
        assert row["delta"] == pytest.approx(deltas.mean(), abs=1e-9)
        low, high = np.percentile([deltas[sample].mean() for sample in samples], [2.5, 97.5])
        assert (row["ci95_low"], row["ci95_high"]) == pytest.approx((low, high), abs=1e-9)
        ties = np.abs(deltas) <= 1e-12
        assert (row["wins"], row["ties"], row["losses"]) == (
            int((deltas > 0)[~ties].sum()), int(ties.sum()), int((deltas < 0)[~ties].sum()))
    twin = found["checks"]["bm25-rank"]
    deltas = np.abs(ndcg["bm25-rank"] - ndcg["bm25"])
    assert twin["queries_differing"] == int((deltas > 1e-12).sum())
    assert twin["max_abs_delta"] == pytest.approx(deltas.max(), abs=1e-9)
