"""SPLADE, dense and hybrid adapters on a real Home Depot slice, in Qdrant Edge and qdrant-client.

The hybrid's RRF is checked against ranx `fuse(method="rrf")`, an independent implementation,
run over the two components' own runs (same constant, `retrievers.hybrid.RRF_K`, ranks from 1). Each
component run is handed to ranx with its ranks as strictly decreasing scores, because ranx
orders tied scores its own way, while the hybrid ranks ties by the one tie convention
(bench.results: doc id descending). Qdrant's own RRF query is not used for this reason: it
ranked tied documents of a component list (duplicate products have identical vectors) in an
arbitrary order, which changed their fused scores on about one query in ten on Home Depot.
"""

from __future__ import annotations

import random
import re

import numpy as np
import pytest
from ranx import Qrels, Run, evaluate, fuse

from bench import registry
from bench.data import Dataset
from bench.encoders import text_key
from bench.engine import SparseVector
from bench.engine.edge import EdgeEngine
from bench.errors import BenchError
from bench.results import canonical_run
from bench.retriever import EngineRetriever, Retriever, Settings
from retrievers.hybrid import RRF_K, Hybrid

K = 10


def small_homedepot(queries: int = 60, documents: int = 1500, seed: int = 7) -> Dataset:
    """A seeded slice of the shipped test split: every judged product plus random others."""
    from bench.datasets import load

    dataset = load("homedepot", limit_queries=queries)
    judged = sorted({doc_id for grades in dataset.qrels.values() for doc_id in grades} & set(dataset.corpus))
    others = sorted(set(dataset.corpus) - set(judged))
    keep = judged + random.Random(seed).sample(others, max(0, min(len(others), documents - len(judged))))
    corpus = {doc_id: dataset.corpus[doc_id] for doc_id in keep}
    qrels = {qid: grades for qid, grades in dataset.qrels.items() if qid in dataset.queries}
    return Dataset(dataset.name, dataset.split, corpus, dataset.queries, qrels, dataset.relevant_grade)


def ndcg(dataset: Dataset, run: dict[str, dict[str, float]]) -> float:
    qrels = {qid: grades for qid, grades in dataset.qrels.items() if qid in run}
    return float(evaluate(Qrels(qrels), Run(run), "ndcg@10"))


def random_run(dataset: Dataset, k: int, seed: int = 0) -> dict[str, dict[str, float]]:
    rng, doc_ids = random.Random(seed), sorted(dataset.corpus)
    return {qid: {d: float(k - i) for i, d in enumerate(rng.sample(doc_ids, k))} for qid in dataset.queries}


def dot(a: SparseVector, b: SparseVector) -> float:
    weights = dict(zip(a.indices, a.values, strict=True))
    return sum(weights.get(i, 0.0) * v for i, v in zip(b.indices, b.values, strict=True))


@pytest.fixture(scope="module")
def data() -> Dataset:
    return small_homedepot()


@pytest.fixture(scope="module")
def settings(tmp_path_factory):
    cache_dir = tmp_path_factory.mktemp("cache")
    engine = EdgeEngine(cache_dir / "qdrant-edge")
    yield Settings(cache_dir=cache_dir, engine=engine)
    engine.close()


@pytest.fixture(scope="module")
def indexed(data, settings) -> dict[str, EngineRetriever]:
    retrievers = {name: registry.create(name, settings) for name in ("splade", "dense")}
    for retriever in retrievers.values():
        retriever.index(data.corpus)
    return retrievers


@pytest.mark.slow
def test_splade_finds_relevant_products(data, indexed):
    splade = indexed["splade"]
    run = splade.search(data.queries, K)
    assert ndcg(data, run) > 3 * ndcg(data, random_run(data, K)) + 0.1

    info = splade.info()
    assert 0 < info["active_dims_query"] < info["active_dims_doc"] < info["vocab_size"]
    assert info["model_sha256"] and not info["index_cached"]

    # plain dot products (no IDF modifier): the engine's score is the model's
    qid = next(q for q in data.queries if run[q])
    best_doc, best_score = max(run[qid].items(), key=lambda item: item[1])
    query_vector = splade.encode_queries([data.queries[qid]])[0]
    doc_vector = splade.encode_documents([data.corpus[best_doc].contents])[0]
    assert best_score == pytest.approx(dot(query_vector, doc_vector), rel=1e-4)


