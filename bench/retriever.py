"""The retriever protocol: `index(corpus)` once, then `search(queries, k)`.

A complete adapter (the whole file `retrievers/my_adapter.py`):

>>> class TitleMatch(Retriever):
...     name = "title-match"
...     def index(self, corpus):
...         self.titles = {doc_id: doc.title.lower() for doc_id, doc in corpus.items()}
...     def search(self, queries, k):
...         return {qid: {d: 1.0 for d, t in self.titles.items() if q.lower() in t}
...                 for qid, q in queries.items()}

Two optional steps, called by the runner before `index`: `load()` loads model weights (timed
apart from indexing), and `tune(dev_sets)`, for an adapter with `tunes_on_dev = True`, chooses its
settings on dev splits (never on the test split it is then scored on).

Adapters whose vectors live in Qdrant subclass `EngineRetriever` and only say how to
encode; indexing, caching and search are shared. Their search returns the canonical run
(bench.results.canonical_run): the engine orders equal scores arbitrarily and may cut a
group of ties anywhere, so `search_with_ties` fetches until every hit tied with the k-th is in.
"""

from __future__ import annotations

import os
import re
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from tqdm.auto import tqdm

from bench.data import Corpus, Dataset, Run, corpus_fingerprint
from bench.engine import Collection, Engine, Hits, Vector, VectorField
from bench.results import canonical_run, round_score


def default_cache_dir() -> Path:
    return Path(os.environ.get("BENCH_CACHE_DIR", ".cache/bench"))


@dataclass
class Settings:
    """What the harness hands every adapter. Adapters read what they need and ignore the rest."""

    cache_dir: Path = field(default_factory=default_cache_dir)
    engine: Engine | None = None
    model: str | None = None
    batch_size: int = 32
    # Tokens per text for every encoder (at most the model's own limit), so all models read the
    # same text: 256 is all-MiniLM's limit and covers titles; long descriptions are cut.
    max_seq_length: int = 256
    device: str = "cpu"
    trust_remote_code: bool = False
    options: dict[str, Any] = field(default_factory=dict)


class Retriever(ABC):
    """Base class of every adapter. `name` is what users type after `-r`."""

    name: ClassVar[str] = ""
    tunes_on_dev: bool = False
    """True: the runner calls `tune(dev_sets)` with dev splits before `index`."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or Settings()

    def load(self) -> None:  # noqa: B027 (optional step: most adapters have no model)
        """Load model weights now (the runner times this apart from indexing); no-op without a model."""

    def tune(self, dev_sets: list[Dataset]) -> None:  # noqa: B027 (optional: only if tunes_on_dev)
        """Choose settings on `dev_sets` (the dataset's own dev split, else other datasets' dev splits)."""

    @abstractmethod
    def index(self, corpus: Corpus) -> None:
        """Build (or load from cache) the index of `corpus`."""

    @abstractmethod
    def search(self, queries: dict[str, str], k: int) -> Run:
        """Top-`k` documents per query: {query_id: {doc_id: score}}."""

    def info(self) -> dict[str, Any]:
        """What the leaderboard should record about this adapter (model, sparsity, ...)."""
        return {}


class EngineRetriever(Retriever):
    """An adapter with one named vector in Qdrant. Subclasses implement the three hooks."""

    @property
    @abstractmethod
    def field(self) -> VectorField:
        """The vector this adapter stores (name, dense/sparse, size, IDF modifier)."""

    @property
    def model_tag(self) -> str:
        """Short identity of the encoder, part of the collection name (cache key)."""
        return "v1"

    @abstractmethod
    def encode_documents(self, texts: list[str]) -> list[Vector]: ...

    @abstractmethod
    def encode_queries(self, texts: list[str]) -> list[Vector]: ...

    def __init__(self, settings: Settings | None = None) -> None:
        super().__init__(settings)
        self.doc_ids: list[str] = []
        self.collection: Collection | None = None
        self.stats: dict[str, Any] = {}

    def index(self, corpus: Corpus) -> None:
        self.doc_ids = sorted(corpus)
        self.collection = open_collection(self.settings, self.name, self.model_tag, corpus, [self.field])
        self.stats["index_cached"] = self.collection.complete
        if self.collection.complete:
            return
        started = time.perf_counter()
        vectors = self.encode_documents([corpus[d].contents for d in self.doc_ids])
        self.stats["encode_seconds"] = time.perf_counter() - started
        load_points(self.collection, {self.field.name: vectors})

    def info(self) -> dict[str, Any]:
        """Encoding and cache statistics; subclasses add their model identity."""
        return dict(self.stats)

    def search(self, queries: dict[str, str], k: int) -> Run:
        if self.collection is None:
            raise RuntimeError(f"{self.name}: call index() before search()")
        query_ids = list(queries)
        vectors = self.encode_queries([queries[q] for q in query_ids])
        hits = search_with_ties(self.collection, self.field.name, vectors, k)
        return canonical_run(hits_to_run(query_ids, hits, self.doc_ids), k)


def collection_name(*parts: str) -> str:
    """A name every backend accepts: lowercase letters, digits, '-' and '_'."""
    return re.sub(r"[^a-z0-9_-]+", "_", "-".join(parts).lower())


def open_collection(
    settings: Settings, name: str, model_tag: str, corpus: Corpus, fields: list[VectorField]
) -> Collection:
    """The collection for (adapter, model, corpus fingerprint): reused when complete."""
    if settings.engine is None:
        raise RuntimeError("Settings.engine is not set: the harness opens one (bench.engine.open_engine)")
    return settings.engine.collection(
        collection_name(name, model_tag, corpus_fingerprint(corpus)[:16]), fields
    )


def load_points(collection: Collection, vectors: dict[str, list[Vector]], batch: int = 1024) -> None:
    """Upsert point i = the i-th document id (sorted), in batches, then optimize."""
    total = len(next(iter(vectors.values())))
    for start in tqdm(range(0, total, batch), desc="indexing", unit="batch", leave=False):
        stop = min(start + batch, total)
        collection.upsert(
            list(range(start, stop)), {name: vecs[start:stop] for name, vecs in vectors.items()}
        )
    collection.finish()


def search_with_ties(collection: Collection, field: str, vectors: list[Vector], k: int) -> list[Hits]:
    """At least the top k hits per query, and every hit whose written score ties the k-th's.

    Fetches 2k (short product titles tie often under BM25); a query whose last hit still ties
    its k-th (and may have more beyond the limit) is fetched again with twice the limit. Any
    hit left out then scores below the k-th at the written precision, so `canonical_run`
    cuts at k exactly where trec_eval would.
    """
    if k < 1:
        return [[] for _ in vectors]
    limit = 2 * k
    hits = collection.search(field, vectors, limit)
    while True:
        open_ties = [i for i, h in enumerate(hits)
                     if len(h) >= limit and round_score(h[k - 1][1]) == round_score(h[-1][1])]
        if not open_ties:
            return hits
        limit *= 2
        more = collection.search(field, [vectors[i] for i in open_ties], limit)
        for i, query_hits in zip(open_ties, more, strict=True):
            hits[i] = query_hits


def hits_to_run(query_ids: list[str], hits: list[list[tuple[int, float]]], doc_ids: list[str]) -> Run:
    return {
        qid: {doc_ids[point]: float(score) for point, score in query_hits}
        for qid, query_hits in zip(query_ids, hits, strict=True)
    }
