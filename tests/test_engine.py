"""Qdrant Edge and qdrant-client backends on vectors made from real Home Depot titles.

Dense vectors are hashed bags of words (token counts folded into 64 dimensions), sparse
ones are the `bm25` adapter's; every result is checked against numpy or the other backend,
never against numbers written here.
"""

from __future__ import annotations

import glob
import shutil
from pathlib import Path

import numpy as np
import pytest

from bench.data import Dataset
from bench.engine import VectorField
from bench.engine.edge import EdgeEngine
from bench.engine.server import ServerEngine
from bench.errors import BenchError
from bench.text import tokenize
from retrievers.bm25 import BM25, term_id

DIM = 64
FIELDS = [VectorField("words", kind="dense", size=DIM), VectorField("bm25", kind="sparse", idf=True)]


def hashed_bag_of_words(texts: list[str]) -> np.ndarray:
    vectors = np.zeros((len(texts), DIM), dtype=np.float32)
    for row, text in enumerate(texts):
        for token in tokenize(text):
            vectors[row, term_id(token) % DIM] += 1.0
    return vectors


class Vectors:
    """Both fields for a slice of the corpus and the queries, ready to load."""

    def __init__(self, dataset: Dataset, documents: int, queries: int) -> None:
        self.doc_ids = sorted(dataset.corpus)[:documents]
        texts = [dataset.corpus[d].contents for d in self.doc_ids]
        self.query_texts = [q for q in dataset.queries.values() if tokenize(q)][:queries]
        bm25 = BM25()
        self.dense = hashed_bag_of_words(texts)
        self.sparse = bm25.encode_documents(texts)
        self.dense_queries = hashed_bag_of_words(self.query_texts)
        self.sparse_queries = bm25.encode_queries(self.query_texts)

    def load(self, engine: EdgeEngine | ServerEngine, name: str = "products") -> None:
        collection = engine.collection(name, FIELDS)
        assert not collection.complete
        ids = list(range(len(self.doc_ids)))
        for start in range(0, len(ids), 1000):
            collection.upsert(
                ids[start : start + 1000],
                {"words": list(self.dense[start : start + 1000]), "bm25": self.sparse[start : start + 1000]},
            )
        collection.finish()


@pytest.fixture(scope="module")
def vectors(homedepot: Dataset) -> Vectors:
    return Vectors(homedepot, documents=3000, queries=300)


@pytest.fixture(scope="module")
def small(homedepot: Dataset) -> Vectors:
    return Vectors(homedepot, documents=300, queries=40)


def everything(collection, queries: list) -> list[dict[int, float]]:
    """Every matching point and its score per query: comparable across rebuilds, which may
    order ties differently (and sum float32 terms in another order)."""
    return [dict(hits) for hits in collection.search("bm25", queries, k=collection.count())]


@pytest.mark.parametrize("distance", ["cosine", "dot"])
def test_dense_search_matches_numpy(vectors: Vectors, tmp_path: Path, distance: str) -> None:
    field = VectorField("words", kind="dense", size=DIM, distance=distance)
    with EdgeEngine(tmp_path) as engine:
        collection = engine.collection("dense", [field])
        collection.upsert(list(range(len(vectors.dense))), {"words": list(vectors.dense)})
        collection.finish()
        hits = collection.search("words", list(vectors.dense_queries), k=10)
    docs, queries = vectors.dense, vectors.dense_queries
    if distance == "cosine":
        docs = docs / np.linalg.norm(docs, axis=1, keepdims=True)
        queries = queries / np.linalg.norm(queries, axis=1, keepdims=True)
    exact = queries @ docs.T
    for row, query_hits in enumerate(hits):
        assert len(query_hits) == 10
        points, scores = zip(*query_hits, strict=True)
        assert list(scores) == sorted(scores, reverse=True)
        np.testing.assert_allclose(scores, exact[row, list(points)], rtol=1e-4, atol=1e-5)
        # the best 10 scores (ties may pick other points with the same score)
        np.testing.assert_allclose(scores, np.sort(exact[row])[::-1][:10], rtol=1e-4, atol=1e-5)


def test_reopen_reuses_without_loading(small: Vectors, tmp_path: Path) -> None:
    with EdgeEngine(tmp_path) as engine:
        small.load(engine)
        before = engine.collection("products", FIELDS).search("bm25", small.sparse_queries, k=10)
    with EdgeEngine(tmp_path) as engine:
        collection = engine.collection("products", FIELDS)
        assert collection.complete and collection.count() == len(small.doc_ids)
        assert collection.search("bm25", small.sparse_queries, k=10) == before
        assert engine.collection("products", FIELDS) is collection  # one shard handle per process


