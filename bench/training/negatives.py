"""Hard negatives: products ranked high for a training query but never judged for it.

>>> negatives = bm25_negatives(data, queries)     # the project's BM25 in a throwaway Qdrant Edge folder
>>> negatives = model_negatives(model, data, queries)   # the model being trained (ANCE-style rounds)
>>> rows = with_negatives(data.rows, negatives)   # each row gets one of its query's negatives

A mined negative is never a product judged for its query at any grade (a partly relevant product
is not a negative: the false-negative problem), and the texts come from the products judged for
the training queries (`TrainingData.mine_corpus`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from tqdm.auto import tqdm

from bench.training.data import TrainingData

if TYPE_CHECKING:
    from sentence_transformers import SparseEncoder

MINE_TOP_K = 20
NEGATIVES_PER_QUERY = 3


def bm25_negatives(data: TrainingData, queries: list[str]) -> dict[str, list[str]]:
    """Top BM25 products per query that are not judged for it.

    The project's `bm25` in a throwaway Qdrant Edge folder: the default's 9,003 queries over
    52,089 products in 12 s, where rank_bm25 (`bm25-rank`, same scores) took 70 s."""
    import tempfile

    from bench.data import Document
    from bench.engine import open_engine
    from bench.retriever import Settings
    from retrievers.bm25 import BM25

    with tempfile.TemporaryDirectory(prefix="bench-mining-") as tmp, open_engine(None, Path(tmp)) as engine:
        bm25 = BM25(Settings(cache_dir=Path(tmp), engine=engine))
        bm25.index({key: Document(key, text) for key, text in data.mine_corpus.items()})
        run = bm25.search({str(i): query for i, query in enumerate(queries)}, MINE_TOP_K)
    return _keep_negatives(data, queries, [run.get(str(i), {}) for i in range(len(queries))])


def model_negatives(model: SparseEncoder, data: TrainingData, queries: list[str]) -> dict[str, list[str]]:
    """Top products by the current model per query that are not judged for it (ANCE-style)."""
    import torch

    keys = list(data.mine_corpus)
    docs = model.encode_document([data.mine_corpus[k] for k in keys], batch_size=64,
                                 convert_to_sparse_tensor=True, show_progress_bar=True)
    runs: list[dict[str, float]] = []
    for start in tqdm(range(0, len(queries), 256), desc="mining", unit="batch", leave=False):
        batch = model.encode_query(queries[start:start + 256], convert_to_sparse_tensor=True)
        scores = torch.sparse.mm(batch, docs.t()).to_dense()
        top = torch.topk(scores, min(MINE_TOP_K, len(keys)), dim=1)
        runs.extend({keys[j]: s for s, j in zip(row_s.tolist(), row_i.tolist(), strict=True) if s > 0}
                    for row_s, row_i in zip(top.values, top.indices, strict=True))
    return _keep_negatives(data, queries, runs)


def _keep_negatives(data: TrainingData, queries: list[str], runs: list[dict]) -> dict[str, list[str]]:
    negatives: dict[str, list[str]] = {}
    for query, run in zip(queries, runs, strict=True):
        ranked = sorted(run, key=lambda k: -run[k])
        judged = data.judged[query]
        texts = [data.mine_corpus[k] for k in ranked if data.mine_corpus[k] not in judged]
        if texts:
            negatives[query] = list(dict.fromkeys(texts))[:NEGATIVES_PER_QUERY]
    return negatives


def with_negatives(rows: list[dict[str, str]], negatives: dict[str, list[str]]) -> list[dict[str, str]]:
    """Triplets: each row gets one of its query's negatives, round-robin; rows without one are dropped."""
    seen: dict[str, int] = {}
    triplets = []
    for row in rows:
        options = negatives.get(row["query"])
        if not options:
            continue
        turn = seen.get(row["query"], 0)
        seen[row["query"]] = turn + 1
        triplets.append({**row, "negative": options[turn % len(options)]})
    return triplets
