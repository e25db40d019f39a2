"""bench.report on results folders of real Home Depot runs, stored with bench.results as the runner does."""

from __future__ import annotations

import csv
import json
import shutil
import time
from pathlib import Path
from typing import Any

import pytest

from bench import report
from bench.cli import main
from bench.data import Dataset, Qrels, Run
from bench.environment import environment
from bench.errors import BenchError
from bench.io import write_json
from bench.results import canonical_run, dataset_dir, run_path, write_trec_qrels, write_trec_run
from retrievers.bm25_rank import BM25Rank

OUTPUTS = ["leaderboard.md", "leaderboard.csv", "leaderboard.json", "leaderboard.tex", "index.html",
           "plots/ndcg_at_10.png", "plots/quality_vs_latency.png"]
VARIANT = "q50-seed42-k100"


def store(out: Path, dataset: str, retriever: str, run: Run, variant: str | None = None, **meta: Any) -> None:
    """A run as `bench run` stores it: canonical .trec, then the sidecar with the file's sha256."""
    run = canonical_run(run, 100)
    sha = write_trec_run(run_path(out, dataset, retriever, variant=variant), run, retriever)
    write_json(run_path(out, dataset, retriever, ".json", variant), {
        "retriever": retriever, "dataset": dataset, "split": "test", "k": 100, "queries": len(run),
        "engine": "test", "info": {}, "run_sha256": sha, **meta,
    })


def store_dataset(out: Path, dataset: Dataset, qrels: Qrels, variant: str | None = None) -> None:
    folder = dataset_dir(out, dataset.name, variant)
    write_trec_qrels(folder / "qrels.trec", qrels)
    write_json(folder / "dataset.json", {
        "name": dataset.name, "split": dataset.split, "variant": variant, "queries": len(qrels),
        "documents": len(dataset.corpus), "judgments": sum(map(len, qrels.values())),
        "relevant_grade": dataset.relevant_grade, "corpus_fingerprint": dataset.fingerprint,
        "notes": dataset.notes,
    })


@pytest.fixture(scope="module")
def bm25_run(homedepot: Dataset) -> tuple[Run, dict[str, Any]]:
    """Real BM25 (rank_bm25, the same scores as `bm25`) on the 300 Home Depot test queries, with timings."""
    bm25 = BM25Rank()
    started = time.perf_counter()
    bm25.index(homedepot.corpus)
    index_seconds = time.perf_counter() - started
    started = time.perf_counter()
    run = bm25.search(homedepot.queries, 100)
    search_seconds = time.perf_counter() - started
    one_query = next(iter(homedepot.queries.items()))
    started = time.perf_counter()
    bm25.search(dict([one_query]), 100)
    latency_ms = (time.perf_counter() - started) * 1000
    return run, dict(index_seconds=index_seconds, index_cached=False, search_seconds=search_seconds,
                     qps=len(homedepot.queries) / search_seconds, latency_ms_p50=latency_ms,
                     latency_ms_p95=latency_ms, latency_queries=1)


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory, homedepot: Dataset,
            bm25_run: tuple[Run, dict[str, Any]]) -> Path:
    """BM25 plus rankings of the judged products by their true grade ("by-gain") and in reverse
    ("reversed"); and a quick run (variant) of BM25 on the first 50 of those queries."""
    out = tmp_path_factory.mktemp("results")
    store_dataset(out, homedepot, homedepot.qrels)
    write_json(out / "environment.json", environment())
    run, timings = bm25_run
    store(out, homedepot.name, "bm25", run, **timings)

    by_gain: Run = {}
    reversed_: Run = {}
    for qid, grades in homedepot.qrels.items():
        order = sorted(grades, key=lambda d: (-grades[d], d))
        by_gain[qid] = {d: float(len(order) - i) for i, d in enumerate(order)}
        reversed_[qid] = {d: float(i + 1) for i, d in enumerate(order)}
    store(out, homedepot.name, "by-gain", by_gain,
          info={"trained_on": [homedepot.name], "active_dims_query": 7.4, "active_dims_doc": 41.2})
    store(out, homedepot.name, "reversed", reversed_)

    sample = sorted(homedepot.qrels)[:50]
    store_dataset(out, homedepot, {q: homedepot.qrels[q] for q in sample}, VARIANT)
    store(out, homedepot.name, "bm25", {q: run[q] for q in sample if q in run}, VARIANT, **timings)
    store(out, homedepot.name, "reversed", {q: reversed_[q] for q in sample}, VARIANT)
    return out


def copy_of(results: Path, target: Path) -> Path:
    shutil.copytree(results, target)
    return target


def built(results: Path, tmp_path: Path) -> Path:
    """A private copy of the stored results with the leaderboard built in it."""
    copy = copy_of(results, tmp_path / "results")
    paths = report.build(copy)
    assert sorted(p.relative_to(copy).as_posix() for p in paths) == sorted(OUTPUTS)
    return copy


