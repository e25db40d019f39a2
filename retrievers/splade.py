"""SPLADE: a sparse encoder expands queries and products into weighted vocabulary terms.

>>> retriever = Splade(Settings(engine=open_engine(None, Path(".cache/bench"))))  # SPLADE-tiny, offline
>>> retriever.index(dataset.corpus)
>>> run = retriever.search(dataset.queries, k=100)
>>> retriever.info()["active_dims_query"]      # mean non-zero terms per query

Scores are plain dot products in Qdrant: no IDF modifier, the learned weights already
carry term importance. Any SparseEncoder works: `Settings(model="naver/splade-v3")`.
A fine-tuned variant only changes the default model:

>>> class SpladeShop(Splade):
...     name = "splade-shop"
...     default_model = "models/splade-shop"
"""

from __future__ import annotations

from typing import Any, ClassVar

from bench.data import Corpus
from bench.encoders import EncoderRetriever, Kind, sparse_rows, text_key
from bench.engine import SparseVector, Vector, VectorField


class Splade(EncoderRetriever):
    name = "splade"
    kind: ClassVar[Kind] = "sparse"

    @property
    def field(self) -> VectorField:
        return VectorField(self.name, kind="sparse", idf=False)

    def encode_raw_documents(self, texts: list[str]) -> list[Vector]:
        return sparse_rows(self.model.encode_document(texts, batch_size=self.settings.batch_size))

    def encode_queries(self, texts: list[str]) -> list[Vector]:
        embeddings = self.model.encode_query(
            texts, batch_size=self.settings.batch_size, show_progress_bar=len(texts) > 256
        )
        vectors = sparse_rows(embeddings)
        # running mean over every query encoded (batch search and single-query latency calls)
        self.stats["query_terms"] = self.stats.get("query_terms", 0) + sum(len(v) for v in vectors)
        self.stats["queries_encoded"] = self.stats.get("queries_encoded", 0) + len(vectors)
        return vectors

    def index(self, corpus: Corpus) -> None:
        super().index(corpus)
        # read back from the encoding cache: also works when the engine index was reused
        keys = [text_key(corpus[doc_id].contents) for doc_id in self.doc_ids]
        cached = self.cache.get("document", keys)
        if cached:
            self.stats["active_dims_doc"] = mean_active_dims(list(cached.values()))

    def expand(self, text: str, top_k: int = 20) -> list[tuple[str, float]]:
        """The query's highest-weighted vocabulary terms (what SPLADE searches for)."""
        return [
            (term, float(weight)) for term, weight in self.model.decode(self.model.encode_query(text), top_k)
        ]

    def info(self) -> dict[str, Any]:
        info: dict[str, Any] = {**super().info(), "vocab_size": len(self.model.tokenizer)}
        if self.stats.get("queries_encoded"):
            info["active_dims_query"] = round(self.stats["query_terms"] / self.stats["queries_encoded"], 1)
        if "active_dims_doc" in self.stats:
            info["active_dims_doc"] = round(self.stats["active_dims_doc"], 1)
        return info


def mean_active_dims(vectors: list[Vector]) -> float:
    return sum(len(v) for v in vectors if isinstance(v, SparseVector)) / max(len(vectors), 1)
