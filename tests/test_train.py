"""`bench train` on the shipped Home Depot / CrowdFlower train splits, with SPLADE-tiny (offline)."""

from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from bench.cli import main
from bench.datasets import load, missing
from bench.datasets.protocol import normalise_query
from bench.encoders import default_model_dir
from bench.errors import BenchError
from bench.train import (
    MARKER,
    TrainConfig,
    build_training_data,
    is_complete,
    load_train_splits,
    partial_dir,
    train,
)

SPLITTABLE = [name for name in ("homedepot", "crowdflower") if missing(name) is None]


def tiny_config(output: Path, **overrides) -> TrainConfig:
    """A few steps on a few pairs: enough to move the weights, seconds on CPU."""
    settings = {
        "datasets": ["homedepot"], "output": output, "max_pairs": 64, "max_steps": 3, "batch_size": 16,
        "lr": 1e-4, "device": "cpu", "dev_queries": 10, "dev_distractors": 40,
    }
    return TrainConfig(**{**settings, **overrides})


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    return train(tiny_config(tmp_path_factory.mktemp("train") / "model"))


@pytest.mark.slow
def test_training_writes_a_loadable_model_whose_weights_changed(trained: Path) -> None:
    from sentence_transformers import SparseEncoder

    assert is_complete(trained)
    assert not partial_dir(trained).exists()
    meta = (trained / MARKER).read_text()
    assert '"trained_on": [\n    "homedepot"\n  ]' in meta
    assert (trained / "README.md").read_text().count("homedepot") >= 1
    assert (trained / "train_log.jsonl").read_text().strip()
    assert list(trained.glob("*.safetensors")) and not list(trained.rglob("*.bin"))

    base = load_file(next(default_model_dir("sparse").glob("*.safetensors")))
    tuned = load_file(next(trained.glob("*.safetensors")))
    shared = [name for name in tuned if name in base and base[name].shape == tuned[name].shape]
    assert shared
    assert any(not torch.equal(base[name], tuned[name]) for name in shared)

    model = SparseEncoder(str(trained), device="cpu")
    embedding = model.encode_query(["cordless drill"], convert_to_sparse_tensor=True)
    assert embedding.coalesce()._nnz() > 0
    # trained on 64-token texts, saved with the base's own limit: the benchmark sets the length
    assert model.max_seq_length == SparseEncoder(str(default_model_dir("sparse"))).max_seq_length == 512


@pytest.mark.slow
def test_the_regulariser_lowers_active_dims(tmp_path: Path) -> None:
    # same data, steps and seed; only the FLOPS weights differ (large, so 4 steps show it)
    dense = train(tiny_config(tmp_path / "no-reg", query_reg=0.0, doc_reg=0.0, max_steps=4, lr=5e-4))
    sparse = train(tiny_config(tmp_path / "reg", query_reg=0.5, doc_reg=0.5, max_steps=4, lr=5e-4))
    from bench.io import read_json

    free, regularised = read_json(dense / MARKER)["dev"], read_json(sparse / MARKER)["dev"]
    assert regularised["active_dims_doc"] < free["active_dims_doc"]
    assert regularised["active_dims_query"] <= free["active_dims_query"]


@pytest.mark.parametrize("name", SPLITTABLE)
def test_no_test_query_is_used_for_training(name: str) -> None:
    splits = load_train_splits([name], None, seed=42)
    data = build_training_data(splits, max_pairs=None, seed=42)
    test_queries = {normalise_query(q) for q in load(name, split="test").queries.values()}
    trained_on = {normalise_query(row["query"]) for row in data.rows}
    dev = {normalise_query(q) for q in data.dev_queries.values()}
    assert trained_on and dev
    assert not trained_on & test_queries
    assert not dev & test_queries
    assert not dev & trained_on  # the dev slice is held out of training


def test_pairs_are_capped_evenly_per_dataset() -> None:
    if len(SPLITTABLE) < 2:
        pytest.skip("needs two datasets with a train split")
    data = build_training_data(load_train_splits(SPLITTABLE, None, seed=42), max_pairs=200, seed=42)
    assert data.sources == dict.fromkeys(SPLITTABLE, 100)


@pytest.mark.parametrize("base", ["missing-dir/", "not-a-model"])
def test_a_bad_base_is_one_line_error(base: str, tmp_path: Path, capsys) -> None:
    if base == "not-a-model":  # a directory with a config but no safetensors weights
        folder = tmp_path / "not-a-model"
        folder.mkdir()
        (folder / "config.json").write_text("{}")
        base = str(folder)
    else:
        base = str(tmp_path / base)
    code = main(["train", "--dataset", "homedepot", "--base", base, "--output", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("error: --model") or err.startswith("error: --base")
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists() and not partial_dir(tmp_path / "out").exists()


def test_an_interrupted_run_is_not_a_model(tmp_path: Path) -> None:
    output = tmp_path / "model"
    staging = partial_dir(output)
    (staging / "round-1" / "checkpoints" / "checkpoint-2").mkdir(parents=True)
    (staging / "round-1" / "checkpoints" / "checkpoint-2" / "model.safetensors").write_bytes(b"x")
    assert not is_complete(output) and not is_complete(staging)
    with pytest.raises(BenchError, match="--resume"):
        train(tiny_config(output))

    from bench.retriever import Settings
    from retrievers.splade_finetuned import SpladeFinetuned

    retriever = SpladeFinetuned(Settings(model=None))
    retriever.name = "does-not-exist"
    with pytest.raises(BenchError, match="no trained model"):
        _ = retriever.model_name


@pytest.mark.slow
@pytest.mark.parametrize("miner", ["bm25", "self"])
def test_mined_negatives_are_never_known_positives(miner: str) -> None:
    from bench.encoders import load_sparse
    from bench.train import bm25_negatives, model_negatives, with_negatives

    data = build_training_data(load_train_splits(["homedepot"], None, seed=42), max_pairs=48, seed=42)
    queries = sorted({row["query"] for row in data.rows})
    if miner == "bm25":
        negatives = bm25_negatives(data, queries)
    else:
        negatives = model_negatives(load_sparse(None), data, queries)
    assert negatives
    for query, texts in negatives.items():
        assert 1 <= len(texts) <= 3
        assert not set(texts) & data.known_positives[query]
    triplets = with_negatives(data.rows, negatives)
    assert triplets and all(row["negative"] in negatives[row["query"]] for row in triplets)