def csv_rows(out: Path) -> list[dict[str, str]]:
    with open(out / "leaderboard.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def test_build_writes_tables_and_plots(results: Path, tmp_path: Path, homedepot: Dataset,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    out = built(results, tmp_path)
    printed = capsys.readouterr().out
    assert f"{homedepot.name}: best nDCG@10 1.000 by by-gain (3 retrievers, 300 queries)" in printed
    assert f"{homedepot.name} · {VARIANT}: best nDCG@10" in printed
    assert "(2 retrievers, 50 queries)" in printed

    rows = csv_rows(out)
    header = (out / "leaderboard.csv").read_text().splitlines()[0].split(",")
    assert header[:9] == ["dataset", "variant", "retriever", "ndcg@10", "mrr@10", "recall@10", "recall@100",
                          "map@100", "precision@10"]
    assert {"queries_evaluated", "latency_ms_p50", "qps", "active_dims_query", "model", "machine",
            "run_sha256"} <= set(header)
    full = {row["retriever"]: row for row in rows if not row["variant"]}
    quick = {row["retriever"]: row for row in rows if row["variant"]}
    assert set(full) == {"bm25", "by-gain", "reversed"} and set(quick) == {"bm25", "reversed"}
    assert {row["queries_evaluated"] for row in full.values()} == {"300"}
    assert {row["queries_evaluated"] for row in quick.values()} == {"50"}  # every row says its query count
    scores = {name: float(row["ndcg@10"]) for name, row in full.items()}
    assert scores["by-gain"] == 1.0 and scores["by-gain"] > scores["bm25"] > 0
    assert scores["by-gain"] > scores["reversed"]
    assert quick["bm25"]["ndcg@10"] != full["bm25"]["ndcg@10"]  # scored on its own 50 queries

    md = (out / "leaderboard.md").read_text()
    assert "paired Student's t-test" in md and "alpha = 0.05" in md and "Holm" in md
    assert "a = `bm25`, b = `by-gain`, c = `reversed`" in md
    main_part, quick_part = md.split("## Quick runs (not the protocol)")
    by_gain_row = next(line for line in main_part.splitlines() if line.startswith("| b "))
    assert "**1.000**<sup>" in by_gain_row and "<sup>ac</sup>" in by_gain_row  # best in bold, beats a and c
    assert "| 300 " in by_gain_row  # the queries it was scored on
    assert "Δ nDCG@10 vs bm25 (p)" in md and "p<0.001)<sup>*</sup>" in by_gain_row
    assert "7 / 41" in by_gain_row  # active dims q / d
    assert f"### {homedepot.name} · {VARIANT}" in quick_part and "| 50 " in quick_part
    assert "| b " not in quick_part  # by-gain was not part of the quick run
    assert "## Cross-domain" in md and f"{homedepot.name} (`by-gain`)" in md
    assert "## Compared with Qdrant's published numbers" in md and "0.305–0.333" in md
    assert "![nDCG@10 per dataset and retriever](plots/ndcg_at_10.png)" in md

    data = json.loads((out / "leaderboard.json").read_text())
    significance = data["datasets"][homedepot.name]["significance"]
    assert significance["metrics"]["ndcg@10"]["beats"]["by-gain"]["reversed"] < 0.05
    assert data["variants"][f"{homedepot.name}/variants/{VARIANT}"]["queries_evaluated"] == 50
    assert data["environment"]["packages"]["ranx"] and data["protocol"]["alpha"] == 0.05

    for name in OUTPUTS[5:]:
        png = (out / name).read_bytes()
        assert png.startswith(b"\x89PNG") and len(png) > 10_000


def test_latex_tables_are_booktabs_with_bold_and_significance(results: Path, tmp_path: Path,
                                                              homedepot: Dataset) -> None:
    out = copy_of(results, tmp_path / "results")
    assert main(["leaderboard", "--out", str(out), "--format", "latex"]) == 0
    assert not (out / "leaderboard.md").exists()  # only what was asked for
    tex = (out / "leaderboard.tex").read_text()
    assert tex.count(r"\begin{table}") == 2 and tex.count(r"\toprule") == 2 and tex.count(r"\bottomrule") == 2
    assert r"\label{tab:homedepot}" in tex and r"\label{tab:homedepot--q50-seed42-k100}" in tex
    by_gain = next(line for line in tex.splitlines() if line.startswith(r"b & \texttt{by-gain}"))
    assert r"\textbf{1.000}\textsuperscript{ac}" in by_gain and r"\textsuperscript{*}" in by_gain
    assert "Quick run, not the benchmark protocol" in tex and "300 test queries" in tex


def test_rebuild_is_byte_identical(results: Path, tmp_path: Path) -> None:
    out = built(results, tmp_path)
    first = {name: (out / name).read_bytes() for name in OUTPUTS}
    report.build(out)
    assert {name: (out / name).read_bytes() for name in OUTPUTS} == first


@pytest.mark.parametrize(
    ("breakage", "message"),
    [
        (lambda folder: (folder / "dataset.json").write_text('{"name": "home'),
         "dataset.json is not readable JSON"),
        (lambda folder: (folder / "qrels.trec").write_text("q1 0 d1 high\n"), "qrels.trec is malformed"),
        (lambda folder: (folder / "qrels.trec").unlink(), "qrels.trec not found"),
    ],
)
def test_a_broken_table_raises_and_keeps_the_previous_leaderboard(
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


def truncate(path: Path) -> None:
    """Cut a run file at a line end halfway: still parses, but is no longer the run that was scored."""
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[: len(lines) // 2]))


@pytest.mark.parametrize(
    ("breakage", "why"),
    [
        (lambda runs: truncate(runs / "reversed.trec"), "changed on disk (sha256 mismatch)"),
        (lambda runs: (runs / "reversed.trec").unlink(), "is missing"),
        (lambda runs: (runs / "reversed.json").write_text('{"retriever": "rev'), "is not readable JSON"),
        (lambda runs: (runs / "reversed.json").write_text('["reversed"]'), "holds a JSON list"),
    ],
)
def test_an_unverifiable_run_is_skipped_with_one_line(
    results: Path, tmp_path: Path, homedepot: Dataset, breakage: Any, why: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = copy_of(results, tmp_path / "results")
    breakage(out / homedepot.name / "runs")
    report.build(out)
    skipped = [line for line in capsys.readouterr().out.splitlines() if line.startswith("skip ")]
    assert len(skipped) == 1 and why in skipped[0] and "reversed" in skipped[0]
    full = {row["retriever"] for row in csv_rows(out) if not row["variant"]}
    assert full == {"bm25", "by-gain"}  # the others are still published, without the untrusted run


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


# ------------------------------------------------------------------ merging


def test_merge_keeps_each_rows_machine_and_one_copy_of_identical_runs(
    results: Path, tmp_path: Path, homedepot: Dataset, bm25_run: tuple[Run, dict[str, Any]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    laptop = copy_of(results, tmp_path / "laptop")
    other = copy_of(results, tmp_path / "other")  # the same runs, copied: the same files
    (other / "environment.json").unlink()  # results from a machine that did not record itself
    run, timings = bm25_run
    store(other, homedepot.name, "bm25-top10", canonical_run(run, 10), **timings)
    merged = tmp_path / "merged"

    assert main(["leaderboard", "--from", str(laptop), "--from", str(other), "--out", str(merged)]) == 0
    assert "conflict" not in capsys.readouterr().out
    rows = {(row["variant"], row["retriever"]): row for row in csv_rows(merged)}
    assert sorted(r for v, r in rows if not v) == ["bm25", "bm25-top10", "by-gain", "reversed"]
    assert rows["", "bm25"]["machine"] == "M1" and rows["", "bm25"]["source"] == str(laptop)
    assert rows["", "bm25-top10"]["machine"] == "M2" and rows["", "bm25-top10"]["source"] == str(other)
    assert float(rows["", "bm25-top10"]["recall@100"]) < float(rows["", "bm25"]["recall@100"])
    md = (merged / "leaderboard.md").read_text()
    assert "## Machines" in md and "not recorded (no environment.json)" in md and "| Machine |" in md
    assert not (laptop / "leaderboard.md").exists()  # the sources are only read


def test_merge_names_conflicting_runs_and_stops_unless_one_folder_is_preferred(
    results: Path, tmp_path: Path, homedepot: Dataset, bm25_run: tuple[Run, dict[str, Any]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    laptop = copy_of(results, tmp_path / "laptop")
    gpu = copy_of(results, tmp_path / "gpu")
    run, timings = bm25_run
    top10 = canonical_run(run, 10)  # a different bm25 run under the same name
    store(gpu, homedepot.name, "bm25", top10, **timings)
    merged = tmp_path / "merged"
    argv = ["leaderboard", "--from", str(laptop), "--from", str(gpu), "--out", str(merged)]

    assert main(argv) == 2
    captured = capsys.readouterr()
    conflicts = [line for line in captured.out.splitlines() if line.startswith("conflict: ")]
    assert len(conflicts) == 1 and f"{homedepot.name} bm25:" in conflicts[0]
    assert str(laptop / homedepot.name / "runs" / "bm25.trec") in conflicts[0]
    assert str(gpu / homedepot.name / "runs" / "bm25.trec") in conflicts[0]
    assert "--prefer" in captured.err and "Traceback" not in captured.err
    assert not merged.exists() or not list(merged.iterdir())  # nothing written

    assert main([*argv, "--prefer", str(gpu)]) == 0
    assert f"keeping {gpu}'s" in capsys.readouterr().out
    rows = {(row["variant"], row["retriever"]): row for row in csv_rows(merged)}
    assert rows["", "bm25"]["source"] == str(gpu)
    assert rows[VARIANT, "bm25"]["source"] == str(gpu)  # identical in both: the preferred copy
    assert rows["", "by-gain"]["source"] == str(gpu)

    assert main([*argv, "--prefer", str(tmp_path)]) == 2
    assert "not one of the --from folders" in capsys.readouterr().err
