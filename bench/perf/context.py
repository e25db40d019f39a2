"""What every measured step works with: the session (all sizes) and the context of one corpus size.

>>> session = Session(workload, Recorder(), options, cache_dir=Path(".cache/bench"))
>>> ctx = SizeContext(session, size=1000)
>>> run, record = ctx.best_of("bm25", "my path", len(ctx.queries), lambda: search(ctx.queries))
>>> with ctx.engine("bm25") as engine:             # a new, empty Qdrant Edge directory
...     adapter = ctx.adapter("bm25", engine)

Plus the helpers the steps share: pre-encoded query vectors, top-k and overlap of runs, and raw
Qdrant Edge requests built the way a user calling Edge directly would build them.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
import qdrant_edge as qe
from scipy.sparse import csr_matrix

from bench import registry
from bench.data import Corpus, Run
from bench.encoders import EncoderRetriever
from bench.engine import Engine, SparseVector, Vector, open_engine
from bench.perf.measure import Measurement, Recorder
from bench.perf.workload import PerfOptions, Workload
from bench.retriever import EngineRetriever, Retriever, Settings

if TYPE_CHECKING:
    import torch

T = TypeVar("T")


@dataclass
class TrainingBatch:
    queries: list[str]
    products: list[str]
    vocabulary: torch.Tensor
    """Sorted token ids of the train split's queries and products."""


@dataclass
class Session:
    """What all sizes share: the workload, the records, and the query vectors (encoded once)."""

    workload: Workload
    recorder: Recorder
    options: PerfOptions
    cache_dir: Path
    """The persistent project cache: document encodings of the search steps are reused from it."""
    query_vectors: dict[str, list[Vector]] = field(default_factory=dict)
    models: dict[str, Any] = field(default_factory=dict)
    """Loaded sentence-transformers models by adapter name, shared by every adapter instance."""
    training_batch: TrainingBatch | None = None
    """The train-split batch and vocabulary of the training step (bench/perf/training.py)."""


