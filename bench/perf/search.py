"""The search steps on pre-encoded vectors: sparse, dense and hybrid, each beside what a user would use.

>>> sparse_search(ctx)   # our adapter | raw Qdrant Edge | qdrant-client local mode | scipy
>>> dense_search(ctx)    # our adapter | raw Edge, default index and exact | numpy
>>> hybrid(ctx)          # our adapter (RRF in Python) | two Qdrant queries + ranx fuse
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import qdrant_edge as qe

from bench.data import Run
from bench.engine import SparseVector, Vector
from bench.perf.context import (
    SizeContext,
    csr_of,
    edge_requests,
    edge_shard,
    overlap_at,
    rows_to_run,
    top_k_rows,
    use_query_vectors,
)
from bench.perf.path_names import (
    DENSE_ADAPTER,
    DENSE_EXACT,
    DENSE_HNSW,
    DENSE_NUMPY,
    HYBRID_FUSED,
    HYBRID_RANX,
    SPARSE_ADAPTER,
    SPARSE_CLIENT,
    SPARSE_RAW,
    SPARSE_SCIPY,
)
from bench.retriever import EngineRetriever, hits_to_run


def sparse_search(ctx: SizeContext) -> None:
    """SPLADE vectors, pre-encoded: our adapter vs raw Qdrant Edge vs qdrant-client local vs scipy."""
    step, k, query_ids = "sparse search", ctx.options.k, list(ctx.queries)
    documents, queries = ctx.documents["splade"], ctx.query_vectors("splade")
    with ctx.engine("splade") as engine:
        adapter, _ = ctx.indexed_adapter("splade", engine, step, SPARSE_ADAPTER)
        assert isinstance(adapter, EngineRetriever)
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
        adapter, record = ctx.indexed_adapter("dense", engine, step, DENSE_ADAPTER)
        assert isinstance(adapter, EngineRetriever)
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
        rows: list[tuple[np.ndarray, np.ndarray]] = []
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
        adapter, _ = ctx.indexed_adapter("hybrid:splade+dense", engine, step, HYBRID_FUSED)
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
