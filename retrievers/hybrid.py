"""Hybrid retrieval: two engine adapters in one collection, fused by RRF inside the engine.

>>> retriever = Hybrid("hybrid:splade+dense", Settings(engine=engine))
>>> retriever.index(dataset.corpus)          # one collection, one named vector per component
>>> run = retriever.search(dataset.queries, k=100)

Each query is one engine call: a prefetch of `prefetch_limit` (default 100,
`Settings.options["prefetch_limit"]`) candidates per vector, then reciprocal-rank fusion,
score = sum over components of 1 / (rrf_k + rank), ranks from 1 (ranx's and the paper's
convention; the engine reports `rrf_k`, 60, and converts it for Qdrant). Documents are
encoded by the components themselves, so their encoding caches make a hybrid after its
components almost free.
Components use their default models, or `Settings.options["models"][component]` (`--model`
names one retriever, so it does not reach inside a pair).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from bench import registry
from bench.data import Corpus, Run
from bench.engine import Collection
from bench.errors import BenchError
from bench.retriever import EngineRetriever, Retriever, Settings, hits_to_run, load_points, open_collection

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
        vectors = {component.field.name: component.encode_queries(texts) for component in self.components}
        hits = self.collection.fused_search(vectors, k, prefetch_limit=self.prefetch_limit)
        return hits_to_run(query_ids, hits, self.doc_ids)

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


def parse_components(name: str) -> list[str]:
    """`hybrid:splade+dense` -> ["splade", "dense"]."""
    parts = name.removeprefix("hybrid:").split("+")
    if not name.startswith("hybrid:") or len(parts) != 2 or not all(parts):
        raise BenchError(f"retriever {name!r}: write a hybrid as hybrid:A+B, e.g. hybrid:splade+dense")
    return parts