@dataclass
class SizeContext:
    """One corpus size. `documents` (vectors per encoder, doc_ids order) is filled by `encoding`."""

    session: Session
    size: int
    corpus: Corpus = field(init=False)
    doc_ids: list[str] = field(init=False)
    documents: dict[str, list[Vector]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.corpus = self.session.workload.corpus(self.size)
        self.doc_ids = sorted(self.corpus)  # point i of every engine collection = doc_ids[i]

    @property
    def options(self) -> PerfOptions:
        return self.session.options

    @property
    def texts(self) -> list[str]:
        return [self.corpus[doc_id].contents for doc_id in self.doc_ids]

    @property
    def queries(self) -> dict[str, str]:
        return self.session.workload.queries

    def query_vectors(self, encoder: str) -> list[Vector]:
        return self.session.query_vectors[encoder]

    def measure(self, step: str, path: str, phase: str, count: int,
                ours: bool = False) -> contextlib.AbstractContextManager[Measurement]:
        """Time one block (index builds, cold encodings: things that cannot simply be repeated)."""
        return self.session.recorder.measure(step, path, phase, self.size, count, ours=ours)

    def best_of(self, step: str, path: str, count: int, work: Callable[[], T], ours: bool = False,
                repeat: int | None = None) -> tuple[T, Measurement]:
        """Time a search `search_repeats` times (or `repeat`) and keep the fastest."""
        return self.session.recorder.best_of(repeat or self.options.search_repeats, step, path, "search",
                                             self.size, count, work, ours=ours)

    def adapter(self, name: str, engine: Engine | None = None, cache_dir: Path | None = None) -> Retriever:
        """A registered adapter; its encoders are the session's, loaded and warmed up once."""
        adapter = registry.create(name, self.settings(engine, cache_dir))
        for component in getattr(adapter, "components", [adapter]):
            if isinstance(component, EncoderRetriever):
                if component.name not in self.session.models:
                    component.encode_queries(["warm up"])  # loads the model; the first call is slow
                    self.session.models[component.name] = component.model
                component.model = self.session.models[component.name]
        return adapter

    def indexed_adapter(self, name: str, engine: Engine, step: str,
                        path: str) -> tuple[Retriever, Measurement]:
        """Our adapter `name` indexing the corpus on `engine`, timed as `path`'s index phase; the
        search steps read the document encodings from the encoding cache, and the record says so."""
        adapter = self.adapter(name, engine, self.session.cache_dir)
        with self.measure(step, path, "index", len(self.corpus), ours=True) as record:
            adapter.index(self.corpus)
        record.extra["note"] = "document encodings read from the encoding cache"
        return adapter, record

    def fresh_dir(self, label: str) -> Path:
        return self.session.workload.fresh_dir(label)

    @contextlib.contextmanager
    def engine(self, label: str) -> Iterator[Engine]:
        """A new, empty Qdrant Edge engine, closed after the block."""
        engine = open_engine(None, self.fresh_dir(label))
        try:
            yield engine
        finally:
            engine.close()

    def settings(self, engine: Engine | None = None, cache_dir: Path | None = None) -> Settings:
        """Adapter settings; `cache_dir` None = a fresh empty directory (nothing reused)."""
        return Settings(cache_dir=cache_dir or self.fresh_dir("cache"), engine=engine,
                        batch_size=self.options.batch_size)


def use_query_vectors(adapter: EngineRetriever, texts: list[str], vectors: list[Vector]) -> None:
    """Make `adapter.search` look up pre-encoded query vectors, so only search is timed."""
    lookup = dict(zip(texts, vectors, strict=True))
    adapter.encode_queries = lambda batch: [lookup[text] for text in batch]  # type: ignore[method-assign, assignment]


def top_ids(scores: dict[str, float], n: int) -> set[str]:
    return {doc_id for doc_id, _ in sorted(scores.items(), key=lambda item: -item[1])[:n]}


def overlap_at(run: Run, reference: Run, n: int = 10) -> float:
    """Mean share of `reference`'s top n that `run` also has in its top n (1.0 = same sets)."""
    shares = []
    for query_id, scores in reference.items():
        expected = top_ids(scores, n)
        if expected:
            shares.append(len(expected & top_ids(run.get(query_id, {}), n)) / len(expected))
    return round(float(np.mean(shares)), 4) if shares else 1.0


def top_k_rows(scores: np.ndarray, k: int) -> np.ndarray:
    """Column indices of the k highest scores of each row, best first."""
    k = min(k, scores.shape[1])
    part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    order = np.argsort(-np.take_along_axis(scores, part, axis=1), axis=1, kind="stable")
    return np.take_along_axis(part, order, axis=1)


def rows_to_run(query_ids: list[str], rows: list[tuple[np.ndarray, np.ndarray]], doc_ids: list[str]) -> Run:
    """(doc indices, scores) per query -> Run; used only to compare results, outside the timing."""
    return {qid: {doc_ids[int(i)]: float(s) for i, s in zip(*row, strict=True)}
            for qid, row in zip(query_ids, rows, strict=True)}


def csr_of(vectors: list[Vector], columns: int) -> csr_matrix:

    sparse = [v for v in vectors if isinstance(v, SparseVector)]
    indptr = np.concatenate([[0], np.cumsum([len(v) for v in sparse])])
    indices = np.fromiter(itertools.chain.from_iterable(v.indices for v in sparse), dtype=np.int64)
    values = np.fromiter(itertools.chain.from_iterable(v.values for v in sparse), dtype=np.float32)
    return csr_matrix((values, indices, indptr), shape=(len(sparse), columns))


def edge_requests(field_name: str, vectors: list[Vector], k: int,
                  params: qe.SearchParams | None = None) -> qe.QueryBatchRequest:
    """What a user calling Qdrant Edge directly builds: one QueryRequest per query vector."""
    requests = []
    for vector in vectors:
        if isinstance(vector, SparseVector):
            query: list[float] | qe.SparseVector = qe.SparseVector(vector.indices, vector.values)
        else:
            query = vector.tolist()
        requests.append(qe.QueryRequest(limit=k, query=qe.Query.Nearest(query, using=field_name),
                                        params=params))
    return qe.QueryBatchRequest(requests)


def edge_shard(adapter: EngineRetriever | Retriever) -> qe.EdgeShard:
    shard = getattr(getattr(adapter, "collection", None), "shard", None)
    if shard is None:
        raise RuntimeError("the raw Qdrant Edge paths need the Edge backend (no --qdrant-url)")
    return shard
