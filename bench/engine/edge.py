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
`finish()` writes last: fields, point count and a manifest of every file of the shard
(size and xxh3-128). A collection is reused only when the marker matches the requested
fields and every file is still there, unchanged, with no extra file, and the shard then
loads with that many points. Anything else (no marker, a crash mid-build, a damaged or
missing file, an engine error on load) is deleted and rebuilt with one line saying why;
a damaged file never reaches the engine, whose reader panics or silently returns other
scores on some damage. Checking the files costs about 0.1 s per 100 MB of shard.

Before each write the engine checks the free space (`INDEX_RESERVE` plus an estimate of
the batch), because Qdrant Edge writes through memory maps: on a full disk the process
would die of SIGBUS. A build that does not fit ends in `NoSpaceError` and its partial
shard is removed; so is any shard left unfinished (interrupt, kill) when the engine
closes or is next opened.

A shard can be open in one process only, so the engine holds `bench.io.exclusive_lock`
on `root_dir` from construction until `close()`.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np
import qdrant_edge as qe

from bench.engine.base import (
    Collection,
    Engine,
    Hits,
    SparseVector,
    Vector,
    VectorField,
    check_fields,
    check_name,
    check_upsert,
    fields_signature,
)
from bench.errors import BenchError
from bench.io import (
    NoSpaceError,
    check_free_space,
    disk_usage,
    exclusive_lock,
    is_no_space,
    manifest,
    manifest_problem,
    read_json,
    write_json,
)

MARKER_SUFFIX = ".complete.json"
INDEX_RESERVE = 8 << 20
"""Free bytes kept beyond each write's estimate: Edge grows its files in steps of a few MB."""
BYTES_PER_POINT = 512
"""Per-point files (id tracker, payload, WAL record headers), measured at about 150 bytes."""


def is_engine_error(err: BaseException) -> bool:
    """An error of the engine: any Exception, or a Rust panic (pyo3's PanicException is a BaseException)."""
    kind = type(err)
    panic = kind.__name__ == "PanicException" and kind.__module__ == "pyo3_runtime"
    return isinstance(err, Exception) or panic


