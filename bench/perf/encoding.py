"""The encoding step: documents/s and queries/s of our adapters beside raw sentence-transformers.

>>> encoding(ctx)       # also fills ctx.documents, the vectors the search steps index
"""

from __future__ import annotations

from typing import Any

from bench.encoders import EncoderRetriever, load_dense, load_sparse
from bench.perf.context import SizeContext
from bench.perf.measure import Measurement
from bench.perf.path_names import (
    ENCODE_CACHED,
    ENCODE_COLD,
    ENCODE_QUERIES,
    ENCODE_RAW_DOCS,
    ENCODE_RAW_QUERIES,
    ENCODERS,
)
from bench.perf.training import vocabulary_encoding


def encoding(ctx: SizeContext) -> None:
    """Documents/s and queries/s: adapter (empty cache, then cached) vs raw sentence-transformers.

    Encoding speed does not depend on the corpus, so the empty-cache and raw rows (minutes
    per model on 2 cores) are timed once, at the first size, on at most `encode_max` documents,
    and queries once. The cached row is timed at every size. The step also fills
    `ctx.documents`, the vectors of the search steps, through the adapter and the persistent
    cache (untimed: a warm cache returns them at once, a cold one encodes them once).
    """
    first_size = not ctx.session.query_vectors.keys() >= set(ENCODERS)
    for name in ENCODERS:
        _encode_with(ctx, name, first_size)


def _encode_with(ctx: SizeContext, name: str, first_size: bool) -> None:
    step, recorder, repeat = f"encoding: {name}", ctx.session.recorder, ctx.options.encode_repeats
    texts, query_texts = ctx.texts, list(ctx.queries.values())
    sample = texts[: ctx.options.encode_max]
    adapter = ctx.adapter(name, cache_dir=ctx.session.cache_dir)
    assert isinstance(adapter, EncoderRetriever)
    raw_options: dict[str, Any] = {"batch_size": ctx.options.batch_size}
    if name == "dense":
        raw_options["convert_to_numpy"] = True
    ctx.documents[name] = adapter.encode_documents(texts)  # untimed preparation, see `encoding`
    if first_size:
        # raw = the stock sentence-transformers model (the adapter's SPLADE pools max-first)
        raw_model = (load_sparse if adapter.kind == "sparse" else load_dense)(adapter.model_name)
        raw_model.max_seq_length = adapter.model.max_seq_length
        for warm in (adapter.model, raw_model):  # warm-up on product text
            warm.encode_document(texts[: ctx.options.batch_size], **raw_options)
        def encode_queries() -> None:  # the search steps search with these vectors
            ctx.session.query_vectors[name] = adapter.encode_queries(query_texts)

        recorder.turn_about(repeat, [
            (Measurement(step, ENCODE_QUERIES, "encode queries", ctx.size, len(query_texts), ours=True),
             encode_queries),
            (Measurement(step, ENCODE_RAW_QUERIES, "encode queries", ctx.size, len(query_texts)),
             lambda: raw_model.encode_query(query_texts, **raw_options)),
        ])
        recorder.turn_about(repeat, [
            (Measurement(step, ENCODE_COLD, "encode documents", len(sample), len(sample), ours=True),
             # a new adapter with an empty cache directory every time
             lambda: ctx.adapter(name, cache_dir=ctx.fresh_dir("encodings")).encode_documents(sample)),  # type: ignore[attr-defined]
            (Measurement(step, ENCODE_RAW_DOCS, "encode documents", len(sample), len(sample)),
             lambda: raw_model.encode_document(sample, **raw_options)),
        ])
        if name == "splade":  # the head of a `bench train --vocabulary data` model
            vocabulary_encoding(ctx, sample, adapter.model.max_seq_length)  # type: ignore[arg-type]  # an int once loaded
    with ctx.measure(step, ENCODE_CACHED, "encode documents", len(texts), ours=True):
        adapter.encode_documents(texts)
