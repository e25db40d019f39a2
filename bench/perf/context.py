"""The measured steps: each runs our path and what a user would pick instead, on one corpus size.

>>> session = Session(workload, Recorder(), options, cache_dir=Path(".cache/bench"))
>>> ctx = SizeContext(session, size=1000)
>>> for step in STEPS:
...     step(ctx)                 # appends Measurement records to session.recorder

Steps run in `STEPS` order for each size. `encoding` gets the document vectors through our
adapters and the persistent encoding cache, and encodes the queries once, so the search
steps index from that cache (no model time in their index numbers) and search with
pre-encoded query vectors (search alone is timed). Every engine path gets its own new
Qdrant Edge directory, closed at the end of the step. Alternatives are timed up to their
natural output (arrays, ScoredPoints); our adapters up to the Run dict they return.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import qdrant_edge as qe
from scipy.sparse import csr_matrix

from bench import registry
from bench.data import Corpus, Run
from bench.encoders import EncoderRetriever, load_dense, load_sparse
from bench.engine import Engine, SparseVector, Vector, open_engine
from bench.perf.measure import Measurement, Recorder
from bench.perf.training import TrainingBatch, training_step, vocabulary_encoding
from bench.perf.workload import PerfOptions, Workload
from bench.retriever import EngineRetriever, Retriever, Settings, hits_to_run
from bench.text import tokenize

# Path names, shown in the tables: ours first in each step (the reference of its ratios).
BM25_ENGINE = "bm25 adapter (Qdrant Edge)"
BM25_RANK = "bm25-rank adapter (rank-bm25 + postings)"
BM25_OKAPI = "rank-bm25 BM25Okapi.get_scores (stock)"
BM25S = "bm25s (same tokenizer, k1, b)"
BM25S_THREADS = "bm25s, n_threads=-1"
BM25_RAW = "raw Qdrant Edge query_batch (queries pre-tokenized)"
SPARSE_ADAPTER = "splade adapter (Qdrant Edge)"
SPARSE_RAW = "raw Qdrant Edge query_batch"
SPARSE_CLIENT = "qdrant-client local mode"
SPARSE_SCIPY = "scipy CSR dot product (exact)"
ENCODE_COLD = "adapter, empty cache"
ENCODE_CACHED = "adapter, cached"
ENCODE_QUERIES = "adapter encode_queries"
ENCODE_RAW_DOCS = "sentence-transformers encode_document"
ENCODE_RAW_QUERIES = "sentence-transformers encode_query"
DENSE_ADAPTER = "dense adapter (Qdrant Edge, default index)"
DENSE_EXACT = "raw Qdrant Edge, exact=True"
DENSE_HNSW = "raw Qdrant Edge, default index"
DENSE_NUMPY = "numpy brute force (exact)"
HYBRID_FUSED = "adapter: two Qdrant queries + RRF in Python"
HYBRID_RANX = "two Qdrant queries + ranx fuse"

ENCODERS = ("splade", "dense")
T = TypeVar("T")


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
                component.model = self.session.models[component.name]  # type: ignore[misc]
        return adapter

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


# ---------------------------------------------------------------- helpers


def use_query_vectors(adapter: EngineRetriever, texts: list[str], vectors: list[Vector]) -> None:
    """Make `adapter.search` look up pre-encoded query vectors, so only search is timed."""
    lookup = dict(zip(texts, vectors, strict=True))
    adapter.encode_queries = lambda batch: [lookup[text] for text in batch]  # type: ignore[method-assign]


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


# ---------------------------------------------------------------- steps


def encoding(ctx: SizeContext) -> None:
    """Documents/s and queries/s: adapter (empty cache, then cached) vs raw sentence-transformers.

    Encoding speed does not depend on the corpus, so the empty-cache and raw rows (minutes
    per model on 2 cores) are timed once, at the first size, on at most `encode_max` documents,
    and queries once. The cached row is timed at every size. The step also fills
    `ctx.documents`, the vectors of the search steps, through the adapter and the persistent
    cache (untimed: a warm cache returns them at once, a cold one encodes them once).
    """
    first_size = not ctx.session.query_vectors.keys() >= set(ENCODERS)
    for name in ENCODERS:
        _encode_with(ctx, name, first_size)


def _encode_with(ctx: SizeContext, name: str, first_size: bool) -> None:
    step, recorder, repeat = f"encoding: {name}", ctx.session.recorder, ctx.options.encode_repeats
    texts, query_texts = ctx.texts, list(ctx.queries.values())
    sample = texts[: ctx.options.encode_max]
    adapter = ctx.adapter(name, cache_dir=ctx.session.cache_dir)
    assert isinstance(adapter, EncoderRetriever)
    raw_options: dict[str, Any] = {"batch_size": ctx.options.batch_size}
    if name == "dense":
        raw_options["convert_to_numpy"] = True
    ctx.documents[name] = adapter.encode_documents(texts)  # untimed preparation, see `encoding`
    if first_size:
        # raw = the stock sentence-transformers model (the adapter's SPLADE pools max-first)
        raw_model = (load_sparse if adapter.kind == "sparse" else load_dense)(adapter.model_name)
        raw_model.max_seq_length = adapter.model.max_seq_length
        for warm in (adapter.model, raw_model):  # warm-up on product text
            warm.encode_document(texts[: ctx.options.batch_size], **raw_options)
        def encode_queries() -> None:  # the search steps search with these vectors
            ctx.session.query_vectors[name] = adapter.encode_queries(query_texts)

        recorder.turn_about(repeat, [
            (Measurement(step, ENCODE_QUERIES, "encode queries", ctx.size, len(query_texts), ours=True),
             encode_queries),
            (Measurement(step, ENCODE_RAW_QUERIES, "encode queries", ctx.size, len(query_texts)),
             lambda: raw_model.encode_query(query_texts, **raw_options)),
        ])
        recorder.turn_about(repeat, [
            (Measurement(step, ENCODE_COLD, "encode documents", len(sample), len(sample), ours=True),
             # a new adapter with an empty cache directory every time
             lambda: ctx.adapter(name, cache_dir=ctx.fresh_dir("encodings")).encode_documents(sample)),
            (Measurement(step, ENCODE_RAW_DOCS, "encode documents", len(sample), len(sample)),
             lambda: raw_model.encode_document(sample, **raw_options)),
        ])
        if name == "splade":  # the head of a `bench train --vocabulary data` model
            vocabulary_encoding(ctx, sample, adapter.model.max_seq_length)
    with ctx.measure(step, ENCODE_CACHED, "encode documents", len(texts), ours=True):
        adapter.encode_documents(texts)


def bm25(ctx: SizeContext) -> None:
    """Index build and queries/s: BM25 inside Qdrant Edge vs rank-bm25 vs bm25s."""
    import bm25s
    from rank_bm25 import BM25Okapi

    from retrievers.bm25 import bm25_parameters

    step, k, query_ids = "bm25", ctx.options.k, list(ctx.queries)
    with ctx.engine("bm25") as engine:
        adapter = ctx.adapter("bm25", engine)
        assert isinstance(adapter, EngineRetriever)
        with ctx.measure(step, BM25_ENGINE, "index", len(ctx.corpus), ours=True):
            adapter.index(ctx.corpus)
        engine_run, _ = ctx.best_of(step, BM25_ENGINE, len(query_ids),
                                    lambda: adapter.search(ctx.queries, k), ours=True)
        requests = edge_requests(adapter.field.name, adapter.encode_queries(list(ctx.queries.values())), k)
        shard = edge_shard(adapter)
        ctx.best_of(step, BM25_RAW, len(query_ids), lambda: shard.query_batch(requests))

    reference = ctx.adapter("bm25-rank")
    with ctx.measure(step, BM25_RANK, "index", len(ctx.corpus)):
        reference.index(ctx.corpus)
    slow = ctx.session.workload.query_sample(ctx.options.slow_queries)
    reference_run, record = ctx.best_of(step, BM25_RANK, len(slow), lambda: reference.search(slow, k),
                                        repeat=1)
    record.extra["top10_overlap_with_ours"] = overlap_at(engine_run, reference_run)

    k1, b = bm25_parameters(ctx.settings())
    with ctx.measure(step, BM25_OKAPI, "index", len(ctx.corpus)):
        okapi = BM25Okapi([tokenize(text) for text in ctx.texts], k1=k1, b=b)

    def okapi_search() -> list[np.ndarray]:
        # rank-bm25 as its README uses it: score every document, then keep the best k
        return [top_k_rows(okapi.get_scores(tokenize(text))[None, :], k)[0] for text in slow.values()]

    ctx.best_of(step, BM25_OKAPI, len(slow), okapi_search, repeat=1)

    with ctx.measure(step, BM25S, "index", len(ctx.corpus)):
        model = bm25s.BM25(k1=k1, b=b, method="lucene")
        model.index([tokenize(text) for text in ctx.texts], show_progress=False)

    def bm25s_search(threads: int) -> tuple[np.ndarray, np.ndarray]:
        tokens = [tokenize(ctx.queries[qid]) or [""] for qid in query_ids]  # "": bm25s' empty token
        return model.retrieve(tokens, k=min(k, len(ctx.corpus)), show_progress=False, n_threads=threads)

    for path, threads in ((BM25S, 0), (BM25S_THREADS, -1)):
        (found, scores), record = ctx.best_of(step, path, len(query_ids), lambda t=threads: bm25s_search(t))
        rows = [(f[s > 0], s[s > 0]) for f, s in zip(found, scores, strict=True)]
        record.extra["top10_overlap_with_ours"] = overlap_at(rows_to_run(query_ids, rows, ctx.doc_ids),
                                                             engine_run)


def sparse_search(ctx: SizeContext) -> None:
    """SPLADE vectors, pre-encoded: our adapter vs raw Qdrant Edge vs qdrant-client local vs scipy."""
    step, k, query_ids = "sparse search", ctx.options.k, list(ctx.queries)
    documents, queries = ctx.documents["splade"], ctx.query_vectors("splade")
    with ctx.engine("splade") as engine:
        adapter = ctx.adapter("splade", engine, ctx.session.cache_dir)
        assert isinstance(adapter, EngineRetriever)
        with ctx.measure(step, SPARSE_ADAPTER, "index", len(ctx.corpus), ours=True) as record:
            adapter.index(ctx.corpus)
        record.extra["note"] = "document encodings read from the encoding cache"
        use_query_vectors(adapter, list(ctx.queries.values()), queries)
        adapter_run, _ = ctx.best_of(step, SPARSE_ADAPTER, len(queries),
                                     lambda: adapter.search(ctx.queries, k), ours=True)
        shard, field_name = edge_shard(adapter), adapter.field.name
        ctx.best_of(step, SPARSE_RAW, len(queries),
                    lambda: shard.query_batch(edge_requests(field_name, queries, k)))

    client_queries = min(ctx.options.client_queries, len(queries))
    client_index, client_search = _qdrant_client_local(documents, queries[:client_queries], k)
    with ctx.measure(step, SPARSE_CLIENT, "index", len(documents)):
        client_index()
    ctx.best_of(step, SPARSE_CLIENT, client_queries, client_search, repeat=1)

    columns = 1 + max(max(v.indices, default=0) for v in [*documents, *queries]
                      if isinstance(v, SparseVector))
    with ctx.measure(step, SPARSE_SCIPY, "index", len(documents)):
        matrix = csr_of(documents, columns).T.tocsr()  # terms x documents

    def scipy_search() -> list[tuple[np.ndarray, np.ndarray]]:
        scores = csr_of(queries, columns) @ matrix  # queries x documents, sparse
        rows = []
        for row in range(scores.shape[0]):
            start, stop = scores.indptr[row], scores.indptr[row + 1]
            values, documents_ = scores.data[start:stop], scores.indices[start:stop]
            best = np.argsort(-values, kind="stable")[:k]
            rows.append((documents_[best], values[best]))
        return rows

    rows, record = ctx.best_of(step, SPARSE_SCIPY, len(queries), scipy_search)
    scipy_run = rows_to_run(query_ids, rows, ctx.doc_ids)
    record.extra["top10_overlap_with_ours"] = overlap_at(scipy_run, adapter_run)


def _qdrant_client_local(documents: list[Vector], queries: list[Vector], k: int) -> tuple[Callable, Callable]:
    """The same sparse vectors in qdrant-client's in-memory local mode: (index, search) calls."""
    from qdrant_client import QdrantClient, models

    client = QdrantClient(location=":memory:")
    client.create_collection("perf", vectors_config={},
                             sparse_vectors_config={"splade": models.SparseVectorParams()})

    def as_client(vector: Vector) -> models.SparseVector:
        assert isinstance(vector, SparseVector)
        return models.SparseVector(indices=vector.indices, values=vector.values)

    def index() -> None:
        for start in range(0, len(documents), 1024):
            batch = documents[start:start + 1024]
            client.upsert("perf", points=[
                models.PointStruct(id=start + i, vector={"splade": as_client(v)}) for i, v in enumerate(batch)
            ])

    def search() -> None:
        for vector in queries:
            client.query_points("perf", query=as_client(vector), using="splade", limit=k)

    return index, search


