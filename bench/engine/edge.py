"""Qdrant Edge backend: one in-process shard directory per collection, no server.

>>> engine = EdgeEngine(Path(".cache/bench/qdrant-edge"))   # holds the directory lock
>>> col = engine.collection("bm25-abc", [VectorField("bm25", kind="sparse", idf=True)])
>>> if not col.complete:
...     col.upsert([0, 1], {"bm25": [SparseVector([3], [1.0]), SparseVector([9], [0.5])]})
...     col.finish()
>>> col.search("bm25", [SparseVector([3], [1.0])], k=10)
[[(0, 0.69...)]]                         # IDF-weighted dot product
>>> engine.close()

Layout under `root_dir`: `<name>/` is the Edge shard, `<name>.complete.json` the marker
`finish()` writes last: fields, point count and one probe per field (the first vector
loaded, with the scores of its top hits). A collection is reused only when the marker
matches the requested fields, the shard loads with that many points and every probe
gives the same scores again; anything else (no marker, a crash mid-load, damaged files)
is deleted and rebuilt, never trusted.

A shard can be open in one process only, so the engine holds `bench.io.exclusive_lock`
on `root_dir` from construction until `close()`.

RRF: Qdrant scores a fused point `sum 1 / (k_qdrant + rank)` with rank counted from 0
(Edge needs k_qdrant explicitly; a Qdrant server defaults to 2). `rrf_k` is the constant
of the usual formula `sum 1 / (rrf_k + rank)` with ranks from 1 (Cormack et al., ranx
`fuse(method="rrf")`), so the engine passes `k_qdrant = rrf_k + 1` and ranx with
`params={"k": engine.rrf_k}` gives the same scores.
"""

from __future__ import annotations

import contextlib
import dataclasses
import shutil
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np
import qdrant_edge as qe

from bench.engine import Collection, Engine, Hits, SparseVector, Vector, VectorField
from bench.errors import BenchError
from bench.io import exclusive_lock, read_json, write_json

DEFAULT_RRF_K = 60
"""RRF constant with ranks counted from 1 (the paper's and ranx's default)."""

MARKER_SUFFIX = ".complete.json"
PROBE_K = 10


def fields_signature(fields: Sequence[VectorField]) -> list[dict[str, Any]]:
    """JSON form of the fields, stored in the completion marker and compared on reuse."""
    return [dataclasses.asdict(f) for f in sorted(fields, key=lambda f: f.name)]


def check_name(name: str) -> None:
    """Collection names become directory names: refuse anything that could escape root_dir."""
    if not name or name.startswith(".") or "/" in name or "\\" in name:
        raise BenchError(f"invalid collection name {name!r}: use letters, digits, '-' and '_' only")


def check_rrf_k(rrf_k: int) -> None:
    if rrf_k < 0:
        raise BenchError(f"rrf_k={rrf_k} is invalid: the RRF constant must be >= 0 (60 is usual)")


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


def fused_query_count(
    collection: str, fields: dict[str, VectorField], queries: dict[str, list[Vector]]
) -> int:
    """How many user queries `fused_search` got (every field must have one vector per query)."""
    check_fields(collection, fields, queries)
    counts = {len(vecs) for vecs in queries.values()}
    if len(counts) != 1:
        raise ValueError(f"fused_search needs one vector per query on every field, got {counts}")
    return counts.pop()


class EdgeCollection(Collection):
    """One Edge shard. Created by `EdgeEngine.collection`, not directly."""

    def __init__(
        self, engine: EdgeEngine, name: str, fields: list[VectorField], shard: qe.EdgeShard, complete: bool
    ) -> None:
        self.engine = engine
        self.name = name
        self.fields = {f.name: f for f in fields}
        self.shard: qe.EdgeShard | None = shard
        self.complete = complete
        self.probes: dict[str, Vector] = {}
        """The first vector loaded per field, searched again before the shard is reused."""

    @property
    def path(self) -> Path:
        return self.engine.root_dir / self.name

    def _shard(self) -> qe.EdgeShard:
        if self.shard is None:
            raise RuntimeError(f"collection {self.name!r} is closed")
        return self.shard

    def upsert(self, ids: list[int], vectors: dict[str, list[Vector]]) -> None:
        check_upsert(self.name, self.fields, ids, vectors)
        for name, vecs in vectors.items():
            if name not in self.probes and len(vecs) and len(vecs[0]):
                self.probes[name] = vecs[0]
        points = [
            qe.Point(point_id, {name: to_edge_vector(vecs[i]) for name, vecs in vectors.items()})
            for i, point_id in enumerate(ids)
        ]
        self._shard().update(qe.UpdateOperation.upsert_points(points))

    def finish(self) -> None:
        shard = self._shard()
        shard.flush()
        shard.optimize()
        shard.flush()
        write_json(
            self.engine.marker_path(self.name),
            {
                "name": self.name,
                "engine": "qdrant-edge",
                "qdrant_edge_version": version("qdrant-edge-py"),
                "fields": fields_signature(list(self.fields.values())),
                "points": self.count(),
                "probes": [
                    {"field": name, "vector": vector_to_json(vec), "scores": self.probe_scores(name, vec)}
                    for name, vec in self.probes.items()
                ],
                "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
            },
        )
        self.complete = True

    def probe_scores(self, field: str, vector: Vector) -> list[float]:
        return [score for _, score in self.search(field, [vector], PROBE_K)[0]]

    def matches(self, marker: dict[str, Any]) -> bool:
        """Whether this shard still holds what `marker` recorded (point count and probe scores)."""
        if self.count() != marker.get("points"):
            return False
        for probe in marker.get("probes", []):
            scores = self.probe_scores(probe["field"], vector_from_json(probe["vector"]))
            expected = probe["scores"]
            if len(scores) != len(expected) or not np.allclose(scores, expected, rtol=1e-4, atol=1e-6):
                return False
        return True

    def count(self) -> int:
        return self._shard().count(qe.CountRequest(exact=True))

    def search(self, field: str, queries: list[Vector], k: int) -> list[Hits]:
        check_fields(self.name, self.fields, [field])
        requests = [qe.QueryRequest(limit=k, query=nearest(vec, field)) for vec in queries]
        return self._query_batch(requests)

    def fused_search(self, queries: dict[str, list[Vector]], k: int, prefetch_limit: int = 100) -> list[Hits]:
        total = fused_query_count(self.name, self.fields, queries)
        fusion = qe.Fusion.Rrf(k=self.engine.rrf_k + 1)  # Qdrant counts ranks from 0, see module doc
        requests = [
            qe.QueryRequest(
                limit=k,
                prefetches=[
                    qe.Prefetch(limit=prefetch_limit, query=nearest(vecs[i], name))
                    for name, vecs in queries.items()
                ],
                query=fusion,
            )
            for i in range(total)
        ]
        return self._query_batch(requests)

    def _query_batch(self, requests: list[qe.QueryRequest]) -> list[Hits]:
        if not requests:
            return []
        results = self._shard().query_batch(qe.QueryBatchRequest(requests))
        return [[(int(p.id), float(p.score)) for p in points] for points in results]

    def close(self) -> None:
        if self.shard is not None:
            self.shard.close()
            self.shard = None
        self.engine.forget(self.name)


