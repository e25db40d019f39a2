"""bench.leaderboard on results folders of real Home Depot runs, stored with bench.results as `run` does."""

from __future__ import annotations

import csv
import json
import re
import shutil
import time
from pathlib import Path
from typing import Any

import pytest

from bench import leaderboard
from bench.cli import main
from bench.data import Dataset, Qrels, Run
from bench.environment import environment
from bench.errors import BenchError
from bench.io import read_json, write_json
from bench.leaderboard.exports import VERSUS_COLUMNS
from bench.results import canonical_run, ranked, run_path, table_dir, write_trec_qrels, write_trec_run
from retrievers.bm25_rank import BM25Rank

pytrec_eval = pytest.importorskip("pytrec_eval", reason="pip install -e '.[test]' (pytrec-eval-terrier)")

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
    folder = table_dir(out, dataset.name, variant)
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
    return run, dict(model_load_seconds=None, index_seconds=index_seconds, index_cached=False,
                     search_seconds=search_seconds, qps=len(homedepot.queries) / search_seconds,
                     warmup=True, latency_ms_p50=latency_ms, latency_ms_p95=latency_ms, latency_queries=1)


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory, homedepot: Dataset,
            bm25_run: tuple[Run, dict[str, Any]]) -> Path:
    """BM25 and its twin bm25-rank (the same run: the check agrees), rankings of the judged products by
    their true grade ("by-gain", timed as the runner does now, with a model load) and in reverse
    ("reversed", a sidecar from before the warm-up rules); and a quick run (variant) of BM25 on the
    first 50 of those queries."""
    out = tmp_path_factory.mktemp("results")
    store_dataset(out, homedepot, homedepot.qrels)
    write_json(out / "environment.json", environment())
    run, timings = bm25_run
    store(out, homedepot.name, "bm25", run, **timings)
    store(out, homedepot.name, "bm25-rank", run, **timings)

    by_gain: Run = {}
    reversed_: Run = {}
    for qid, grades in homedepot.qrels.items():
        order = sorted(grades, key=lambda d: (-grades[d], d))
        by_gain[qid] = {d: float(len(order) - i) for i, d in enumerate(order)}
        reversed_[qid] = {d: float(i + 1) for i, d in enumerate(order)}
    store(out, homedepot.name, "by-gain", by_gain, **{**timings, "model_load_seconds": 2.5},
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
    paths = leaderboard.build(copy)
    assert sorted(p.relative_to(copy).as_posix() for p in paths) == sorted(OUTPUTS)
    return copy


def csv_rows(out: Path) -> list[dict[str, str]]:
    with open(out / "leaderboard.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def md_table(md: str, heading: str) -> list[dict[str, str]]:
    """The first Markdown table under the line `heading`: one dict per row, header -> cell text."""
    blocks = md.split(f"\n{heading}\n", 1)[1].split("\n\n")
    lines = next(block for block in blocks if block.startswith("|")).splitlines()
    header, _, *rows = ([cell.strip() for cell in line.strip("|").split("|")] for line in lines)
    return [dict(zip(header, row, strict=True)) for row in rows]


def trec_eval_ndcg(qrels: Qrels, run: Run, grade: int) -> dict[str, float]:
    """Per-query nDCG@10 by trec_eval's code, over the queries with a product graded >= grade."""
    evaluated = [q for q, grades in qrels.items() if max(grades.values()) >= grade]
    scored = pytrec_eval.RelevanceEvaluator({q: qrels[q] for q in evaluated}, {"ndcg_cut.10"}).evaluate(run)
    return {q: scored.get(q, {}).get("ndcg_cut_10", 0.0) for q in evaluated}


def test_build_writes_tables_and_plots(results: Path, tmp_path: Path, homedepot: Dataset,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    out = built(results, tmp_path)
    printed = capsys.readouterr().out
    assert f"{homedepot.name}: best nDCG@10 1.000 by by-gain (3 retrievers, 1 check, 300 queries)" in printed
    assert f"{homedepot.name} · {VARIANT}: best nDCG@10" in printed
    assert "(2 retrievers, 50 queries)" in printed

    rows = csv_rows(out)
    header = (out / "leaderboard.csv").read_text().splitlines()[0].split(",")
    assert header[:9] == ["dataset", "variant", "retriever", "ndcg@10", "mrr@10", "recall@10", "recall@100",
                          "map@100", "precision@10"]
    assert {"queries_evaluated", "latency_ms_p50", "qps", "active_dims_query", "model", "machine",
            "run_sha256", "judged@10", "ndcg_cond@10", "ci95_low", "ci95_high", "p_vs_baseline", "wins",
            "ties", "losses", "check_of", "model_load_seconds", "warmup"} <= set(header)
    full = {row["retriever"]: row for row in rows if not row["variant"]}
    quick = {row["retriever"]: row for row in rows if row["variant"]}
    assert set(full) == {"bm25", "bm25-rank", "by-gain", "reversed"} and set(quick) == {"bm25", "reversed"}
    assert {row["queries_evaluated"] for row in full.values()} == {"300"}
    assert {row["queries_evaluated"] for row in quick.values()} == {"50"}  # every row says its query count
    scores = {name: float(row["ndcg@10"]) for name, row in full.items()}
    assert scores["by-gain"] == 1.0 and scores["by-gain"] > scores["bm25"] > 0
    assert scores["by-gain"] > scores["reversed"]
    assert quick["bm25"]["ndcg@10"] != full["bm25"]["ndcg@10"]  # scored on its own 50 queries

    md = (out / "leaderboard.md").read_text()
    # how many tests each Holm correction covers: every ranked system against bm25, the twin left
    # out (a check, not a system): by-gain and reversed in the full table, reversed in the quick run
    assert "every system against `bm25` (1, 2 tests per metric), Holm-corrected over that family" in md
    assert "a = `bm25`, b = `by-gain`, c = `reversed`" in md  # the twin has no letter: it is not ranked
    quick_part = md.split("## Quick runs (not the protocol)")[1]
    table = {row["Retriever"]: row for row in md_table(md, f"## {homedepot.name}")}
    assert sorted(table) == ["`bm25`", "`by-gain`", "`reversed`"]  # the twin is a check line instead
    by_gain = next(iter(table.values()))  # ranked first
    assert by_gain["nDCG@10"] == "**1.000**<sup>a</sup>"  # best in bold; beats bm25, not c: not its family
    assert by_gain["Queries"] == "300" and by_gain["Active dims q / d"] == "7 / 41"
    assert by_gain["p vs bm25"] == "<0.001<sup>*</sup>" and table["`bm25`"]["p vs bm25"] == "—"
    assert f"### {homedepot.name} · {VARIANT}" in quick_part and "| 50 " in quick_part
    assert "| b " not in quick_part  # by-gain was not part of the quick run
    assert "## Cross-domain" in md and f"{homedepot.name} (`by-gain`)" in md
    assert "## Compared with Qdrant's published numbers" in md and "0.305–0.333" in md
    assert "![nDCG@10 per dataset and retriever](plots/ndcg_at_10.png)" in md

    data = json.loads((out / "leaderboard.json").read_text())
    significance = data["datasets"][homedepot.name]["significance"]
    assert significance["metrics"]["ndcg@10"]["beats"]["by-gain"] == {"bm25": significance["metrics"][
        "ndcg@10"]["p_values"]["by-gain"]["bm25"]}  # reversed is not in its family
    assert data["variants"][f"{homedepot.name}/variants/{VARIANT}"]["queries_evaluated"] == 50
    assert data["environment"]["packages"]["ranx"] and data["protocol"]["alpha"] == 0.05

    for name in OUTPUTS[5:]:
        png = (out / name).read_bytes()
        assert png.startswith(b"\x89PNG") and len(png) > 10_000


def test_every_row_shows_its_pool_diagnostics(results: Path, tmp_path: Path, homedepot: Dataset,
                                              bm25_run: tuple[Run, dict[str, Any]]) -> None:
    out = built(results, tmp_path)
    full = {row["retriever"]: row for row in csv_rows(out) if not row["variant"]}
    qrels, grade = homedepot.qrels, homedepot.relevant_grade
    evaluated = [q for q, grades in qrels.items() if max(grades.values()) >= grade]
    # by-gain ranks every judged product of a query: judged@10 is min(10, judged) / 10, and its
    # condensed list is the ideal ranking.
    assert float(full["by-gain"]["judged@10"]) == pytest.approx(
        sum(min(10, len(qrels[q])) / 10 for q in evaluated) / len(evaluated), abs=1e-6)
    assert float(full["by-gain"]["ndcg_cond@10"]) == 1.0
    # reversed ranks judged products only, so removing the unjudged ones changes nothing.
    assert full["reversed"]["ndcg_cond@10"] == full["reversed"]["ndcg@10"]
    # bm25 returns unjudged products: fewer are judged, and condensing lifts its nDCG@10.
    run, _ = bm25_run
    judged = [sum(doc in qrels[q] for doc, _ in ranked(run.get(q, {}), 10)) / 10 for q in evaluated]
    assert float(full["bm25"]["judged@10"]) == pytest.approx(sum(judged) / len(evaluated), abs=1e-6)
    condensed = {q: {d: s for d, s in run.get(q, {}).items() if d in qrels[q]} for q in evaluated}
    trec_eval = trec_eval_ndcg(qrels, condensed, grade)
    expected = sum(trec_eval.values()) / len(evaluated)
    assert float(full["bm25"]["ndcg_cond@10"]) == pytest.approx(expected, abs=1e-6)
    assert float(full["bm25"]["ndcg_cond@10"]) > float(full["bm25"]["ndcg@10"])

    md = (out / "leaderboard.md").read_text()
    row = {r["Retriever"]: r for r in md_table(md, f"## {homedepot.name}")}["`bm25`"]
    assert row["Judged@10"] == f"{float(full['bm25']['judged@10']):.3f}"
    assert row["nDCG@10 cond."] == f"{float(full['bm25']['ndcg_cond@10']):.3f}"
    assert "out of 10 even when fewer were returned" in md  # the protocol says what the denominator is
    assert "the check of pool bias" in md
    page = (out / "index.html").read_text()
    assert 'title="share of the top 10 that is judged' in page
    assert 'title="nDCG@10 of the condensed list' in page


def test_every_system_is_compared_with_bm25_by_interval_and_wins(
    results: Path, tmp_path: Path, homedepot: Dataset, bm25_run: tuple[Run, dict[str, Any]]
) -> None:
    out = built(results, tmp_path)
    data = json.loads((out / "leaderboard.json").read_text())["datasets"][homedepot.name]
    assert data["significance"]["family_size"] == 2  # by-gain and reversed against bm25; the twin is a check
    assert data["all_pairs"]["family_size"] == 3 and data["retrievers"]["bm25-rank"]["check_of"] == "bm25"
    assert data["retrievers"]["bm25"]["vs_baseline"] is None
    qrels, grade = homedepot.qrels, homedepot.relevant_grade
    bm25 = trec_eval_ndcg(qrels, bm25_run[0], grade)
    full = {row["retriever"]: row for row in csv_rows(out) if not row["variant"]}
    for name in ("by-gain", "reversed"):
        versus = data["retrievers"][name]["vs_baseline"]
        assert versus == {key: pytest.approx(float(full[name][column]))  # the CSV says the same
                          for column, key in VERSUS_COLUMNS.items()}
        assert versus["ci95_low"] < versus["delta"] < versus["ci95_high"]
        assert versus["wins"] + versus["ties"] + versus["losses"] == 300
    # by-gain is the ideal ranking (nDCG@10 = 1): it never loses, and ties where bm25 is ideal too.
    by_gain = data["retrievers"]["by-gain"]["vs_baseline"]
    assert by_gain["losses"] == 0 and by_gain["ties"] == sum(v > 1 - 1e-12 for v in bm25.values())
    assert by_gain["delta"] == pytest.approx(1 - sum(bm25.values()) / 300, abs=1e-6)
    assert not full["bm25"]["ci95_low"] and not full["bm25-rank"]["wins"]  # neither is compared with bm25

    md = (out / "leaderboard.md").read_text()
    row = {r["Retriever"]: r for r in md_table(md, f"## {homedepot.name}")}["`by-gain`"]
    assert row["Δ nDCG@10 vs bm25 [95% CI]"] == (f"{by_gain['delta']:+.3f} [{by_gain['ci95_low']:+.3f}, "
                                                 f"{by_gain['ci95_high']:+.3f}]")
    assert row["W/T/L vs bm25"] == f"{by_gain['wins']}/{by_gain['ties']}/0"
    assert "Holm-corrected over that family" in md and "10,000 times" in md and "full floating-point" in md
    pairs = md_table(md, f"### {homedepot.name}: all pairs")
    order = sorted(["bm25", "by-gain", "reversed"], key=lambda name: -float(full[name]["ndcg@10"]))
    letters = {"bm25": "a", "by-gain": "b", "reversed": "c"}
    assert [r["Retriever"] for r in pairs] == [f"`{name}`" for name in order[:2]]  # best first
    assert list(pairs[0])[2:] == [letters[name] for name in order[1:]]
    assert all(pairs[0][letters[name]].endswith("<sup>*</sup>") for name in order[1:])  # the ideal beats both
    assert pairs[1][letters[order[1]]] == "" and pairs[1][letters[order[2]]]  # below the diagonal: blank
    assert "Holm-corrected over all 3 pairs" in md


def test_a_twin_is_a_check_line_that_says_how_it_differs(results: Path, tmp_path: Path, homedepot: Dataset,
                                                         bm25_run: tuple[Run, dict[str, Any]]) -> None:
    out = built(results, tmp_path)
    md = (out / "leaderboard.md").read_text()
    bm25 = trec_eval_ndcg(homedepot.qrels, bm25_run[0], homedepot.relevant_grade)
    mean = sum(bm25.values()) / len(bm25)
    assert (f"**Checks** (second implementations of a system, neither ranked nor tested): `bm25-rank` agrees "
            f"with `bm25`: identical nDCG@10 on all 300 queries ({mean:.4f} vs {mean:.4f}), the same top 10 "
            "on all, identical product scores.") in md

    # a twin that swaps the top two products of one query, graded differently: its nDCG@10 changes
    run = {q: dict(scores) for q, scores in bm25_run[0].items()}
    top_two = {q: [homedepot.qrels[q].get(doc, 0) for doc, _ in ranked(run.get(q, {}), 2)] for q in bm25}
    query = next(q for q, grades in top_two.items() if len(set(grades)) == 2)
    (first, a), (second, b) = ranked(run[query], 2)
    run[query][first], run[query][second] = b, a
    store(out, homedepot.name, "bm25-rank", run, **bm25_run[1])
    leaderboard.build(out)
    md = (out / "leaderboard.md").read_text()
    assert "`bm25-rank` differs from `bm25`: a different nDCG@10 on 1 of 300 queries" in md
    assert "a different top 10 on 1; product scores differ by up to" in md
    tex = (out / "leaderboard.tex").read_text()
    assert r"\texttt{bm25-rank} differs from \texttt{bm25}: a different nDCG@10 on 1 of 300 queries" in tex


def test_timings_show_model_loading_apart_and_older_runs_still_render(results: Path, tmp_path: Path,
                                                                       homedepot: Dataset) -> None:
    out = built(results, tmp_path)
    md = (out / "leaderboard.md").read_text()
    table = {row["Retriever"]: row for row in md_table(md, f"## {homedepot.name}")}
    assert table["`by-gain`"]["Load s"] == "2.5"
    assert table["`bm25`"]["Load s"] == "—"  # no model
    assert table["`reversed`"]["Load s"] == "—" and table["`reversed`"]["Index s"] == "—"  # an older sidecar
    assert "model loading excluded" in md and "after one untimed warm-up batch" in md
    assert "**Older timings**: the runs of `reversed` predate these rules" in md
    assert "after one warm-up call, on 1 sampled queries" in md
    page = (out / "index.html").read_text()
    assert 'title="not recorded: an older run, its Index s includes model loading"' in page
    assert 'title="no model to load"' in page
    sidecar = read_json(out / homedepot.name / "runs" / "by-gain.json")
    assert sidecar["model_load_seconds"] == 2.5 and sidecar["warmup"] is True


def test_a_batch_slower_than_its_p50_gets_its_reason_and_numbers() -> None:
    from bench.leaderboard.timings import batch_below_p50, protocol_lines

    # Home Depot's published bm25-rank: a Python loop over queries, latencies skewed
    looped = {"dataset": "homedepot", "qps": 1061.7, "latency_ms_p50": 0.661, "latency_ms_mean": 1.009}
    engine = {"qps": 2431.1, "latency_ms_p50": 0.514, "latency_ms_mean": 0.441}
    assert batch_below_p50("bm25-rank", looped) == \
        "`bm25-rank` on homedepot (1,062 q/s; 1000 / p50 = 1,513, 1000 / mean latency = 991)"
    assert batch_below_p50("bm25", engine) == ""
    lines = protocol_lines([("bm25", engine), ("bm25-rank", looped)])
    assert len(lines) == 3 and lines[1].startswith("**QPS below 1000 / p50**: `bm25-rank` on homedepot")
    assert len(protocol_lines([("bm25", {**engine, "warmup": True})])) == 1


def test_latex_tables_are_booktabs_with_bold_and_significance(results: Path, tmp_path: Path,
                                                              homedepot: Dataset) -> None:
    out = copy_of(results, tmp_path / "results")
    assert main(["leaderboard", "--out", str(out), "--format", "latex"]) == 0
    assert not (out / "leaderboard.md").exists()  # only what was asked for
    tex = (out / "leaderboard.tex").read_text()
    # each table and its all-pairs table
    assert tex.count(r"\begin{table}") == 4 and tex.count(r"\toprule") == 4 and tex.count(r"\bottomrule") == 4
    assert r"\label{tab:homedepot}" in tex and r"\label{tab:homedepot--q50-seed42-k100}" in tex
    assert r"\label{tab:homedepot-pairs}" in tex
    by_gain = next(line for line in tex.splitlines() if line.startswith(r"b & \texttt{by-gain}"))
    assert r"\textbf{1.000}\textsuperscript{a}" in by_gain and r"$<$0.001\textsuperscript{*}" in by_gain
    assert re.search(r" & \d+/\d+/0 & ", by_gain)  # W/T/L: the ideal ranking never loses
    assert r"\texttt{bm25-rank} agrees with \texttt{bm25}" in tex
    assert "J@10" in tex and "cond." in tex and r"[95\% CI]" in tex
    assert "Quick run, not the benchmark protocol" in tex and "300 test queries" in tex


def test_rebuild_is_byte_identical(results: Path, tmp_path: Path) -> None:
    out = built(results, tmp_path)
    first = {name: (out / name).read_bytes() for name in OUTPUTS}
    leaderboard.build(out)
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
        leaderboard.build(out)
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
    leaderboard.build(out)
    skipped = [line for line in capsys.readouterr().out.splitlines() if line.startswith("skip ")]
    assert len(skipped) == 1 and why in skipped[0] and "reversed" in skipped[0]
    full = {row["retriever"] for row in csv_rows(out) if not row["variant"]}
    assert full == {"bm25", "bm25-rank", "by-gain"}  # the others are still published, not the untrusted run


def test_no_runs_is_a_one_line_error_and_interrupted_runs_are_skipped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(BenchError, match="no finished runs"):
        leaderboard.build(tmp_path)
    folder = tmp_path / "toy"
    write_trec_qrels(folder / "qrels.trec", {"q1": {"d1": 1}})
    write_json(folder / "dataset.json", {"name": "toy", "relevant_grade": 1})
    write_trec_run(folder / "runs" / "bm25.trec", {"q1": {"d1": 1.0}}, "bm25")  # no .json: interrupted
    with pytest.raises(BenchError, match="no finished runs"):
        leaderboard.build(tmp_path)
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
    assert sorted(r for v, r in rows if not v) == ["bm25", "bm25-rank", "bm25-top10", "by-gain", "reversed"]
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
