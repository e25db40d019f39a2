"""What every engine backend shares: vectors, fields, the two abstract classes and their input checks.

>>> field = VectorField("bm25", kind="sparse", idf=True)
>>> fields_signature([field])          # stored in a completion marker, compared on reuse
[{'name': 'bm25', 'kind': 'sparse', 'size': 0, 'distance': 'cosine', 'idf': True}]
>>> check_name("../escape")            # BenchError: a collection name becomes a directory name

Qdrant Edge (bench/engine/edge.py) and the Qdrant server (bench/engine/server.py) implement
`Engine` and `Collection`; an adapter sees only these classes, so it runs unchanged on either.
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Self

import numpy as np

from bench.errors import BenchError


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


# ---------------------------------------------------------------- checks both backends run


def fields_signature(fields: Sequence[VectorField]) -> list[dict[str, Any]]:
    """JSON form of the fields, stored in the completion marker and compared on reuse."""
    return [dataclasses.asdict(f) for f in sorted(fields, key=lambda f: f.name)]


def check_name(name: str) -> None:
    """Collection names become directory names: refuse anything that could escape root_dir."""
    if not name or name.startswith(".") or "/" in name or "\\" in name:
        raise BenchError(f"invalid collection name {name!r}: use letters, digits, '-' and '_' only")


def check_fields(collection: str, fields: dict[str, VectorField], names: Iterable[str]) -> None:
    for name in names:
        if name not in fields:
            raise BenchError(f"collection {collection!r} has no vector {name!r}; it has {sorted(fields)}")


def check_upsert(
    collection: str, fields: dict[str, VectorField], ids: list[int], vectors: dict[str, list[Vector]]
) -> None:
    check_fields(collection, fields, vectors)
    for name, vecs in vectors.items():
        if len(vecs) != len(ids):
            raise ValueError(f"{len(ids)} ids but {len(vecs)} {name!r} vectors")