def dense_search(ctx: SizeContext) -> None:
    """all-MiniLM vectors, pre-encoded: our adapter vs raw Edge (exact and default index) vs numpy."""
    step, k, query_ids = "dense search", ctx.options.k, list(ctx.queries)
    documents, queries = ctx.documents["dense"], ctx.query_vectors("dense")
    with ctx.engine("dense") as engine:
        adapter = ctx.adapter("dense", engine, ctx.session.cache_dir)
        assert isinstance(adapter, EngineRetriever)
        with ctx.measure(step, DENSE_ADAPTER, "index", len(ctx.corpus), ours=True) as record:
            adapter.index(ctx.corpus)
        record.extra["note"] = "document encodings read from the encoding cache"
        shard, field_name = edge_shard(adapter), adapter.field.name
        record.extra["hnsw_indexed_vectors"] = shard.info().indexed_vectors_count
        use_query_vectors(adapter, list(ctx.queries.values()), queries)
        adapter_run, _ = ctx.best_of(step, DENSE_ADAPTER, len(queries),
                                     lambda: adapter.search(ctx.queries, k), ours=True)
        ctx.best_of(step, DENSE_HNSW, len(queries),
                    lambda: shard.query_batch(edge_requests(field_name, queries, k)))
        exact_params = qe.SearchParams(exact=True)
        exact, record = ctx.best_of(
            step, DENSE_EXACT, len(queries),
            lambda: shard.query_batch(edge_requests(field_name, queries, k, exact_params)))
        exact_hits = [[(int(p.id), p.score) for p in hits] for hits in exact]
        exact_run = hits_to_run(query_ids, exact_hits, ctx.doc_ids)
        record.extra["top10_overlap_with_ours"] = overlap_at(adapter_run, exact_run)

    with ctx.measure(step, DENSE_NUMPY, "index", len(documents)):
        matrix = np.stack([np.asarray(v, dtype=np.float32) for v in documents])
        matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)

    def numpy_search() -> list[tuple[np.ndarray, np.ndarray]]:
        query_matrix = np.stack([np.asarray(v, dtype=np.float32) for v in queries])
        query_matrix /= np.linalg.norm(query_matrix, axis=1, keepdims=True)
        rows = []
        for start in range(0, len(query_matrix), 256):  # bounded memory: 256 x documents scores
            scores = query_matrix[start:start + 256] @ matrix.T
            best = top_k_rows(scores, k)
            rows.extend(zip(best, np.take_along_axis(scores, best, axis=1), strict=True))
        return rows

    rows, record = ctx.best_of(step, DENSE_NUMPY, len(queries), numpy_search)
    numpy_run = rows_to_run(query_ids, rows, ctx.doc_ids)
    record.extra["top10_overlap_with_ours"] = overlap_at(adapter_run, numpy_run)