def estimated_bytes(vectors: dict[str, list[Vector]]) -> int:
    """Disk an upsert of `vectors` may take: vector storage and WAL each hold the values, plus per point.

    Measured on the shipped corpora: a finished shard takes 1.4-3.2x the raw vector bytes plus
    about 150 bytes per point; 3x plus 512 bytes leaves a margin.
    """
    raw = sum(len(v) * 8 if isinstance(v, SparseVector) else np.asarray(v).size * 4
              for vecs in vectors.values() for v in vecs)
    points = max((len(vecs) for vecs in vectors.values()), default=0)
    return 3 * raw + BYTES_PER_POINT * points


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

    @property
    def path(self) -> Path:
        return self.engine.root_dir / self.name

    def _shard(self) -> qe.EdgeShard:
        if self.shard is None:
            raise RuntimeError(f"collection {self.name!r} is closed")
        return self.shard

    def upsert(self, ids: list[int], vectors: dict[str, list[Vector]]) -> None:
        check_upsert(self.name, self.fields, ids, vectors)
        points = [
            qe.Point(point_id, {name: to_edge_vector(vecs[i]) for name, vecs in vectors.items()})
            for i, point_id in enumerate(ids)
        ]
        with self._writing(estimated_bytes(vectors)):
            # One point per operation: Edge gives the points of one multi-point upsert internal ids
            # in an order that changes from run to run, and the internal order decides the order in
            # which a sparse search adds up a document's terms in float32, so two builds of the same
            # data scored the same product 1-2 ulp apart and ordered ties differently. One by one,
            # internal ids follow point ids and two builds give byte-identical segments.
            shard = self._shard()
            for point in points:
                shard.update(qe.UpdateOperation.upsert_points([point]))

    def finish(self) -> None:
        """Optimize, then write the marker with the manifest of every file (the last step)."""
        shard = self._shard()
        with self._writing(disk_usage(self.path)):  # optimize may write a whole new segment
            shard.flush()
            shard.optimize()
            shard.flush()
            shard.close()
            # Edge rewrites edge_config.json on the first load: load before taking the manifest
            self.shard = qe.EdgeShard.load(str(self.path))
            write_json(
                self.engine.marker_path(self.name),
                {
                    "name": self.name,
                    "engine": "qdrant-edge",
                    "qdrant_edge_version": version("qdrant-edge-py"),
                    "fields": fields_signature(list(self.fields.values())),
                    "points": self.count(),
                    "files": manifest(self.path),
                    "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
                },
            )
        self.complete = True

    @contextlib.contextmanager
    def _writing(self, needed: int) -> Iterator[None]:
        """Refuse a write the disk cannot hold (a full disk under a memory map is a SIGBUS, not an error).

        A write that fails anyway for lack of space (another process filled the disk) also ends
        in NoSpaceError; either way the partial shard is removed.
        """
        try:
            check_free_space(self.engine.root_dir, needed + INDEX_RESERVE)
            yield
        except BaseException as err:
            if isinstance(err, NoSpaceError) or (is_engine_error(err) and is_no_space(err)):
                self.engine.discard(self.name)
                if isinstance(err, NoSpaceError):
                    raise
                raise NoSpaceError(self.engine.root_dir) from None
            raise

    def count(self) -> int:
        return self._shard().count(qe.CountRequest(exact=True))

    def search(self, field: str, queries: list[Vector], k: int) -> list[Hits]:
        check_fields(self.name, self.fields, [field])
        # Dense fields are searched exactly: HNSW is approximate and its graph differs from one
        # build to the next, so two fresh caches would give different runs (sparse search is exact).
        params = qe.SearchParams(exact=True) if self.fields[field].kind == "dense" else None
        requests = [qe.QueryRequest(limit=k, query=nearest(vec, field), params=params) for vec in queries]
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

    def __init__(self, root_dir: Path) -> None:
        self.root_dir = Path(root_dir)
        self._exit = contextlib.ExitStack()
        self._exit.enter_context(exclusive_lock(self.root_dir, "Qdrant Edge shards"))
        self._open: dict[str, EdgeCollection] = {}
        self._remove_unfinished()

    def _remove_unfinished(self) -> None:
        """Shards without a marker are builds a killed run left; we hold the lock, so none is live."""
        for path in sorted(self.root_dir.iterdir()):
            if path.is_dir() and not self.marker_path(path.name).exists():
                shutil.rmtree(path)
                print(f"  removed unfinished index {path.name} (left by an interrupted run)")

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
        """The finished collection called `name`, or None (after one line saying why) when it
        was never built or cannot be trusted."""
        path = self.root_dir / name
        if not (self.marker_path(name).exists() or path.exists()):
            return None
        marker, reason = self._check_files(name, fields)
        if marker is not None:
            shard = None
            try:  # the files are intact, yet the engine may refuse them (e.g. another Edge version)
                shard = qe.EdgeShard.load(str(path))
                collection = EdgeCollection(self, name, fields, shard, complete=True)
                if (points := collection.count()) == marker["points"]:
                    return collection
                reason = f"it holds {points} points, its marker says {marker['points']}"
            except BaseException as err:
                if not is_engine_error(err):
                    raise
                first_line = (str(err).strip().splitlines() or [""])[0][:160]
                reason = f"Qdrant Edge could not load it ({type(err).__name__}: {first_line})"
            if shard is not None:
                shard.close()
        print(f"  index {name}: {reason}; rebuilding it")
        return None

    def _check_files(self, name: str, fields: list[VectorField]) -> tuple[dict[str, Any] | None, str]:
        """(marker, "") when every file of the shard is as `finish()` recorded it, else (None, why)."""
        marker_path, path = self.marker_path(name), self.root_dir / name
        if not marker_path.is_file():
            return None, "unfinished (no completion marker)"
        if not path.is_dir():
            return None, "its shard folder is missing"
        try:
            marker = read_json(marker_path)
        except (OSError, ValueError):
            return None, "its completion marker is unreadable"
        if not isinstance(marker, dict) or not isinstance(marker.get("files"), dict):
            return None, "its marker has no checksums (built by an older version)"
        if marker.get("fields") != fields_signature(fields):
            return None, "built with other vector settings"
        try:
            problem = manifest_problem(path, marker["files"])
        except (OSError, ValueError, TypeError):
            problem = "its checksum manifest is unreadable"
        return (None, problem) if problem else (marker, "")

    def _create(self, name: str, fields: list[VectorField]) -> qe.EdgeShard:
        """A fresh, empty shard; the marker goes first so a crash never leaves a trusted stub."""
        self._delete(name)
        check_free_space(self.root_dir, INDEX_RESERVE)
        return qe.EdgeShard.create(str(self.root_dir / name), edge_config(fields))

    def _delete(self, name: str) -> None:
        self.marker_path(name).unlink(missing_ok=True)
        if (self.root_dir / name).exists():
            shutil.rmtree(self.root_dir / name)

    def discard(self, name: str) -> None:
        """Close and delete the collection `name` (a partial build that cannot be finished)."""
        if (opened := self._open.get(name)) is not None:
            with contextlib.suppress(Exception):  # a shard on a full disk may fail to close cleanly
                opened.close()
        self.forget(name)
        self._delete(name)

    def forget(self, name: str) -> None:
        self._open.pop(name, None)

    def close(self) -> None:
        """Close every collection; one never finished (an interrupt, an error) is deleted."""
        for collection in list(self._open.values()):
            if collection.complete:
                collection.close()
            else:
                self.discard(collection.name)
        self._exit.close()


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
