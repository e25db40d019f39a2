"""Hybrid retrieval: any two retrievers, fused by reciprocal-rank fusion.

>>> retriever = Hybrid("hybrid:splade+dense", Settings(engine=engine))
>>> retriever.index(dataset.corpus)          # each component indexes (or reopens) its own index
>>> run = retriever.search(dataset.queries, k=100)

Each component returns its top `prefetch_limit` (default 100, `Settings.options["prefetch_limit"]`)
in the canonical order of `bench.results` (score at the written precision descending, then doc id
descending); then score = sum over components of 1 / (RRF_K + rank), ranks from 1 (ranx's and the
paper's convention, RRF_K = 60). The fusion is done here, not by Qdrant's own RRF query: Qdrant
ranks tied scores inside a prefetch arbitrarily (duplicate products have identical vectors; short
titles tie under BM25), which changes fused scores from one index build to the next.

The components are ordinary adapters, plug-ins included (`hybrid:trigram+bm25`): each keeps its own
index, so a hybrid run after its components' runs finds their indexes and encodings cached.
Components use their default models, or `Settings.options["models"][component]` (`--model` names
one retriever, so it does not reach inside a pair).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from bench import registry
from bench.data import Corpus, Dataset, Run
from bench.errors import BenchError
from bench.results import canonical_run
from bench.retriever import Retriever, Settings

DEFAULT_PREFETCH_LIMIT = 100
RRF_K = 60


class Hybrid(Retriever):
    name = "hybrid"

    def __init__(self, name: str, settings: Settings | None = None) -> None:
        super().__init__(settings)
        self.name = name
        parts = parse_components(name)
        if parts[0] == parts[1]:
            raise BenchError(f"{name}: both components are {parts[0]!r}; fuse two different retrievers")
        self.components = [self._component(part) for part in parts]
        self.tunes_on_dev = any(component.tunes_on_dev for component in self.components)
        self.prefetch_limit = int(self.settings.options.get("prefetch_limit", DEFAULT_PREFETCH_LIMIT))
        self.rrf_k = RRF_K

    def _component(self, part: str) -> Retriever:
        model = self.settings.options.get("models", {}).get(part)
        return registry.create(part, dataclasses.replace(self.settings, model=model))

    def load(self) -> None:
        for component in self.components:
            component.load()

    def tune(self, dev_sets: list[Dataset]) -> None:
        for component in self.components:
            if component.tunes_on_dev:
                component.tune(dev_sets)

    def index(self, corpus: Corpus) -> None:
        for component in self.components:
            component.index(corpus)

    def search(self, queries: dict[str, str], k: int) -> Run:
        rankings = [canonical_run(c.search(queries, self.prefetch_limit), self.prefetch_limit)
                    for c in self.components]
        fused = {qid: rrf([ranking.get(qid, {}) for ranking in rankings], self.rrf_k) for qid in queries}
        return canonical_run(fused, k)

    def info(self) -> dict[str, Any]:
        components = {component.name: component.info() for component in self.components}
        return {
            "fusion": {
                "method": "rrf",
                "components": list(components),
                "rrf_k": self.rrf_k,
                "prefetch_limit": self.prefetch_limit,
            },
            "components": components,
            "index_cached": all(info.get("index_cached") for info in components.values()),
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