def hybrid(ctx: SizeContext) -> None:
    """SPLADE + dense with RRF: the adapter (tie-exact fusion in Python) vs two queries fused by ranx."""
    from ranx import Run as RanxRun
    from ranx import fuse

    step, k, query_ids = "hybrid", ctx.options.k, list(ctx.queries)
    query_texts = list(ctx.queries.values())
    with ctx.engine("hybrid") as engine:
        adapter = ctx.adapter("hybrid:splade+dense", engine, ctx.session.cache_dir)
        with ctx.measure(step, HYBRID_FUSED, "index", len(ctx.corpus), ours=True) as record:
            adapter.index(ctx.corpus)
        record.extra["note"] = "document encodings read from the encoding cache"
        components: list[EngineRetriever] = adapter.components  # type: ignore[attr-defined]
        for component in components:
            use_query_vectors(component, query_texts, ctx.query_vectors(component.name))
        fused_run, _ = ctx.best_of(step, HYBRID_FUSED, len(query_ids),
                                   lambda: adapter.search(ctx.queries, k), ours=True)

        prefetch, rrf_k = adapter.prefetch_limit, adapter.rrf_k  # type: ignore[attr-defined]

        def two_queries_and_ranx(count: int) -> Run:
            runs = [
                RanxRun(hits_to_run(query_ids[:count], c.collection.search(  # type: ignore[union-attr]
                    c.field.name, ctx.query_vectors(c.name)[:count], prefetch), ctx.doc_ids))
                for c in components
            ]
            fused = fuse(runs, norm=None, method="rrf", params={"k": rrf_k}).to_dict()
            return {qid: dict(sorted(scores.items(), key=lambda item: -item[1])[:k])
                    for qid, scores in fused.items()}

        two_queries_and_ranx(2)  # numba compiles ranx's fusion on first use: not part of the timing
        ranx_run, record = ctx.best_of(step, HYBRID_RANX, len(query_ids),
                                       lambda: two_queries_and_ranx(len(query_ids)))
        record.extra["top10_overlap_with_ours"] = overlap_at(ranx_run, fused_run)


STEPS: list[Callable[[SizeContext], None]] = [
    encoding, training_step, sparse_search, dense_search, hybrid, bm25,
]
