"""The BM25 step: index build and queries/s of BM25 inside Qdrant Edge beside rank-bm25 and bm25s.

>>> bm25(ctx)          # appends Measurement records to ctx.session.recorder
"""

from __future__ import annotations

import numpy as np

from bench.perf.context import SizeContext, edge_requests, edge_shard, overlap_at, rows_to_run, top_k_rows
from bench.perf.path_names import BM25_ENGINE, BM25_OKAPI, BM25_RANK, BM25_RAW, BM25S, BM25S_THREADS
from bench.retriever import EngineRetriever
from bench.text import tokenize


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
        (found, scores), record = ctx.best_of(step, path, len(query_ids), lambda t=threads: bm25s_search(t))  # type: ignore[misc]
        rows = [(f[s > 0], s[s > 0]) for f, s in zip(found, scores, strict=True)]
        record.extra["top10_overlap_with_ours"] = overlap_at(rows_to_run(query_ids, rows, ctx.doc_ids),
                                                             engine_run)
