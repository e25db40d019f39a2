"""Where vectors live: Qdrant Edge in-process (default) or a Qdrant server through qdrant-client.

Both backends implement the same two small classes, so every adapter runs unchanged on either.

>>> engine = open_engine(url=None, cache_dir=Path(".cache/bench"))     # Qdrant Edge
>>> fields = [VectorField("bm25", kind="sparse", idf=True)]
>>> col = engine.collection("bm25-3f2a...", fields)
>>> if not col.complete:
...     col.upsert(ids=[0, 1], vectors={"bm25": [SparseVector([3, 9], [1.0, 0.5]), ...]})
...     col.finish()                                  # optimize + mark complete
>>> col.search("bm25", [SparseVector([3], [1.0])], k=10)   # -> [[(0, 1.7), ...]]
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Self

import numpy as np


@dataclass(frozen=True)
class SparseVector:
    """Term ids and their weights (same length, ids unique)."""

    indices: list[int]
    values: list[float]

    def __len__(self) -> int:
        return len(self.indices)


Vector = SparseVector | np.ndarray
Hits = list[tuple[int, float]]
"""One query's results: (point id, score), best first."""


@dataclass(frozen=True)
class VectorField:
    """One named vector of a collection.

    kind="dense" needs `size`; distance "cosine" or "dot". kind="sparse" is always dot
    product; `idf=True` asks the engine to weight query terms by corpus IDF (Qdrant's
    IDF modifier), which is how BM25 is computed inside the engine.
    """

    name: str
    kind: Literal["dense", "sparse"]
    size: int = 0
    distance: Literal["cosine", "dot"] = "cosine"
    idf: bool = False


class Collection(ABC):
    """One index: a set of points (integer ids) with one or more named vectors."""

    complete: bool
    """True when a previous run finished loading this collection (safe to reuse)."""

    @abstractmethod
    def upsert(self, ids: list[int], vectors: dict[str, list[Vector]]) -> None: ...

    @abstractmethod
    def finish(self) -> None:
        """Flush, optimize and mark the collection complete."""

    @abstractmethod
    def search(self, field: str, queries: list[Vector], k: int) -> list[Hits]:
        """Nearest points for each query vector on one field, in one batched call."""

    @abstractmethod
    def fused_search(
        self, queries: dict[str, list[Vector]], k: int, prefetch_limit: int = 100
    ) -> list[Hits]:
        """Reciprocal-rank fusion inside the engine: one prefetch per field, then RRF.

        `queries` maps field name -> one vector per query (all lists the same length).
        """

    @abstractmethod
    def count(self) -> int: ...

    def close(self) -> None:  # noqa: B027 - optional for backends with nothing to release
        """Release files or connections."""


class Engine(ABC):
    """Opens collections. `name` is a cache key: same name + same fields = same index."""

    kind: str

    @abstractmethod
    def collection(self, name: str, fields: list[VectorField]) -> Collection: ...

    def close(self) -> None:  # noqa: B027
        """Release every open collection."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_engine(url: str | None, cache_dir: Path) -> Engine:
    """Qdrant Edge under `cache_dir/qdrant-edge` when `url` is None, else a Qdrant server."""
    if url:
        from bench.engine.server import ServerEngine

        return ServerEngine(url)
    from bench.engine.edge import EdgeEngine

    return EdgeEngine(Path(cache_dir) / "qdrant-edge")
