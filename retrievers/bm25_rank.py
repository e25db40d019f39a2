"""The reference BM25: rank_bm25 in memory, no engine, same tokenizer, k1 and b as `bm25`.

>>> bm25 = BM25Rank(Settings(options={"k1": 1.2, "b": 0.75}))
>>> bm25.index(dataset.corpus)
>>> bm25.search({"q1": "deck over paint"}, k=10)

It checks that BM25 inside Qdrant (`bm25`) is BM25. rank_bm25's `BM25Okapi` computes
idf = ln((N - n + 0.5) / (n + 0.5)) and floors negative values at 0.25 * mean idf;
Qdrant's IDF modifier uses ln(1 + (N - n + 0.5) / (n + 0.5)) (Lucene's, never negative)
with N = documents that have at least one token. `QdrantIdfBM25Okapi` overrides only
`_calc_idf` to that formula, so both compute the same scores. What remains different:
Qdrant keeps term weights in float32 (scores agree to ~1e-6, so exact ties may order
differently) and `bm25` hashes terms to 31-bit ids (a rare collision merges two terms).

Search adds up, term by term, rank_bm25's own `get_batch_scores` over the documents that
contain the term (elsewhere a term adds 0, so the sum is `get_scores` without its Python
pass over the whole corpus per term), then keeps the top k with argpartition, ranked by the
tie convention of `bench.results.canonical_run` (as `bm25`). Documents scoring 0 are left
out, as the engine leaves them out.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np
from rank_bm25 import BM25Okapi
from tqdm.auto import tqdm

from bench.data import Corpus, Run
from bench.results import SCORE_DECIMALS, canonical_run
from bench.retriever import Retriever, Settings
from bench.text import TOKENIZER_VERSION, tokenize
from retrievers.bm25 import bm25_parameters


class QdrantIdfBM25Okapi(BM25Okapi):
    """BM25Okapi with Qdrant's (Lucene's) IDF: ln(1 + (N - n + 0.5) / (n + 0.5))."""

    def __init__(self, corpus: list[list[str]], k1: float, b: float) -> None:
        super().__init__(corpus, k1=k1, b=b)
        self.doc_len = np.asarray(self.doc_len)  # get_batch_scores turns the list into an array per call

    def _calc_idf(self, nd: dict[str, int]) -> None:
        # Qdrant's N counts only points whose sparse vector is non-empty.
        documents = sum(1 for length in self.doc_len if length > 0)
        self.idf = {word: math.log(1 + (documents - n + 0.5) / (n + 0.5)) for word, n in nd.items()}
        self.average_idf = sum(self.idf.values()) / max(len(self.idf), 1)


class BM25Rank(Retriever):
    """rank_bm25 reference implementation of `bm25` (see the module docstring)."""

    name = "bm25-rank"

    def __init__(self, settings: Settings | None = None) -> None:
        super().__init__(settings)
        self.k1, self.b = bm25_parameters(self.settings)
        self.doc_ids: list[str] = []
        self.model: QdrantIdfBM25Okapi | None = None
        self.postings: dict[str, np.ndarray] = {}
        """Token -> positions of the documents that contain it."""
        self.stats: dict[str, Any] = {}

    def index(self, corpus: Corpus) -> None:
        started = time.perf_counter()
        self.doc_ids = sorted(corpus)
        tokens = [tokenize(corpus[d].contents) for d in tqdm(self.doc_ids, desc="tokenizing", leave=False)]
        if not any(tokens):
            tokens.append(["\0"])  # rank_bm25 divides by the corpus size and vocabulary size
        self.model = QdrantIdfBM25Okapi(tokens, k1=self.k1, b=self.b)
        postings: dict[str, list[int]] = {}
        for position, frequencies in enumerate(self.model.doc_freqs[: len(self.doc_ids)]):
            for token in frequencies:
                postings.setdefault(token, []).append(position)
        self.postings = {token: np.array(docs, dtype=np.int64) for token, docs in postings.items()}
        self.stats = {"index_cached": False, "encode_seconds": time.perf_counter() - started}

    def search(self, queries: dict[str, str], k: int) -> Run:
        if self.model is None:
            raise RuntimeError(f"{self.name}: call index() before search()")
        run: Run = {}
        batch = tqdm(queries.items(), desc="bm25-rank", unit="query", leave=False, disable=len(queries) < 256)
        for query_id, text in batch:
            scores = np.zeros(len(self.doc_ids))
            for token in tokenize(text):  # a repeated query term counts again, as in get_scores
                if token in self.postings:
                    docs = self.postings[token]
                    scores[docs] += self.model.get_batch_scores([token], docs)
            run[query_id] = {self.doc_ids[d]: float(scores[d]) for d in top_k(scores, k)}
        return canonical_run(run, k)

    def info(self) -> dict[str, Any]:
        return {
            **self.stats,
            "model": f"rank_bm25 BM25Okapi (Qdrant IDF) k1={self.k1:g} b={self.b:g}",
            "tokenizer": f"bench.text v{TOKENIZER_VERSION}",
        }


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the positive scores that can be in the top k: the k best and every score that
    ties the k-th at the written precision (`canonical_run` then ranks them and cuts at k)."""
    candidates = np.flatnonzero(scores > 0)
    if len(candidates) > k:
        kth_best = np.partition(scores[candidates], len(candidates) - k)[len(candidates) - k]
        margin = 10.0 ** -SCORE_DECIMALS  # more than rounding can move a score
        candidates = candidates[scores[candidates] >= kth_best - margin]
    return candidates