def damage_marker_json(root: Path) -> None:
    (root / "products.complete.json").write_text("{not json")


def damage_marker_count(root: Path) -> None:
    marker = root / "products.complete.json"
    marker.write_text(marker.read_text().replace('"points": 300', '"points": 299'))


def damage_segment_state(root: Path) -> None:
    for path in glob.glob(str(root / "products" / "segments" / "*" / "segment.json")):
        Path(path).write_text("{garbage")


def damage_vector_storage(root: Path) -> None:
    segments = root / "products" / "segments"
    for path in glob.glob(str(segments / "*" / "vector_storage-*" / "store" / "page_0.dat")):
        with open(path, "r+b") as handle:
            handle.truncate(0)


def remove_shard(root: Path) -> None:
    shutil.rmtree(root / "products")


@pytest.mark.parametrize(
    "damage",
    [damage_marker_json, damage_marker_count, damage_segment_state, damage_vector_storage, remove_shard],
)
def test_damaged_collection_is_rebuilt(small: Vectors, tmp_path: Path, damage) -> None:
    with EdgeEngine(tmp_path) as engine:
        small.load(engine)
        expected = everything(engine.collection("products", FIELDS), small.sparse_queries)
    damage(tmp_path)
    with EdgeEngine(tmp_path) as engine:
        collection = engine.collection("products", FIELDS)
        assert not collection.complete and collection.count() == 0
        assert not (tmp_path / "products.complete.json").exists()
    with EdgeEngine(tmp_path) as engine:
        small.load(engine)
        rebuilt = everything(engine.collection("products", FIELDS), small.sparse_queries)
    for rebuilt_hits, expected_hits in zip(rebuilt, expected, strict=True):
        assert rebuilt_hits == pytest.approx(expected_hits, rel=1e-5)


def test_unfinished_or_changed_collection_is_rebuilt(small: Vectors, tmp_path: Path) -> None:
    with EdgeEngine(tmp_path) as engine:
        engine.collection("products", FIELDS).upsert([0], {"bm25": small.sparse[:1]})  # no finish()
    with EdgeEngine(tmp_path) as engine:
        assert engine.collection("products", FIELDS).count() == 0
        small.load(engine)
    with EdgeEngine(tmp_path) as engine:
        other_fields = [VectorField("bm25", kind="sparse", idf=False)]
        assert not engine.collection("products", other_fields).complete


def test_second_engine_on_same_directory_is_refused(tmp_path: Path) -> None:
    engine = EdgeEngine(tmp_path)
    with pytest.raises(BenchError) as refused:
        EdgeEngine(tmp_path)
    message = str(refused.value)
    assert str(tmp_path) in message and "--cache-dir" in message and "\n" not in message
    engine.close()
    EdgeEngine(tmp_path).close()  # free again once the first one is closed


def test_bad_names_and_urls_are_one_line_errors(tmp_path: Path) -> None:
    with EdgeEngine(tmp_path) as engine, pytest.raises(BenchError, match="collection name"):
        engine.collection("../escape", FIELDS)
    with pytest.raises(BenchError, match="not a URL"):
        ServerEngine("localhost:6333")
    with pytest.raises(BenchError, match="cannot reach Qdrant"):
        ServerEngine("http://127.0.0.1:9")


def test_server_local_mode_matches_edge(small: Vectors, tmp_path: Path) -> None:
    results = []
    with ServerEngine(":memory:") as server, EdgeEngine(tmp_path / "edge") as edge:
        for engine in (server, edge):
            small.load(engine)
            collection = engine.collection("products", FIELDS)
            assert collection.complete
            results.append(
                (
                    collection.search("words", list(small.dense_queries), k=10),
                    collection.search("bm25", small.sparse_queries, k=10),
                )
            )
    for server_hits, edge_hits in zip(*results, strict=True):
        for server_query, edge_query in zip(server_hits, edge_hits, strict=True):
            # same scores in the same order (ties may swap points)
            assert [s for _, s in server_query] == pytest.approx([s for _, s in edge_query], rel=1e-4)


def test_server_local_path_reuses_complete_collection(small: Vectors, tmp_path: Path) -> None:
    with ServerEngine(str(tmp_path / "local")) as server:
        small.load(server)
    with ServerEngine(str(tmp_path / "local")) as server:
        collection = server.collection("products", FIELDS)
        assert collection.complete and collection.count() == len(small.doc_ids)
        assert not server.collection("products", [VectorField("bm25", kind="sparse")]).complete