class EdgeEngine(Engine):
    """Qdrant Edge shards under `root_dir` (one directory per collection name)."""

    kind = "qdrant-edge"

    def __init__(self, root_dir: Path, rrf_k: int = DEFAULT_RRF_K) -> None:
        check_rrf_k(rrf_k)
        self.root_dir = Path(root_dir)
        self.rrf_k = rrf_k
        self._exit = contextlib.ExitStack()
        self._exit.enter_context(exclusive_lock(self.root_dir, "Qdrant Edge shards"))
        self._open: dict[str, EdgeCollection] = {}

    def marker_path(self, name: str) -> Path:
        return self.root_dir / f"{name}{MARKER_SUFFIX}"

    def collection(self, name: str, fields: list[VectorField]) -> EdgeCollection:
        check_name(name)
        opened = self._open.get(name)
        if opened is not None:
            # A shard can be loaded once per process: hand out the same object (e.g. to a hybrid).
            if fields_signature(list(opened.fields.values())) == fields_signature(fields):
                return opened
            opened.close()
        collection = self._reuse(name, fields)
        if collection is None:
            collection = EdgeCollection(self, name, fields, self._create(name, fields), complete=False)
        self._open[name] = collection
        return collection

    def _reuse(self, name: str, fields: list[VectorField]) -> EdgeCollection | None:
        """The finished collection called `name`, or None when it is missing, stale or damaged."""
        marker_path, path = self.marker_path(name), self.root_dir / name
        if not (marker_path.is_file() and path.is_dir()):
            return None
        collection = None
        try:
            marker = read_json(marker_path)
            if marker.get("fields") != fields_signature(fields):
                return None
            collection = EdgeCollection(self, name, fields, qe.EdgeShard.load(str(path)), complete=True)
            if collection.matches(marker):
                return collection
        except BaseException as err:  # damaged files: rebuild (Rust panics are BaseExceptions)
            if not (isinstance(err, Exception) or type(err).__name__ == "PanicException"):
                raise
        if collection is not None and collection.shard is not None:
            collection.shard.close()
        return None

    def _create(self, name: str, fields: list[VectorField]) -> qe.EdgeShard:
        """A fresh, empty shard; the marker goes first so a crash never leaves a trusted stub."""
        path = self.root_dir / name
        self.marker_path(name).unlink(missing_ok=True)
        if path.exists():
            shutil.rmtree(path)
        return qe.EdgeShard.create(str(path), edge_config(fields))

    def forget(self, name: str) -> None:
        self._open.pop(name, None)

    def close(self) -> None:
        for collection in list(self._open.values()):
            collection.close()
        self._exit.close()

    def __enter__(self) -> EdgeEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def edge_config(fields: list[VectorField]) -> qe.EdgeConfig:
    dense, sparse = {}, {}
    for f in fields:
        if f.kind == "dense":
            if f.size <= 0:
                raise BenchError(f"dense vector {f.name!r} needs size > 0")
            distance = {"cosine": qe.Distance.Cosine, "dot": qe.Distance.Dot}[f.distance]
            dense[f.name] = qe.EdgeVectorParams(size=f.size, distance=distance)
        else:
            modifier = qe.Modifier.Idf if f.idf else None
            sparse[f.name] = qe.EdgeSparseVectorParams(modifier=modifier)
    return qe.EdgeConfig(vectors=dense or None, sparse_vectors=sparse or None)


def nearest(vector: Vector, field: str) -> qe.Query:
    return qe.Query.Nearest(to_edge_vector(vector), using=field)


def to_edge_vector(vector: Vector) -> list[float] | qe.SparseVector:
    if isinstance(vector, SparseVector):
        return qe.SparseVector(list(vector.indices), [float(v) for v in vector.values])
    return np.asarray(vector, dtype=np.float32).tolist()


def vector_to_json(vector: Vector) -> dict[str, list[Any]] | list[float]:
    if isinstance(vector, SparseVector):
        return {"indices": list(vector.indices), "values": [float(v) for v in vector.values]}
    return np.asarray(vector, dtype=np.float32).tolist()


def vector_from_json(data: dict[str, list[Any]] | list[float]) -> Vector:
    if isinstance(data, dict):
        return SparseVector(data["indices"], data["values"])
    return np.asarray(data, dtype=np.float32)
