"""Qdrant server (or cluster) backend through qdrant-client: the same collections as Qdrant Edge.

>>> engine = ServerEngine("http://localhost:6333")     # API key from $QDRANT_API_KEY, if set
>>> col = engine.collection("bm25-abc", [VectorField("bm25", kind="sparse", idf=True)])
>>> col.search("bm25", [SparseVector([3], [1.0])], k=10)

Collections get the same vector parameters as on Edge (named dense vectors with cosine
or dot, named sparse vectors with Modifier.IDF when `VectorField.idf`). Completion is
recorded in the collection metadata (`bench_complete`: fields and point count) after the
server has finished optimizing; a collection without it, with other fields or another
point count is dropped and rebuilt. Searches go through `query_batch_points` (in chunks of
`QUERY_BATCH` requests, to keep each HTTP body small).

For tests only, `url` may be ":memory:" or a directory path: qdrant-client's local mode,
pure Python, about 2 s per query at real corpus sizes, so never use it for real runs.
Local mode also counts points with an empty sparse vector in the IDF's N (Qdrant itself
does not), so scores differ slightly when some document has no tokens.
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime
from typing import Any

import numpy as np
from qdrant_client import QdrantClient, models

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

QUERY_BATCH = 256
MARKER_KEY = "bench_complete"
OPTIMIZE_TIMEOUT_S = 3600


def connect(url: str) -> tuple[QdrantClient, str]:
    """A client for `url` and the engine kind it gives; the API key never leaves the client."""
    if url.startswith(("http://", "https://")):
        return QdrantClient(url=url, api_key=os.environ.get("QDRANT_API_KEY") or None), "qdrant-server"
    if url == ":memory:":
        return QdrantClient(location=":memory:"), "qdrant-local"
    if "/" in url or url.startswith("."):
        return QdrantClient(path=url), "qdrant-local"
    raise BenchError(
        f"--qdrant-url {url!r} is not a URL: use http(s)://host:6333 "
        "(':memory:' or a directory path select qdrant-client local mode, for tests only)"
    )


class ServerCollection(Collection):
    """One Qdrant collection. Created by `ServerEngine.collection`, not directly."""

    def __init__(self, engine: ServerEngine, name: str, fields: list[VectorField], complete: bool) -> None:
        self.engine = engine
        self.client = engine.client
        self.name = name
        self.fields = {f.name: f for f in fields}
        self.complete = complete

    def upsert(self, ids: list[int], vectors: dict[str, list[Vector]]) -> None:
        check_upsert(self.name, self.fields, ids, vectors)
        points = [
            models.PointStruct(id=point, vector={f: to_qdrant_vector(vecs[i]) for f, vecs in vectors.items()})
            for i, point in enumerate(ids)
        ]
        self.client.upsert(self.name, points=points, wait=True)

    def finish(self) -> None:
        """Wait for the server's optimizers, then record completion in the collection metadata."""
        deadline = time.monotonic() + OPTIMIZE_TIMEOUT_S
        while self.client.get_collection(self.name).status != models.CollectionStatus.GREEN:
            if time.monotonic() > deadline:
                raise BenchError(f"Qdrant collection {self.name!r} is still optimizing after an hour")
            time.sleep(1.0)
        marker = {
            "fields": fields_signature(list(self.fields.values())),
            "points": self.count(),
            "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        self.client.update_collection(self.name, metadata={MARKER_KEY: marker})
        self.complete = True

    def count(self) -> int:
        return self.client.count(self.name, exact=True).count

    def search(self, field: str, queries: list[Vector], k: int) -> list[Hits]:
        check_fields(self.name, self.fields, [field])
        # exact for dense fields, as on Edge: HNSW is approximate and differs from build to build
        # (local mode is always brute force and warns about search params)
        exact = self.fields[field].kind == "dense" and self.engine.kind == "qdrant-server"
        params = models.SearchParams(exact=True) if exact else None
        requests = [
            models.QueryRequest(query=to_qdrant_vector(vec), using=field, limit=k, params=params)
            for vec in queries
        ]
        return self._query_batch(requests)

    def _query_batch(self, requests: list[models.QueryRequest]) -> list[Hits]:
        hits: list[Hits] = []
        for start in range(0, len(requests), QUERY_BATCH):
            responses = self.client.query_batch_points(self.name, requests[start : start + QUERY_BATCH])
            hits.extend([(int(p.id), float(p.score)) for p in r.points] for r in responses)
        return hits


class ServerEngine(Engine):
    """Collections on a Qdrant server at `url` (see the module docstring for local mode)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.client, self.kind = connect(url)
        try:
            self.client.get_collections()
        except Exception as err:
            self.client.close()
            raise BenchError(
                f"cannot reach Qdrant at {url} ({type(err).__name__}); start the server, "
                "check --qdrant-url and $QDRANT_API_KEY"
            ) from None

    def collection(self, name: str, fields: list[VectorField]) -> ServerCollection:
        check_name(name)
        if self._is_complete(name, fields_signature(fields)):
            return ServerCollection(self, name, fields, complete=True)
        if self.client.collection_exists(name):
            self.client.delete_collection(name)
        self.client.create_collection(
            name,
            vectors_config={
                f.name: models.VectorParams(size=f.size, distance=DISTANCES[f.distance])
                for f in fields
                if f.kind == "dense"
            },
            sparse_vectors_config={
                f.name: models.SparseVectorParams(modifier=models.Modifier.IDF if f.idf else None)
                for f in fields
                if f.kind == "sparse"
            },
        )
        return ServerCollection(self, name, fields, complete=False)

    def _is_complete(self, name: str, signature: list[dict[str, Any]]) -> bool:
        if not self.client.collection_exists(name):
            return False
        marker = (self.client.get_collection(name).config.metadata or {}).get(MARKER_KEY) or {}
        return (
            marker.get("fields") == signature
            and marker.get("points") == self.client.count(name, exact=True).count
        )

    def close(self) -> None:
        self.client.close()


DISTANCES = {"cosine": models.Distance.COSINE, "dot": models.Distance.DOT}


def to_qdrant_vector(vector: Vector) -> list[float] | models.SparseVector:
    if isinstance(vector, SparseVector):
        return models.SparseVector(indices=list(vector.indices), values=[float(v) for v in vector.values])
    return np.asarray(vector, dtype=np.float32).tolist()
