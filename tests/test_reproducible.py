"""Two fresh caches give byte-identical run files, and trec_eval scores them as the leaderboard does.

A real `bench run` of every engine retriever (hybrids included) and the rank_bm25 reference on
the shipped ESCI slice, plus a quick Home Depot run (a variant folder, many tied BM25 scores),
done twice from scratch. pytrec_eval (trec_eval 9.0.8's own code) then scores every run file:
nDCG@10 with graded gains (ndcg_cut.10), the binary metrics at the dataset's relevant grade
(trec_eval -l N), averaged over the leaderboard's evaluated queries (a query missing from the
run scores 0, as trec_eval -c does); and ndcg_cond@10, trec_eval's ndcg_cut.10 on the run file
with its unjudged products removed (a condensed list).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.cli import main
from bench.results import read_trec_qrels, read_trec_run, table_dirs

pytrec_eval = pytest.importorskip("pytrec_eval", reason="pip install -e '.[test]' (pytrec-eval-terrier)")

PUBLISHED = Path(__file__).resolve().parents[1] / "results"
RETRIEVERS = ["bm25", "bm25-rank", "dense", "splade", "hybrid:bm25+dense", "hybrid:splade+dense"]
RUNS = [
    ["run", "-d", "esci", *(arg for name in RETRIEVERS for arg in ("-r", name))],
    ["run", "-d", "homedepot", "-r", "bm25", "-r", "bm25-rank", "--limit-queries", "200"],
]
# leaderboard metric -> (trec_eval measure, graded)
TREC_EVAL = {
    "ndcg@10": ("ndcg_cut_10", True),
    "recall@10": ("recall_10", False),
    "recall@100": ("recall_100", False),
    "precision@10": ("P_10", False),
    "map@100": ("map_cut_100", False),
}


@pytest.fixture(scope="module")
def fresh_runs(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """The same runs in two fresh results+cache folders; returns the two results folders."""
    outs = []
    for name in ("a", "b"):
        folder = tmp_path_factory.mktemp(name)
        for args in RUNS:
            code = main([*args, "--latency-queries", "3", "--out", str(folder / "results"),
                         "--cache-dir", str(folder / "cache")])
            assert code == 0
        outs.append(folder / "results")
    return outs


@pytest.mark.slow
def test_two_fresh_caches_give_byte_identical_run_files(fresh_runs: list[Path]) -> None:
    a, b = fresh_runs
    files = sorted(p.relative_to(a) for p in a.glob("**/runs/*.trec"))
    assert len(files) == len(RETRIEVERS) + 2
    assert files == sorted(p.relative_to(b) for p in b.glob("**/runs/*.trec"))
    different = [str(f) for f in files if (a / f).read_bytes() != (b / f).read_bytes()]
    assert not different


@pytest.mark.slow
def test_trec_eval_gives_the_leaderboard_numbers(fresh_runs: list[Path]) -> None:
    worst, checked = trec_eval_deltas(fresh_runs[0])
    print(f"trec_eval vs leaderboard: {checked} numbers, max |delta| {worst:.2e}")
    assert checked == (len(TREC_EVAL) + 1) * (len(RETRIEVERS) + 2)  # + ndcg_cond@10 of each run


@pytest.mark.skipif(not (PUBLISHED / "leaderboard.json").is_file(), reason="no published results/ here")
def test_published_run_files_give_the_published_leaderboard() -> None:
    """What a reader cites: the committed run files, scored by trec_eval, give the committed table."""
    worst, checked = trec_eval_deltas(PUBLISHED)
    print(f"published: {checked} numbers, max |delta| {worst:.2e}")
    runs = list(PUBLISHED.glob("*/runs/*.trec"))
    assert runs and checked in {len(TREC_EVAL) * len(runs), (len(TREC_EVAL) + 1) * len(runs)}  # + pool, once


def trec_eval_deltas(out: Path) -> tuple[float, int]:
    """Score every run file under `out` with pytrec_eval; assert each number matches leaderboard.json.

    Returns the largest |trec_eval - leaderboard| and how many numbers were compared.
    """
    board = json.loads((out / "leaderboard.json").read_text())
    tables = {**board["datasets"], **board["variants"]}
    worst, checked = 0.0, 0
    for folder in table_dirs(out):
        dataset = json.loads((folder / "dataset.json").read_text())
        grade = dataset["relevant_grade"]
        qrels = read_trec_qrels(folder / "qrels.trec")
        evaluated = [q for q, grades in qrels.items() if max(grades.values()) >= grade]
        qrels = {q: qrels[q] for q in evaluated}
        graded = pytrec_eval.RelevanceEvaluator(qrels, {"ndcg_cut.10"}, relevance_level=1)
        binary = pytrec_eval.RelevanceEvaluator(qrels, {"recall.10,100", "P.10", "map_cut.100"},
                                                relevance_level=grade)
        table = tables[dataset["name"] if dataset["variant"] is None else folder.relative_to(out).as_posix()]
        for trec in sorted((folder / "runs").glob("*.trec")):
            retriever = json.loads(trec.with_suffix(".json").read_text())["retriever"]
            run = read_trec_run(trec)  # the file as trec_eval reads it: scores, no ranks
            per_query = {"graded": graded.evaluate(run), "binary": binary.evaluate(run)}
            for metric, (measure, is_graded) in TREC_EVAL.items():
                scores = per_query["graded" if is_graded else "binary"]
                trec_eval = sum(scores.get(q, {}).get(measure, 0.0) for q in evaluated) / len(evaluated)
                ours = table["retrievers"][retriever]["metrics"][metric]
                assert trec_eval == pytest.approx(ours, abs=1e-4), (trec, metric)
                worst, checked = max(worst, abs(trec_eval - ours)), checked + 1
            pool = table["retrievers"][retriever].get("pool")  # absent from a leaderboard built before it
            if pool is not None:
                condensed = {q: kept for q, docs in run.items()
                             if (kept := {d: s for d, s in docs.items() if d in qrels.get(q, {})})}
                scores = graded.evaluate(condensed)
                trec_eval = sum(scores.get(q, {}).get("ndcg_cut_10", 0.0) for q in evaluated) / len(evaluated)
                assert trec_eval == pytest.approx(pool["ndcg_cond@10"], abs=1e-4), (trec, "ndcg_cond@10")
                worst, checked = max(worst, abs(trec_eval - pool["ndcg_cond@10"])), checked + 1
    return worst, checked