@pytest.mark.slow  # the `indexed` fixture encodes 1,500 products with SPLADE and MiniLM (60-80 s on 2 cores)
def test_dense_scores_are_cosine(data, indexed):
    dense = indexed["dense"]
    qid = sorted(data.queries)[0]
    run = dense.search({qid: data.queries[qid]}, K)
    doc_id, score = max(run[qid].items(), key=lambda item: item[1])
    q = np.asarray(dense.encode_queries([data.queries[qid]])[0])
    d = np.asarray(dense.encode_documents([data.corpus[doc_id].contents])[0])
    assert score == pytest.approx(float(q @ d / np.linalg.norm(q) / np.linalg.norm(d)), abs=1e-4)
    assert dense.info()["dimensions"] == len(q) == 384
    assert ndcg(data, dense.search(data.queries, K)) > 3 * ndcg(data, random_run(data, K)) + 0.1


@pytest.mark.slow  # the `indexed` fixture encodes 1,500 products with SPLADE and MiniLM (60-80 s on 2 cores)
def test_reindexing_reuses_the_engine_and_the_encodings(data, indexed, settings, tmp_path):
    again = registry.create("splade", settings)
    again.index(data.corpus)
    assert again.stats["index_cached"]
    assert again.info()["active_dims_doc"] == indexed["splade"].info()["active_dims_doc"]

    # a fresh engine (no index) with the same cache: documents come from the encoding cache
    with EdgeEngine(tmp_path / "edge") as engine:
        fresh = registry.create("splade", Settings(cache_dir=settings.cache_dir, engine=engine))
        fresh.encode_raw_documents = lambda texts: pytest.fail(f"re-encoded {len(texts)} documents")
        fresh.index(data.corpus)
        assert not fresh.stats["index_cached"]
        assert engine.collection(fresh.collection.name, [fresh.field]).count() == len(data.corpus)


def forbid_encoding(hybrid: Hybrid) -> None:
    for component in hybrid.components:
        component.encode_raw_documents = lambda texts: pytest.fail(f"re-encoded {len(texts)} documents")


@pytest.mark.slow
def test_hybrid_fuses_exactly_like_ranx(data, indexed, settings):
    hybrid = registry.create("hybrid:splade+dense", settings)
    forbid_encoding(hybrid)  # the components indexed this corpus already
    hybrid.index(data.corpus)
    run = hybrid.search(data.queries, K)

    info = hybrid.info()
    rrf_k, limit = info["fusion"]["rrf_k"], info["fusion"]["prefetch_limit"]
    assert rrf_k == RRF_K == 60 and limit == 100
    assert set(info["components"]) == {"splade", "dense"}

    # ranx over the components' own runs, each cut at the prefetch limit, ranks as scores
    runs = [
        Run({qid: {d: float(limit - i) for i, d in enumerate(docs)}
             for qid, docs in indexed[name].search(data.queries, limit).items()}, name=name)
        for name in ("splade", "dense")
    ]
    reference = canonical_run(fuse(runs, method="rrf", params={"k": rrf_k}).to_dict(), K)
    assert run == reference  # the same documents, the same fused scores, the same order
    assert ndcg(data, run) > 3 * ndcg(data, random_run(data, K)) + 0.1


@pytest.mark.slow  # the `indexed` fixture encodes 1,500 products with SPLADE and MiniLM (60-80 s on 2 cores)
def test_prefetch_limit_is_an_option(data, indexed, settings):
    options = {"prefetch_limit": 20}
    hybrid = Hybrid(
        "hybrid:splade+dense", Settings(cache_dir=settings.cache_dir, engine=settings.engine, options=options)
    )
    forbid_encoding(hybrid)
    hybrid.index(data.corpus)
    run = hybrid.search(data.queries, 50)
    assert hybrid.info()["fusion"]["prefetch_limit"] == 20
    assert max(len(hits) for hits in run.values()) <= 40  # at most 20 candidates from each vector


