"""bench/splade/vocabulary.py on real Home Depot train texts and the offline SPLADE-tiny model.

A step over the training vocabulary must be the full head's step with the other logits masked;
a model saved by `--vocabulary data` must be a stock SparseEncoder whose vectors the restricted
encoding path reproduces.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from bench.encoders import load_sparse
from bench.splade.inference_free import document_modules, inference_free
from bench.splade.pooling import use_max_first_pooling
from bench.splade.vocabulary import (
    NEVER,
    live_rows,
    output_layer,
    restricted_vocabulary,
    silence_outside,
    training_vocabulary,
    use_live_rows,
)
from bench.training import TrainConfig, train
from bench.training.recipe import splade_loss


@pytest.fixture(scope="module")
def pairs() -> tuple[list[str], list[str]]:
    """16 train queries of Home Depot and, for each, its best graded product's text."""
    from bench.datasets import load

    split = load("homedepot", split="train", limit_queries=16)
    qids = list(split.queries)
    best = [max(sorted(split.relevant(q)), key=lambda d, q=q: split.qrels[q][d]) for q in qids]
    return [split.queries[q] for q in qids], [split.corpus[d].contents for d in best]


@pytest.fixture(scope="module")
def other_products() -> list[str]:
    """Products no training pair above uses: many of their wordpieces are outside its vocabulary."""
    from bench.datasets import load

    corpus = load("homedepot", split="dev", limit_queries=5).corpus
    return sorted(doc.contents for doc in corpus.values())[:40]


def base_model(architecture: str, texts: list[str]):
    model = use_max_first_pooling(load_sparse(None))
    if architecture == "inference-free":
        model = inference_free(model, texts)
    model.max_seq_length = 32
    return model


def step(model, queries: list[str], products: list[str]) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """One training step's loss and gradients (dropout seeded, so every call draws the same masks)."""
    model.train()
    model.zero_grad()
    torch.manual_seed(0)
    routed = {"task": "query"} if "query" in getattr(model[0], "sub_modules", {}) else {}
    features = [model.preprocess(queries, **routed),
                model.preprocess(products, **({"task": "document"} if routed else {}))]
    loss = sum(splade_loss(model, None if routed else 5e-5, 3e-5)(features, None).values())
    loss.backward()
    return loss.detach(), {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}


@pytest.mark.parametrize("architecture", ["splade", "inference-free"])
def test_a_restricted_step_is_the_full_step_with_the_other_logits_masked(pairs, architecture) -> None:
    queries, products = pairs
    model = base_model(architecture, products)
    ids = training_vocabulary(model.tokenizer, [*queries, *products])
    assert 100 < len(ids) < output_layer(model).out_features // 10

    keep = torch.zeros(output_layer(model).out_features, dtype=torch.bool)
    keep[ids] = True
    # the full head, every logit outside `ids` replaced by one that relu turns into 0
    hook = output_layer(model).register_forward_hook(lambda _, __, logits: logits.masked_fill(~keep, NEVER))
    masked_loss, masked_grads = step(model, queries, products)
    hook.remove()
    with restricted_vocabulary(model, ids):
        loss, grads = step(model, queries, products)

    assert loss > 0 and torch.allclose(loss, masked_loss, rtol=1e-5)
    assert grads.keys() == masked_grads.keys() and len(grads) > 10
    for name, grad in grads.items():
        assert torch.allclose(grad, masked_grads[name], rtol=1e-4, atol=1e-7), name
    tied = next(name for name, p in model.named_parameters() if p is output_layer(model).weight)
    assert grads[tied][ids].abs().sum(dim=1).gt(0).float().mean() > 0.9  # the kept rows learn


def test_the_restricted_head_is_stock_again_after_the_block(pairs) -> None:
    queries, products = pairs
    model = base_model("splade", products)
    decoder = output_layer(model)
    ids = training_vocabulary(model.tokenizer, [*queries, *products])
    keys = set(model.state_dict())
    with restricted_vocabulary(model, ids):
        model.eval()
        narrow = model.encode_document(products[:4], convert_to_sparse_tensor=False)
        assert narrow.shape == (4, len(ids))
        assert set(model.state_dict()) == keys  # a checkpoint saved inside the block is a stock file
    assert "forward" not in vars(decoder) and not hasattr(decoder, "kept_rows")
    full = model.encode_document(products[:4], convert_to_sparse_tensor=False)
    assert full.shape == (4, decoder.out_features)
    assert torch.allclose(full[:, ids], narrow, atol=1e-6)
    assert document_modules(model)[-1].embedding_dimension == decoder.out_features


