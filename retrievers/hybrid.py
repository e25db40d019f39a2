"""Hybrid retrieval: two engine adapters in one collection, fused by reciprocal-rank fusion.

>>> retriever = Hybrid("hybrid:splade+dense", Settings(engine=engine))
>>> retriever.index(dataset.corpus)          # one collection, one named vector per component
>>> run = retriever.search(dataset.queries, k=100)

Each component's vector is searched in the engine for its top `prefetch_limit` (default 100,
`Settings.options["prefetch_limit"]`) candidates, ranked by the tie convention of
`bench.results` (score at the written precision descending, then doc id descending); then
score = sum over components of 1 / (rrf_k + rank), ranks from 1 (ranx's and the paper's
convention, rrf_k from the engine: 60). The fusion is done here, not by Qdrant's own RRF
query: Qdrant ranks tied scores inside a prefetch arbitrarily (duplicate products have
identical vectors; short titles tie under BM25), which changes fused scores from one index
build to the next, and orders equal fused scores arbitrarily too. Documents are encoded by
the components themselves, so their encoding caches make a hybrid after its components
almost free.
Components use their default models, or `Settings.options["models"][component]` (`--model`
names one retriever, so it does not reach inside a pair).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from bench import registry
from bench.data import Corpus, Run
from bench.engine import Collection
from bench.engine.edge import DEFAULT_RRF_K
from bench.errors import BenchError
from bench.results import canonical_run
from bench.retriever import (
    EngineRetriever,
    Retriever,
    Settings,
    hits_to_run,
    load_points,
    open_collection,
    search_with_ties,
)

DEFAULT_PREFETCH_LIMIT = 100


class Hybrid(Retriever):
    name = "hybrid"

    def __init__(self, name: str, settings: Settings | None = None) -> None:
        super().__init__(settings)
        self.name = name
        self.components = [self._component(part) for part in parse_components(name)]
        fields = [component.field.name for component in self.components]
        if len(set(fields)) != len(fields):
            raise BenchError(
                f"{name}: both components store the vector {fields[0]!r}; fuse two different ones"
            )
        self.prefetch_limit = int(self.settings.options.get("prefetch_limit", DEFAULT_PREFETCH_LIMIT))
        self.doc_ids: list[str] = []
        self.collection: Collection | None = None
        self.index_cached = False

    def _component(self, part: str) -> EngineRetriever:
        model = self.settings.options.get("models", {}).get(part)
        component = registry.create(part, dataclasses.replace(self.settings, model=model))
        if not isinstance(component, EngineRetriever):
            raise BenchError(
                f"{self.name}: {part!r} keeps its own index, not an engine vector; "
                "a hybrid needs two engine adapters (e.g. bm25, splade, dense)"
            )
        return component

    def index(self, corpus: Corpus) -> None:
        self.doc_ids = sorted(corpus)
        fields = [component.field for component in self.components]
        model_tag = "+".join(component.model_tag for component in self.components)
        self.collection = open_collection(self.settings, self.name, model_tag, corpus, fields)
        self.index_cached = self.collection.complete
        for component in self.components:
            component.doc_ids = self.doc_ids
        if self.collection.complete:
            return
        texts = [corpus[doc_id].contents for doc_id in self.doc_ids]
        load_points(self.collection, {c.field.name: c.encode_documents(texts) for c in self.components})

    def search(self, queries: dict[str, str], k: int) -> Run:
        if self.collection is None:
            raise RuntimeError(f"{self.name}: call index() before search()")
        query_ids = list(queries)
        texts = [queries[qid] for qid in query_ids]
        rankings = []
        for component in self.components:
            vectors = component.encode_queries(texts)
            hits = search_with_ties(self.collection, component.field.name, vectors, self.prefetch_limit)
            rankings.append(canonical_run(hits_to_run(query_ids, hits, self.doc_ids), self.prefetch_limit))
        rrf_k = self.rrf_k if self.rrf_k is not None else DEFAULT_RRF_K
        fused = {qid: rrf([ranking[qid] for ranking in rankings], rrf_k) for qid in query_ids}
        return canonical_run(fused, k)

    @property
    def rrf_k(self) -> int | None:
        """The engine's RRF constant (Qdrant fixes it; the engine backend reports it)."""
        for owner in (self.collection, self.settings.engine):
            if getattr(owner, "rrf_k", None) is not None:
                return int(owner.rrf_k)  # type: ignore[union-attr]
        return None

    def info(self) -> dict[str, Any]:
        return {
            "fusion": {
                "method": "rrf",
                "components": [component.name for component in self.components],
                "rrf_k": self.rrf_k,
                "prefetch_limit": self.prefetch_limit,
            },
            "components": {component.name: component.info() for component in self.components},
            "index_cached": self.index_cached,
        }


def rrf(rankings: list[dict[str, float]], rrf_k: int) -> dict[str, float]:
    """Reciprocal-rank fusion of rankings given best first: doc id -> sum of 1 / (rrf_k + rank)."""
    fused: dict[str, float] = {}
    for ranking in rankings:
        for rank, doc_id in enumerate(ranking, start=1):
            fused[doc_id] = fused.get(doc_id, 0.0) + 1.0 / (rrf_k + rank)
    return fused


def parse_components(name: str) -> list[str]:
    """`hybrid:splade+dense` -> ["splade", "dense"]."""
    parts = name.removeprefix("hybrid:").split("+")
    if not name.startswith("hybrid:") or len(parts) != 2 or not all(parts):
        raise BenchError(f"retriever {name!r}: write a hybrid as hybrid:A+B, e.g. hybrid:splade+dense")
    return parts
