"""The measured steps, in order: each runs our path and what a user would pick instead, on one corpus size.

>>> session = Session(workload, Recorder(), options, cache_dir=Path(".cache/bench"))
>>> ctx = SizeContext(session, size=1000)
>>> for step in STEPS:
...     step(ctx)                 # appends Measurement records to session.recorder

Steps run in `STEPS` order for each size. `encoding` gets the document vectors through our
adapters and the persistent encoding cache, and encodes the queries once, so the search
steps index from that cache (no model time in their index numbers) and search with
pre-encoded query vectors (search alone is timed). Every engine path gets its own new
Qdrant Edge directory, closed at the end of the step. Alternatives are timed up to their
natural output (arrays, ScoredPoints); our adapters up to the Run dict they return.
"""

from __future__ import annotations

from collections.abc import Callable

from bench.perf.context import SizeContext
from bench.perf.encoding import encoding
from bench.perf.lexical import bm25
from bench.perf.search import dense_search, hybrid, sparse_search
from bench.perf.training import training_step

STEPS: list[Callable[[SizeContext], None]] = [
    encoding, training_step, sparse_search, dense_search, hybrid, bm25,
]