def test_silenced_rows_never_activate_and_the_live_rows_give_stock_vectors(pairs, other_products) -> None:
    queries, products = pairs
    stock = load_sparse(None)
    assert len(live_rows(stock)) == output_layer(stock).out_features  # no row of SPLADE-tiny is dead
    assert use_live_rows(stock) is stock and "forward" not in vars(output_layer(stock))

    ids = training_vocabulary(stock.tokenizer, [*queries, *products])
    outside = silence_outside(stock, ids)
    assert outside == output_layer(stock).out_features - len(ids)
    assert torch.equal(live_rows(stock), ids)  # the bound proves every silenced row dead, and only those
    # the full 30,522-row head, then the live rows only
    expected = stock.encode_document(other_products, convert_to_sparse_tensor=False)
    got = use_live_rows(stock).encode_document(other_products, convert_to_sparse_tensor=False)
    assert got.shape == expected.shape
    assert (expected > 0).sum(dim=1).min() > 0
    assert not expected[:, ~torch.isin(torch.arange(expected.shape[1]), ids)].any()
    assert torch.allclose(got, expected, atol=1e-5)


def test_an_inference_free_query_keeps_only_dimensions_documents_can_have(pairs) -> None:
    queries, products = pairs
    model = base_model("inference-free", products)
    static = model[0].sub_modules["query"][0]
    before = static.weight.detach().clone()
    ids = training_vocabulary(model.tokenizer, [*queries, *products])
    silence_outside(model, ids)
    outside = ~torch.isin(torch.arange(len(before)), ids)
    assert before[outside].abs().sum() > 0 and not static.weight[outside].any()
    assert torch.equal(static.weight[ids], before[ids])


STOCK_ENCODE = """
import json, sys, torch
from sentence_transformers import SparseEncoder
model_dir, texts_file, out = sys.argv[1:]
model = SparseEncoder(model_dir, device="cpu")
model.max_seq_length = 256
texts = json.load(open(texts_file))
torch.save(model.encode_document(texts, convert_to_sparse_tensor=False), out)
ours = {"bench", "retrievers"}
print(json.dumps({"dimension": model.get_embedding_dimension(),
                  "bench_imported": any(name.split(".")[0] in ours for name in sys.modules)}))
"""


@pytest.mark.slow
def test_a_data_vocabulary_model_is_a_stock_sparse_encoder_with_the_same_vectors(
    tmp_path: Path, other_products: list[str]
) -> None:
    from bench.encoders import sparse_rows
    from bench.models import MARKER
    from bench.retriever import Settings
    from retrievers.splade_finetuned import SpladeFinetuned

    trained = train(TrainConfig(datasets=["homedepot"], output=tmp_path / "model", max_pairs=64, max_steps=3,
                                batch_size=16, lr=5e-4, device="cpu", dev_queries=10, dev_distractors=40))
    rows = json.loads((trained / MARKER).read_text())["vocabulary_rows"]
    assert 500 < rows < 30_522 // 2

    # stock sentence-transformers in a fresh interpreter that never imports this package
    (tmp_path / "texts.json").write_text(json.dumps(other_products))
    command = [sys.executable, "-c", STOCK_ENCODE, str(trained), str(tmp_path / "texts.json"),
               str(tmp_path / "stock.pt")]
    done = subprocess.run(command, capture_output=True, text=True, check=True, cwd=tmp_path)
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report == {"dimension": 30_522, "bench_imported": False}
    stock = torch.load(tmp_path / "stock.pt")
    assert stock.shape == (len(other_products), 30_522) and (stock > 0).sum(dim=1).min() > 0
    assert int((stock > 0).any(dim=0).sum()) <= rows  # only rows of the training vocabulary activate

    retriever = SpladeFinetuned(Settings(model=str(trained)))  # the benchmark's path: live rows only
    assert "forward" in vars(output_layer(retriever.model))
    ours = torch.zeros_like(stock)
    for row, vector in enumerate(sparse_rows(retriever.model.encode_document(other_products))):
        ours[row, vector.indices] = torch.tensor(vector.values)
    assert torch.allclose(ours, stock, atol=1e-5)