def test_bad_hybrids_are_one_line_errors(settings):
    for name, fragment in [
        ("hybrid:splade+splade", "both components"),
        ("hybrid:splade", "hybrid:A+B"),
        ("hybrid:splade+nope", "unknown retriever"),
    ]:
        with pytest.raises(BenchError, match=re.escape(fragment)):
            registry.create(name, settings)


@pytest.mark.slow
def test_server_path_gives_the_same_results(data, indexed):
    """qdrant-client local mode: sparse, dense and hybrid through ServerEngine."""
    from bench.engine.server import ServerEngine

    tiny = Dataset(
        data.name,
        data.split,
        dict(sorted(data.corpus.items())[:200]),
        dict(sorted(data.queries.items())[:10]),
        data.qrels,
        data.relevant_grade,
    )
    cache_dir = indexed["splade"].settings.cache_dir
    engine = ServerEngine(":memory:")
    try:
        with EdgeEngine(cache_dir / "edge-tiny") as edge:
            for name in ("splade", "dense", "hybrid:splade+dense"):
                runs = []
                for backend in (engine, edge):
                    retriever = registry.create(name, Settings(cache_dir=cache_dir, engine=backend))
                    retriever.index(tiny.corpus)
                    runs.append(retriever.search(tiny.queries, K))
                server_run, edge_run = runs
                for qid in tiny.queries:
                    assert len(server_run[qid]) == len(edge_run[qid]), (name, qid)
                    for doc_id in set(server_run[qid]) & set(edge_run[qid]):
                        assert server_run[qid][doc_id] == pytest.approx(edge_run[qid][doc_id], rel=1e-3)
    finally:
        engine.close()


@pytest.mark.slow  # the `indexed` fixture encodes 1,500 products with SPLADE and MiniLM (60-80 s on 2 cores)
def test_cache_keys_are_the_texts(data, indexed):
    splade = indexed["splade"]
    keys = [text_key(doc.contents) for doc in data.corpus.values()]
    assert len(splade.cache.get("document", keys)) == len(set(keys))


class Trigram(Retriever):
    """A plain plug-in, written as the README says: no engine, its own in-memory index."""

    name = "trigram"

    def index(self, corpus):
        self.grams = {doc_id: grams(doc.title) for doc_id, doc in corpus.items()}

    def search(self, queries, k):
        run = {}
        for qid, text in queries.items():
            wanted = grams(text)
            scores = {d: len(wanted & g) / len(wanted | g) for d, g in self.grams.items() if wanted & g}
            run[qid] = dict(sorted(scores.items(), key=lambda item: -item[1])[:k])
        return run


def grams(text: str) -> set[str]:
    text = f"  {text.lower()} "
    return {text[i:i + 3] for i in range(len(text) - 2)}


def test_a_plain_plugin_fuses_with_an_engine_adapter(monkeypatch, tmp_path):
    from bench.datasets import load

    monkeypatch.setitem(registry.BUILTIN, "trigram", f"{__name__}:Trigram")
    esci = load("esci")
    with EdgeEngine(tmp_path / "edge") as engine:
        settings = Settings(cache_dir=tmp_path, engine=engine)
        hybrid = registry.create("hybrid:trigram+bm25", settings)
        hybrid.index(esci.corpus)
        run = hybrid.search(esci.queries, K)
        alone = {}
        for name in ("trigram", "bm25"):
            component = registry.create(name, settings)
            component.index(esci.corpus)
            alone[name] = canonical_run(component.search(esci.queries, 100), 100)
    both = [q for q in esci.queries if alone["trigram"].get(q) and alone["bm25"].get(q)]
    assert len(both) > 100
    ranks = [Run({q: {d: float(100 - i) for i, d in enumerate(ranking[q])} for q in both}, name=name)
             for name, ranking in alone.items()]  # ranx orders tied scores its own way: ranks as scores
    reference = canonical_run(fuse(ranks, method="rrf", params={"k": 60}).to_dict(), K)
    assert {q: run[q] for q in both} == reference
    assert ndcg(esci, run) > ndcg(esci, random_run(esci, K))
    assert hybrid.info()["fusion"]["components"] == ["trigram", "bm25"]
