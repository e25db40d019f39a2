"""bench.report on a results folder of real Home Depot runs, stored with bench.results as the runner does."""

from __future__ import annotations

import csv
import json
import time
from pathlib import Path
from typing import Any

import pytest

from bench import report
from bench.data import Dataset, Run
from bench.environment import environment
from bench.errors import BenchError
from bench.io import write_json
from bench.results import dataset_dir, run_path, write_trec_qrels, write_trec_run
from retrievers.bm25_rank import BM25Rank

OUTPUTS = ["leaderboard.md", "leaderboard.csv", "leaderboard.json", "plots/ndcg_at_10.png",
           "plots/quality_vs_latency.png"]


def store(out: Path, dataset: Dataset, retriever: str, run: Run, **meta: Any) -> None:
    """A run as `bench run` stores it: .trec, then .json."""
    write_trec_run(run_path(out, dataset.name, retriever), run, retriever)
    write_json(run_path(out, dataset.name, retriever, ".json"), {
        "retriever": retriever, "dataset": dataset.name, "split": dataset.split, "k": 100,
        "queries": len(dataset.queries), "documents": len(dataset.corpus), "engine": "test",
        "info": {}, **meta,
    })


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory, homedepot: Dataset) -> Path:
    """Real BM25 (rank_bm25, the same scores as `bm25`) plus rankings of the judged products by
    their true grade ("by-gain") and in reverse ("reversed")."""
    out = tmp_path_factory.mktemp("results")
    folder = dataset_dir(out, homedepot.name)
    write_trec_qrels(folder / "qrels.trec", homedepot.qrels)
    write_json(folder / "dataset.json", {
        "name": homedepot.name, "split": homedepot.split, "queries": len(homedepot.queries),
        "documents": len(homedepot.corpus), "judgments": sum(map(len, homedepot.qrels.values())),
        "relevant_grade": homedepot.relevant_grade, "notes": homedepot.notes,
    })
    write_json(out / "environment.json", environment())

    bm25 = BM25Rank()
    started = time.perf_counter()
    bm25.index(homedepot.corpus)
    index_seconds = time.perf_counter() - started
    started = time.perf_counter()
    bm25_run = bm25.search(homedepot.queries, 100)
    search_seconds = time.perf_counter() - started
    one_query = next(iter(homedepot.queries.items()))
    started = time.perf_counter()
    bm25.search(dict([one_query]), 100)
    latency_ms = (time.perf_counter() - started) * 1000
    store(out, homedepot, "bm25", bm25_run, index_seconds=index_seconds, index_cached=False,
          search_seconds=search_seconds, qps=len(homedepot.queries) / search_seconds,
          latency_ms_p50=latency_ms, latency_ms_p95=latency_ms, latency_queries=1)

    by_gain: Run = {}
    reversed_: Run = {}
    for qid, grades in homedepot.qrels.items():
        order = sorted(grades, key=lambda d: (-grades[d], d))
        by_gain[qid] = {d: float(len(order) - i) for i, d in enumerate(order)}
        reversed_[qid] = {d: float(i + 1) for i, d in enumerate(order)}
    store(out, homedepot, "by-gain", by_gain,
          info={"trained_on": [homedepot.name], "active_dims_query": 7.4, "active_dims_doc": 41.2})
    store(out, homedepot, "reversed", reversed_)
    return out


def built(results: Path, tmp_path: Path) -> Path:
    """A private copy of the stored results with the leaderboard built in it."""
    copy = tmp_path / "results"
    for source in results.rglob("*"):
        if source.is_file():
            target = copy / source.relative_to(results)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(source.read_bytes())
    paths = report.build(copy)
    assert sorted(p.relative_to(copy).as_posix() for p in paths) == sorted(OUTPUTS)
    return copy


