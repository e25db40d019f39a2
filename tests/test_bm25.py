"""BM25 inside Qdrant (`bm25`) against the rank_bm25 reference (`bm25-rank`) on real Home Depot data."""

from __future__ import annotations

from pathlib import Path

import pytest
from ranx import Qrels, Run, evaluate

from bench import registry
from bench.data import Dataset
from bench.engine.edge import EdgeEngine
from bench.engine.server import ServerEngine
from bench.retriever import Settings
from bench.text import tokenize
from retrievers.bm25 import BM25, term_id
from retrievers.bm25_rank import BM25Rank

K = 10


def ndcg_at_10(dataset: Dataset, run: dict[str, dict[str, float]]) -> float:
    qrels = {qid: grades for qid, grades in dataset.qrels.items() if qid in run and grades}
    return float(evaluate(Qrels(qrels), Run({qid: run[qid] for qid in qrels}), "ndcg@10"))


def same_top(run_a: dict[str, dict[str, float]], run_b: dict[str, dict[str, float]]) -> float:
    """Share of queries whose top-k document sets are identical."""
    return sum(set(run_a[q]) == set(run_b[q]) for q in run_a) / len(run_a)


def test_tokenize_product_text() -> None:
    assert tokenize("SC-141") == tokenize("sc141") == tokenize("SC 141") == ["sc", "141"]
    assert tokenize("5gal Chairs") == ["5", "gal", "chair"]
    # "in" and "the" are stopwords; digits stay, letters are stemmed
    assert tokenize("Faucet in the Chrome 3/4 in. Lighting") == ["faucet", "chrome", "3", "4", "light"]
    assert tokenize("") == tokenize("... / -") == []


def test_term_ids_are_stable_31_bit() -> None:
    assert term_id("faucet") == term_id("faucet") != term_id("faucets")
    assert all(0 <= term_id(t) < 2**31 for t in tokenize("Delta Vero 1-Handle Shower Faucet"))


def test_registry_builds_both(tmp_path: Path) -> None:
    settings = Settings(cache_dir=tmp_path, options={"k1": 0.9, "b": 0.4})
    engine_bm25, rank_bm25 = registry.create("bm25", settings), registry.create("bm25-rank", settings)
    assert isinstance(engine_bm25, BM25) and isinstance(rank_bm25, BM25Rank)
    assert (engine_bm25.k1, engine_bm25.b) == (rank_bm25.k1, rank_bm25.b) == (0.9, 0.4)
    assert engine_bm25.model_tag != BM25(Settings(cache_dir=tmp_path)).model_tag


@pytest.mark.parametrize("k1,b", [(1.2, 0.75), (2.0, 0.3)])
def test_engine_bm25_agrees_with_rank_bm25(homedepot: Dataset, tmp_path: Path, k1: float, b: float) -> None:
    with EdgeEngine(tmp_path / "edge") as engine:
        settings = Settings(cache_dir=tmp_path, engine=engine, options={"k1": k1, "b": b})
        in_engine, reference = BM25(settings), BM25Rank(settings)
        in_engine.index(homedepot.corpus)
        reference.index(homedepot.corpus)
        engine_run = in_engine.search(homedepot.queries, K)
        reference_run = reference.search(homedepot.queries, K)

    assert abs(ndcg_at_10(homedepot, engine_run) - ndcg_at_10(homedepot, reference_run)) <= 0.005
    agreement = same_top(engine_run, reference_run)
    print(f"k1={k1} b={b}: same top-{K} set for {agreement:.1%} of {len(engine_run)} queries")
    assert agreement >= 0.95
    # the same formula, not just a similar ranking: scores agree to float32 precision
    shared = [
        (engine_run[q][d], reference_run[q][d])
        for q in engine_run
        for d in engine_run[q]
        if d in reference_run[q]
    ]
    assert len(shared) > 0.9 * sum(len(hits) for hits in engine_run.values())
    assert all(a == pytest.approx(b, rel=1e-5) for a, b in shared)


def test_index_is_reused_from_cache(homedepot: Dataset, tmp_path: Path) -> None:
    corpus = dict(sorted(homedepot.corpus.items())[:500])
    queries = dict(list(homedepot.queries.items())[:50])
    runs = []
    for _ in range(2):
        with EdgeEngine(tmp_path / "edge") as engine:
            bm25 = BM25(Settings(cache_dir=tmp_path, engine=engine))
            bm25.index(corpus)
            runs.append((bm25.info()["index_cached"], bm25.search(queries, K)))
    (first_cached, first_run), (second_cached, second_run) = runs
    assert (first_cached, second_cached) == (False, True)
    assert second_run == first_run


def test_server_local_mode_ranks_like_edge(homedepot: Dataset, tmp_path: Path) -> None:
    corpus = dict(sorted(homedepot.corpus.items())[:200])
    queries = dict(list(homedepot.queries.items())[:100])
    runs = []
    with ServerEngine(":memory:") as server, EdgeEngine(tmp_path / "edge") as edge:
        for engine in (server, edge):
            bm25 = BM25(Settings(cache_dir=tmp_path, engine=engine))
            bm25.index(corpus)
            runs.append(bm25.search(queries, K))
    server_run, edge_run = runs
    assert sum(len(hits) for hits in edge_run.values()) > 0
    for qid in queries:
        assert list(server_run[qid]) == list(edge_run[qid]), queries[qid]
        assert list(server_run[qid].values()) == pytest.approx(list(edge_run[qid].values()), rel=1e-5)
