"""The model card (README.md) written into every trained model directory.

>>> print(model_card(meta))       # meta: what bench_model.json records (bench.training.trainer.train)
---
library_name: sentence-transformers
...
"""

from __future__ import annotations

from typing import Any


def model_card(meta: dict[str, Any]) -> str:
    hp = meta["hyperparameters"]
    dev = meta["dev"]
    lines = [
        "---", "library_name: sentence-transformers", "tags: [sparse-encoder, splade, ecommerce]", "---", "",
        f"# SPLADE fine-tuned on {', '.join(meta['trained_on'])}", "",
        f"Trained by `python -m bench train` (ecom-retrieval-bench) from **{meta['base']}**.", "",
        "## Data",
        f"- datasets: {', '.join(meta['trained_on'])}, **train split only** (test queries never seen)",
        f"- (query, positive product) pairs: {meta['pairs']} "
        f"({', '.join(f'{k}: {v}' for k, v in meta['pairs_per_dataset'].items())}); "
        "positives = products graded >= the dataset's relevant grade",
        f"- hard negatives: {meta['hard_negatives']} (rounds: {meta['rounds']})", "",
        "## Training",
        "- SparseEncoderTrainer, SpladeLoss(SparseMultipleNegativesRankingLoss), FLOPS regularisers, "
        "no-duplicates batch sampler",
        f"- epochs {hp['epochs']}, batch {hp['batch_size']}, lr {hp['lr']}, query reg "
        f"{'none (inference-free)' if meta['architecture'] == 'inference-free' else hp['query_reg']}, "
        f"document reg {hp['doc_reg']} (threshold {hp['doc_reg_threshold']}), seed {hp['seed']}, "
        f"{hp['max_seq_length']} tokens per training text (the saved model keeps the base's limit)",
        f"- vocabulary {hp['vocabulary']}: {vocabulary_line(meta['vocabulary_rows'])}",
        f"- device {meta['device']}, {meta['training_seconds']} s, finished {meta['finished_at']}", "",
        "## Dev report (the dev split: held-out train-pool queries, never trained on, never test)",
        *(f"- {name}: {queries} dev queries; {judged} products judged for them + {distractors} other "
          f"products of its dev corpus (seeded sample, seed {hp['seed']})"
          for name, (queries, judged, distractors) in meta["dev_sources"].items()),
        *(f"- {key}: {value}" for key, value in dev.items()), "",
        "Load with `SparseEncoder(\"<this directory>\")`; the training log is `train_log.jsonl`.", "",
    ]
    return "\n".join(lines)


def vocabulary_line(rows: int | None) -> str:
    from bench.splade.vocabulary import NEVER

    if rows is None:
        return "the MLM head was trained over the whole vocabulary"
    return (f"the MLM head was trained over the {rows:,} wordpieces of the training texts; every other "
            f"row's output bias is {NEVER:g}, so it never activates (bench/splade/vocabulary.py)")