def test_build_writes_tables_and_plots(results: Path, tmp_path: Path, homedepot: Dataset,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    out = built(results, tmp_path)
    assert f"{homedepot.name}: best nDCG@10 1.000 by by-gain" in capsys.readouterr().out

    with open(out / "leaderboard.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    header = (out / "leaderboard.csv").read_text().splitlines()[0].split(",")
    assert header[:8] == ["dataset", "retriever", "ndcg@10", "mrr@10", "recall@10", "recall@100",
                          "map@100", "precision@10"]
    assert {"latency_ms_p50", "latency_ms_p95", "qps", "index_seconds", "active_dims_query",
            "active_dims_doc", "model"} <= set(header)
    scores = {row["retriever"]: float(row["ndcg@10"]) for row in rows}
    assert scores["by-gain"] == 1.0 and scores["by-gain"] > scores["bm25"] > 0 and scores["by-gain"] > scores[
        "reversed"]

    md = (out / "leaderboard.md").read_text()
    assert "paired Student's t-test" in md and "alpha = 0.05" in md and "Holm" in md
    assert "a = `bm25`, b = `by-gain`, c = `reversed`" in md
    by_gain_row = next(line for line in md.splitlines() if line.startswith("| b "))
    assert "**1.000**<sup>" in by_gain_row  # best nDCG@10 in bold, with the systems it beats
    assert "<sup>ac</sup>" in by_gain_row
    assert "Δ nDCG@10 vs bm25 (p)" in md and "p<0.001)*" in by_gain_row
    assert "7 / 41" in by_gain_row  # active dims q / d
    assert "## Cross-domain" in md and f"{homedepot.name} (`by-gain`)" in md
    assert "## Compared with Qdrant's published numbers" in md and "0.305–0.333" in md

    data = json.loads((out / "leaderboard.json").read_text())
    significance = data["datasets"][homedepot.name]["significance"]
    assert significance["metrics"]["ndcg@10"]["beats"]["by-gain"]["reversed"] < 0.05
    assert data["environment"]["packages"]["ranx"] and data["protocol"]["alpha"] == 0.05

    for name in OUTPUTS[3:]:
        png = (out / name).read_bytes()
        assert png.startswith(b"\x89PNG") and len(png) > 10_000


def test_rebuild_is_byte_identical(results: Path, tmp_path: Path) -> None:
    out = built(results, tmp_path)
    first = {name: (out / name).read_bytes() for name in OUTPUTS[:3]}
    report.build(out)
    assert {name: (out / name).read_bytes() for name in OUTPUTS[:3]} == first


@pytest.mark.parametrize(
    ("breakage", "message"),
    [
        (lambda folder: (folder / "runs" / "reversed.json").write_text('{"retriever": "rev'),
         "reversed.json is not readable JSON"),
        (lambda folder: (folder / "runs" / "reversed.trec").write_text("q1 Q0 d1 1 high reversed\n"),
         "reversed.trec is malformed"),
        (lambda folder: (folder / "qrels.trec").unlink(), "qrels.trec not found"),
    ],
)
def test_broken_input_raises_and_keeps_the_previous_leaderboard(
    results: Path, tmp_path: Path, homedepot: Dataset, breakage: Any, message: str
) -> None:
    out = built(results, tmp_path)
    before = {path: path.read_bytes() for path in out.rglob("*") if path.is_file()}
    breakage(out / homedepot.name)
    with pytest.raises(BenchError, match=message):
        report.build(out)
    after = {path: path.read_bytes() for path in out.rglob("*") if path.is_file()}
    for name in OUTPUTS:
        assert after[out / name] == before[out / name]
    assert not [path for path in after if path.name.endswith(".tmp")]  # no half-written files


def test_no_runs_is_a_one_line_error_and_interrupted_runs_are_skipped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(BenchError, match="no finished runs"):
        report.build(tmp_path)
    folder = tmp_path / "toy"
    write_trec_qrels(folder / "qrels.trec", {"q1": {"d1": 1}})
    write_json(folder / "dataset.json", {"name": "toy", "relevant_grade": 1})
    write_trec_run(folder / "runs" / "bm25.trec", {"q1": {"d1": 1.0}}, "bm25")  # no .json: interrupted
    with pytest.raises(BenchError, match="no finished runs"):
        report.build(tmp_path)
    assert "skip" in capsys.readouterr().out
    assert not list(tmp_path.glob("leaderboard.*"))
