"""bench/splade/pooling.py: max-first pooling gives SpladePooling's vectors and gradients exactly.

Real CrowdFlower products (titles and long descriptions, so batches carry padding) and the
offline SPLADE-tiny model.
"""

from __future__ import annotations

import json

import pytest
import torch

from bench.encoders import load_sparse
from bench.splade.pooling import use_max_first_pooling
from bench.training.recipe import splade_loss


@pytest.fixture(scope="module")
def products() -> list[str]:
    from bench.datasets import load

    corpus = load("crowdflower", limit_queries=10).corpus
    texts = sorted((doc.contents for doc in corpus.values()), key=len)
    return texts[:: max(1, len(texts) // 48)][:48]  # short to long: batches mix lengths


def test_encodings_are_identical(products):
    stock, fast = load_sparse(None), use_max_first_pooling(load_sparse(None))
    for model in (stock, fast):
        model.max_seq_length = 128
    expected = stock.encode_document(products, batch_size=16, convert_to_sparse_tensor=False)
    got = fast.encode_document(products, batch_size=16, convert_to_sparse_tensor=False)
    assert (expected > 0).sum(dim=1).min() > 0  # real vectors, not all zeros
    assert torch.equal(got, expected)


def test_training_gradients_are_identical(products):
    queries = [text.split()[0] for text in products[:16]]
    gradients = []
    for model in (load_sparse(None), use_max_first_pooling(load_sparse(None))):
        model.max_seq_length = 64
        model.train()
        torch.manual_seed(0)  # the same dropout masks for both
        features = [model.preprocess(queries), model.preprocess(products[:16])]
        losses = splade_loss(model, 5e-5, 3e-5)(features, None)
        sum(losses.values()).backward()
        gradients.append([p.grad for p in model.parameters() if p.grad is not None])
    assert gradients[0]
    assert all(torch.allclose(a, b, rtol=1e-5, atol=1e-8) for a, b in zip(*gradients, strict=True))


def test_a_saved_model_is_a_stock_sparse_encoder(tmp_path):
    use_max_first_pooling(load_sparse(None)).save(str(tmp_path / "model"))
    modules = json.loads((tmp_path / "model" / "modules.json").read_text())
    assert [m["type"].split(".")[0] for m in modules] == ["sentence_transformers"] * len(modules)
