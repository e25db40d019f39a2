"""bench/encoders.py: safe model loading, model identity and the on-disk encoding cache.

Real product titles from the shipped Home Depot slice, the two offline models.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from bench.encoders import (
    EncodingCache,
    dense_rows,
    encode_cached,
    load_dense,
    load_sparse,
    model_identity,
    sparse_rows,
)
from bench.engine import SparseVector
from bench.errors import BenchError
from bench.io import sha256_file


@pytest.fixture(scope="module")
def titles() -> list[str]:
    from bench.datasets import load

    dataset = load("homedepot", limit_queries=20)
    return sorted({doc.title for doc in dataset.corpus.values()})[:300]


@pytest.fixture(scope="module")
def splade():
    return load_sparse(None)


@pytest.fixture(scope="module")
def minilm():
    return load_dense(None)


class Counting:
    """Wraps an encode function and records every batch it receives."""

    def __init__(self, encode):
        self.encode = encode
        self.batches: list[list[str]] = []

    def __call__(self, texts: list[str]):
        self.batches.append(list(texts))
        return self.encode(texts)

    @property
    def encoded(self) -> int:
        return sum(len(batch) for batch in self.batches)


def dot(a: SparseVector, b: SparseVector) -> float:
    weights = dict(zip(a.indices, a.values, strict=True))
    return sum(weights.get(i, 0.0) * v for i, v in zip(b.indices, b.values, strict=True))


def test_sparse_rows_keep_every_weight(splade, titles):
    queries = ["cordless drill 18v", "white vanity 36 inch", "garden hose"]
    query_tensor = splade.encode_query(queries)
    doc_tensor = splade.encode_document(titles[:40])
    expected = splade.similarity(query_tensor, doc_tensor).to_dense().numpy()

    query_vectors, doc_vectors = sparse_rows(query_tensor), sparse_rows(doc_tensor)
    got = np.array([[dot(q, d) for d in doc_vectors] for q in query_vectors])
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)
    assert [len(v) for v in query_vectors] == [int(n) for n in (query_tensor.to_dense() > 0).sum(1)]
    assert all(v.indices == sorted(v.indices) for v in doc_vectors)


def test_sparse_rows_of_an_empty_row():
    rows = sparse_rows(torch.tensor([[0.0, 1.5, 0.0], [0.0, 0.0, 0.0], [2.0, 0.0, 0.5]]).to_sparse())
    assert rows == [SparseVector([1], [1.5]), SparseVector([], []), SparseVector([0, 2], [2.0, 0.5])]


def test_second_run_encodes_nothing_and_keeps_order(minilm, titles, tmp_path):
    cache = EncodingCache(tmp_path / "encodings" / "minilm")
    texts = [*titles, titles[0], titles[5]]  # duplicates are encoded once
    first = Counting(lambda batch: dense_rows(minilm.encode_document(batch)))
    vectors = encode_cached(texts, first, cache, "document", step=64)
    assert first.encoded == len(set(texts))
    lengths = [len(t) for batch in first.batches for t in batch]
    assert lengths == sorted(lengths, reverse=True), "missing texts are encoded longest first"

    direct = minilm.encode_document(texts)
    np.testing.assert_allclose(np.stack(vectors), direct, atol=1e-5)

    again = Counting(first.encode)
    cached = encode_cached(texts, again, EncodingCache(cache.directory), "document")
    assert again.encoded == 0
    np.testing.assert_array_equal(np.stack(cached), np.stack(vectors))

    more = Counting(first.encode)
    encode_cached([*texts, "brand new product title"], more, cache, "document")
    assert more.batches == [["brand new product title"]]


def test_sparse_vectors_round_trip(splade, titles, tmp_path):
    cache = EncodingCache(tmp_path)
    encode = Counting(lambda batch: sparse_rows(splade.encode_document(batch)))
    vectors = encode_cached(titles[:100], encode, cache, "document")
    cached = encode_cached(titles[:100], Counting(encode.encode), cache, "document")
    assert cached == vectors
    assert all(isinstance(v, SparseVector) and len(v) > 0 for v in cached)


@pytest.mark.parametrize("damage", ["truncate", "flip-byte"])
def test_corrupt_shard_is_detected_and_reencoded(minilm, titles, tmp_path, damage):
    cache = EncodingCache(tmp_path)
    encode = Counting(lambda batch: dense_rows(minilm.encode_document(batch)))
    texts = titles[:120]
    encode_cached(texts[:60], encode, cache, "document")  # shard A
    encode_cached(texts, encode, cache, "document")  # shard B: the other 60
    shards = sorted((tmp_path / "document").glob("*.npz"), key=lambda p: p.stat().st_mtime_ns)
    assert len(shards) == 2
    data = bytearray(shards[0].read_bytes())
    if damage == "truncate":
        data = data[: len(data) // 2]
    else:
        data[len(data) // 2] ^= 0xFF
    shards[0].write_bytes(bytes(data))

    again, cache = Counting(encode.encode), EncodingCache(tmp_path)
    vectors = encode_cached(texts, again, cache, "document")
    assert sorted(t for batch in again.batches for t in batch) == sorted(set(texts[:60]))
    assert cache.dropped == [shards[0]]
    np.testing.assert_allclose(np.stack(vectors), minilm.encode_document(texts), atol=1e-5)

    healed = Counting(encode.encode)
    encode_cached(texts, healed, EncodingCache(tmp_path), "document")
    assert healed.encoded == 0


def test_every_encoder_reads_the_same_text_length(tmp_path):
    """`Settings.max_seq_length` caps each model (never above its own limit) and keys its cache."""
    from bench.datasets import load
    from bench.retriever import Settings
    from retrievers.dense import Dense
    from retrievers.splade import Splade

    short = Splade(Settings(cache_dir=tmp_path, max_seq_length=16))
    default = Splade(Settings(cache_dir=tmp_path))
    assert (short.model.max_seq_length, default.model.max_seq_length) == (16, 256)
    assert Dense(Settings(cache_dir=tmp_path, max_seq_length=1000)).model.max_seq_length == 256
    assert short.model_tag != default.model_tag  # other text, other cache and index

    corpus = load("crowdflower", limit_queries=5).corpus
    description = max((doc.contents for doc in corpus.values()), key=len)
    assert short.encode_raw_documents([description]) != default.encode_raw_documents([description])


def test_identity_is_the_weights_hash():
    identity = model_identity(None, "sparse")
    weights = Path(identity["model_path"]) / "model.safetensors"
    assert identity["model_sha256"] == sha256_file(weights)[:16]
    assert model_identity(None, "dense")["model_sha256"] != identity["model_sha256"]


def test_a_saved_model_directory_loads_and_encodes_the_same(splade, tmp_path):
    splade.save(str(tmp_path / "copy"))
    copy = load_sparse(str(tmp_path / "copy"))
    text = ["stainless steel kitchen sink"]
    assert sparse_rows(copy.encode_query(text)) == sparse_rows(splade.encode_query(text))
    assert model_identity(str(tmp_path / "copy"), "sparse")["model"] == str(tmp_path / "copy")


def one_line_error(call, *args) -> str:
    with pytest.raises(BenchError) as caught:
        call(*args)
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_unusable_models_give_one_line_errors(tmp_path):
    garbage = tmp_path / "garbage"
    garbage.mkdir()
    (garbage / "config.json").write_text("{not json")
    (garbage / "model.safetensors").write_bytes(b"\x00garbage")
    message = one_line_error(load_sparse, str(garbage))
    assert str(garbage) in message and "could not be loaded" in message

    pickled = tmp_path / "pickled"
    pickled.mkdir()
    (pickled / "config.json").write_text(json.dumps({"model_type": "bert"}))
    (pickled / "pytorch_model.bin").write_bytes(b"not even a real pickle")
    message = one_line_error(load_dense, str(pickled))
    assert "pytorch_model.bin" in message and ".save(" in message

    empty = tmp_path / "empty"
    empty.mkdir()
    assert "not a sentence-transformers model directory" in one_line_error(load_sparse, str(empty))
    assert "no such directory" in one_line_error(load_dense, str(tmp_path / "absent"))
    assert "HF_HUB_OFFLINE=1" in one_line_error(load_sparse, "nobody/no-such-splade-model")
