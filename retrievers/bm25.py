"""BM25 computed inside Qdrant: saturated term weights as sparse vectors, IDF from the engine.

>>> bm25 = BM25(Settings(engine=open_engine(None, Path(".cache/bench"))))
>>> bm25.index(dataset.corpus)
>>> bm25.search({"q1": "deck over paint"}, k=10)

A document vector holds, for each term t of the document, the BM25 term-frequency part

    tf * (k1 + 1) / (tf + k1 * (1 - b + b * len / avgdl))

and a query vector holds the query term counts. The sparse field has Qdrant's IDF
modifier, which multiplies each query term by ln(1 + (N - n + 0.5) / (n + 0.5)) at search
time, so the dot product is the classic (Lucene) BM25 score. N counts the documents with
at least one token. `bm25-rank` (retrievers/bm25_rank.py) computes the same formula with
rank_bm25 as the reference. Tokens come from `bench.text.tokenize`; term ids are a 31-bit
CRC32 of the token, so no vocabulary is stored and unseen query terms just match nothing
(a hash collision merges two terms: about one pair in a 50k-term vocabulary).

Short product titles give many exactly tied scores, and Qdrant orders ties arbitrarily, so
search (shared by every engine adapter, `bench.retriever.search_with_ties`) fetches 2k hits,
more when the ties of the k-th hit go past them, and ranks by the tie convention of
`bench.results` (score at the written precision descending, then doc id descending, as
trec_eval does) before cutting to k: `bm25-rank` breaks ties the same way.

`Settings.options` may set "k1" (default 1.2) and "b" (default 0.75).
"""

from __future__ import annotations

import zlib
from collections import Counter
from typing import Any

from bench.engine import SparseVector, VectorField
from bench.retriever import EngineRetriever, Settings
from bench.text import TOKENIZER_VERSION, tokenize

DEFAULT_K1 = 1.2
DEFAULT_B = 0.75


def term_id(token: str) -> int:
    """Stable id of a token (same across runs, machines and corpora)."""
    return zlib.crc32(token.encode()) & 0x7FFFFFFF


def bm25_parameters(settings: Settings) -> tuple[float, float]:
    """(k1, b) from `Settings.options`, shared with `bm25-rank`."""
    return float(settings.options.get("k1", DEFAULT_K1)), float(settings.options.get("b", DEFAULT_B))


def count_terms(tokens: list[str]) -> Counter[int]:
    """Term id -> count (colliding tokens add up, so ids stay unique)."""
    return Counter(term_id(t) for t in tokens)


def mean_length(vectors: list[SparseVector]) -> float:
    return sum(len(v) for v in vectors) / max(len(vectors), 1)


class BM25(EngineRetriever):
    """BM25 in Qdrant (Edge or server) through a sparse vector with the IDF modifier."""

    name = "bm25"

    def __init__(self, settings: Settings | None = None) -> None:
        super().__init__(settings)
        self.k1, self.b = bm25_parameters(self.settings)

    @property
    def field(self) -> VectorField:
        return VectorField("bm25", kind="sparse", idf=True)

    @property
    def model_tag(self) -> str:
        return f"tok{TOKENIZER_VERSION}-k1_{self.k1:g}-b{self.b:g}"

    def encode_documents(self, texts: list[str]) -> list[SparseVector]:
        docs = [tokenize(text) for text in texts]
        avgdl = sum(len(tokens) for tokens in docs) / max(len(docs), 1)
        vectors = []
        for tokens in docs:
            norm = self.k1 * (1 - self.b + self.b * len(tokens) / avgdl) if avgdl else self.k1
            counts = count_terms(tokens)
            vectors.append(
                SparseVector(list(counts), [tf * (self.k1 + 1) / (tf + norm) for tf in counts.values()])
            )
        self.stats["active_dims_doc"] = mean_length(vectors)
        return vectors

    def encode_queries(self, texts: list[str]) -> list[SparseVector]:
        vectors = []
        for text in texts:
            counts = count_terms(tokenize(text))
            vectors.append(SparseVector(list(counts), [float(c) for c in counts.values()]))
        self.stats["active_dims_query"] = mean_length(vectors)
        return vectors

    def info(self) -> dict[str, Any]:
        return {
            **super().info(),
            "model": f"bm25 k1={self.k1:g} b={self.b:g}",
            "tokenizer": f"bench.text v{TOKENIZER_VERSION}",
        }
