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


@pytest.fixture(scope="module")
def homedepot_dev() -> Dataset:
    from bench.datasets import load

    return load("homedepot", split="dev", limit_queries=300)


@pytest.mark.parametrize("k1,b", [(1.2, 0.75), (0.5, 0.3)])
def test_the_tuning_grid_scores_what_the_engine_scores(homedepot_dev: Dataset, tmp_path: Path,
                                                       k1: float, b: float) -> None:
    """The in-memory grid scorer of bm25-tuned is the engine's BM25, not a look-alike."""
    from bench.metrics import evaluate
    from retrievers.bm25_tuned import DevScorer

    with EdgeEngine(tmp_path / "edge") as engine:
        bm25 = BM25(Settings(cache_dir=tmp_path, engine=engine, options={"k1": k1, "b": b}))
        bm25.index(homedepot_dev.corpus)
        engine_run = bm25.search(homedepot_dev.queries, K)
    in_engine = evaluate(homedepot_dev.qrels, engine_run, homedepot_dev.relevant_grade, ["ndcg@10"])
    assert DevScorer(homedepot_dev).ndcg(k1, b) == pytest.approx(in_engine["ndcg@10"], abs=2e-3)


def test_bm25_tuned_chooses_on_dev_and_records_the_grid(homedepot_dev: Dataset) -> None:
    from retrievers.bm25_tuned import GRID, BM25Tuned, DevScorer

    tuned = BM25Tuned(Settings())
    tuned.tune([homedepot_dev])
    grid = tuned.info()["tuning"]["grid"]
    assert [(p["k1"], p["b"]) for p in grid] == GRID and (1.2, 0.75) in GRID
    best, tuning = max(p["ndcg@10"] for p in grid), tuned.info()["tuning"]
    assert tuning["chosen"]["ndcg@10"] == best >= tuning["lucene_default_ndcg@10"]
    # the chosen point really is the best one: rescored independently of the recorded grid
    scorer = DevScorer(homedepot_dev)
    assert scorer.ndcg(tuned.k1, tuned.b) == pytest.approx(best, abs=1e-6)
    assert scorer.ndcg(tuned.k1, tuned.b) >= scorer.ndcg(1.2, 0.75)
    assert f"k1={tuned.k1:g} b={tuned.b:g}" in tuned.info()["model"] and "homedepot" in tuned.info()["model"]


def test_bm25_tuned_without_dev_queries_keeps_lucene_defaults_and_says_so() -> None:
    from retrievers.bm25_tuned import BM25Tuned

    tuned = BM25Tuned(Settings())
    tuned.tune([])
    assert (tuned.k1, tuned.b) == (1.2, 0.75)
    assert "no dev split" in tuned.info()["tuning"]["chosen"]["why"]


def test_ties_past_the_fetch_limit_are_fetched_until_the_cut_is_exact(tmp_path: Path) -> None:
    """300 products with one title tie for a query; trec_eval ranks ties by doc id descending, so
    the top 10 must be the 10 highest ids, wherever the engine's arbitrary tie order put them.
    The first fetch (2k = 20 hits) cannot know that: search_with_ties doubles until it can."""
    from bench.data import Document
    from bench.retriever import search_with_ties

    tied = {f"P{i:04d}": Document(f"P{i:04d}", "Cordless Drill Kit") for i in range(300)}
    others = {f"X{i:04d}": Document(f"X{i:04d}", f"Garden hose {i} ft") for i in range(200)}
    with EdgeEngine(tmp_path / "edge") as engine:
        bm25 = BM25(Settings(cache_dir=tmp_path, engine=engine))
        bm25.index({**tied, **others})
        limits: list[int] = []
        search = bm25.collection.search

        def counted(field, vectors, limit):  # the real engine call, with its limit recorded
            limits.append(limit)
            return search(field, vectors, limit)

        bm25.collection.search = counted
        run = bm25.search({"q": "cordless drill"}, K)
        assert limits == [20, 40, 80, 160, 320]  # doubled until fewer hits than the limit came back
        assert list(run["q"]) == sorted(tied, reverse=True)[:K]
        hits = search_with_ties(bm25.collection, bm25.field.name, bm25.encode_queries(["garden hose"]), K)
        assert len(hits[0]) >= 200  # the 200 hoses tie too: all fetched
