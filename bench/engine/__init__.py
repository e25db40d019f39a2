"""Where vectors live: Qdrant Edge in-process (default) or a Qdrant server through qdrant-client.

Both backends implement the same two small classes (bench/engine/base.py), so every adapter
runs unchanged on either.

>>> engine = open_engine(url=None, cache_dir=Path(".cache/bench"))     # Qdrant Edge
>>> fields = [VectorField("bm25", kind="sparse", idf=True)]
>>> col = engine.collection("bm25-3f2a...", fields)
>>> if not col.complete:
...     col.upsert(ids=[0, 1], vectors={"bm25": [SparseVector([3, 9], [1.0, 0.5]), ...]})
...     col.finish()                                  # optimize + mark complete
>>> col.search("bm25", [SparseVector([3], [1.0])], k=10)   # -> [[(0, 1.7), ...]]
"""

from __future__ import annotations

from pathlib import Path

from bench.engine.base import Collection, Engine, Hits, SparseVector, Vector, VectorField

__all__ = ["Collection", "Engine", "Hits", "SparseVector", "Vector", "VectorField", "open_engine"]


def open_engine(url: str | None, cache_dir: Path) -> Engine:
    """Qdrant Edge under `cache_dir/qdrant-edge` when `url` is None, else a Qdrant server."""
    if url:  # imported here: each backend loads its own client library only when chosen
        from bench.engine.server import ServerEngine

        return ServerEngine(url)
    from bench.engine.edge import EdgeEngine

    return EdgeEngine(Path(cache_dir) / "qdrant-edge")
