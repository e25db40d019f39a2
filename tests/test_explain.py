"""`bench explain`: expansions and side-by-side top products, and per-query wins of two stored runs."""

from __future__ import annotations

import re

import pytest
from test_splade_hybrid import small_homedepot

from bench import metrics, registry
from bench.cli import main
from bench.engine.edge import EdgeEngine
from bench.errors import BenchError
from bench.explain import explain_query, pick_query
from bench.io import write_json
from bench.results import run_path, write_trec_qrels, write_trec_run
from bench.retriever import Settings


@pytest.fixture(scope="module")
def data():
    return small_homedepot(queries=12, documents=400)


@pytest.fixture(scope="module")
def retrievers(data, tmp_path_factory):
    cache_dir = tmp_path_factory.mktemp("cache")
    engine = EdgeEngine(cache_dir / "qdrant-edge")
    built = {}
    for name in ("splade", "bm25"):
        built[name] = registry.create(name, Settings(cache_dir=cache_dir, engine=engine))
        built[name].index(data.corpus)
    yield built
    engine.close()


def judged_query(data) -> str:
    """The judged query with the most judgments (so the table shows grades)."""
    return max(sorted(data.queries), key=lambda qid: len(data.qrels.get(qid, {})))


def test_query_mode_shows_expansions_and_both_rankings(data, retrievers):
    qid = judged_query(data)
    report = explain_query(data, data.queries[qid], qid, [retrievers["splade"], retrievers["bm25"]], k=5)

    expansion = re.search(r"\*\*splade expansion\*\* \((\d+) top terms\): (.*)", report)
    assert expansion, report
    terms = [item.rsplit(" ", 1) for item in expansion.group(2).split(", ")]
    weights = [float(weight) for _, weight in terms]
    assert weights == sorted(weights, reverse=True) and weights[0] > 0
    assert "bm25 expansion" not in report  # BM25 has no learned expansion

    table = [line for line in report.splitlines() if line.startswith("| ")]
    assert "splade: product" in table[0] and "bm25: product" in table[0]
    assert len(table) == 2 + 5  # header, rule, k rows
    for doc_id, score in retrievers["bm25"].search({qid: data.queries[qid]}, 5)[qid].items():
        grade = data.qrels[qid].get(doc_id)
        row = next(line for line in table if f"[{doc_id}]" in line)
        assert f"{score:.3f}" in row
        if grade is not None:
            assert f"| {grade} " in row


def test_pick_query(data):
    qid = judged_query(data)
    assert pick_query(data, None, qid) == (qid, data.queries[qid])
    assert pick_query(data, data.queries[qid].upper(), None) == (qid, data.queries[qid].upper())
    assert pick_query(data, "no such query text at all", None) == (None, "no such query text at all")
    with pytest.raises(BenchError, match="--query-id nope"):
        pick_query(data, None, "nope")


@pytest.mark.slow
def test_runs_mode_ranks_queries_by_ndcg_difference(data, retrievers, tmp_path, capsys):
    out = tmp_path / "results"
    runs = {name: r.search(data.queries, 100) for name, r in retrievers.items()}
    write_trec_qrels(out / "homedepot" / "qrels.trec", data.qrels)
    write_json(out / "homedepot" / "dataset.json", {"relevant_grade": data.relevant_grade})
    for name, run in runs.items():  # as `bench run` stores them: run file, then sidecar with its sha256
        sha = write_trec_run(run_path(out, "homedepot", name), run, name)
        write_json(run_path(out, "homedepot", name, ".json"), {"retriever": name, "run_sha256": sha})

    assert (
        main(["explain", "-d", "homedepot", "--runs", "bm25", "splade", "--out", str(out), "--top", "50"])
        == 0
    )
    printed = capsys.readouterr().out
    saved = (out / "homedepot" / "explain" / "bm25_vs_splade.md").read_text()
    assert saved.strip() in printed

    per_query = {
        name: metrics.per_query(data.qrels, run, data.relevant_grade, "ndcg@10") for name, run in runs.items()
    }
    deltas = {qid: per_query["splade"][qid] - per_query["bm25"][qid] for qid in per_query["bm25"]}
    splade_better = sum(d > 1e-9 for d in deltas.values())
    bm25_better = sum(d < -1e-9 for d in deltas.values())
    assert f"**splade** better on {splade_better}, **bm25** better on {bm25_better}" in saved

    listed = [float(x) for x in re.findall(r"\| ([+-]\d\.\d{3}) +\|", saved)]
    assert len(listed) == splade_better + bm25_better
    wins, losses = listed[:splade_better], listed[splade_better:]
    assert wins == sorted(wins, reverse=True) and losses == sorted(losses)
    if splade_better:
        best = max(deltas, key=deltas.get)
        assert wins[0] == pytest.approx(deltas[best], abs=1e-3)
        assert data.queries[best] in saved  # query texts come from the dataset


def test_query_mode_cli_saves_markdown(tmp_path, capsys):
    out, cache_dir = tmp_path / "results", tmp_path / "cache"
    code = main(
        [
            "explain",
            "-d",
            "homedepot",
            "--query",
            "cordless drill",
            "-r",
            "bm25",
            "--out",
            str(out),
            "--cache-dir",
            str(cache_dir),
            "--k",
            "3",
        ]
    )
    assert code == 0
    saved = out / "homedepot" / "explain" / "query-cordless-drill_bm25.md"
    assert saved.read_text().strip() in capsys.readouterr().out
    assert len([line for line in saved.read_text().splitlines() if line.startswith("| ")]) == 2 + 3


def test_bad_arguments_are_one_line_errors(tmp_path, capsys):
    assert main(["explain", "-d", "homedepot", "--query", "x", "-r", "a", "-r", "b", "-r", "c"]) == 2
    assert main(["explain", "-d", "homedepot", "--runs", "bm25", "splade", "--out", str(tmp_path)]) == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert len(errors) == 2 and "one or two retrievers" in errors[0] and "not found" in errors[1]
