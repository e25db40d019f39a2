"""sentence-transformers' pieces of the recipe: the SPLADE loss, the trainer's arguments, the dev evaluator.

>>> loss = splade_loss(model, query_reg=5e-5, doc_reg=3e-5)     # SpladeLoss(SparseMNRL) + FLOPS
>>> args = training_arguments(config, Path("DIR.partial/round-1/checkpoints"), rows=16_000, device="cpu")
>>> SparseEncoderTrainer(model=model, args=args, train_dataset=dataset, loss=loss).train()

Each piece is the library's own class, configured here; the names of some arguments changed
across sentence-transformers 5.x and transformers releases, so they are looked up, not assumed.
"""

from __future__ import annotations

import inspect
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.errors import BenchError
from bench.training.config import TrainConfig
from bench.training.data import TrainingData

if TYPE_CHECKING:
    from sentence_transformers import SparseEncoder

# inference-free: the static query weights start from IDF (values ~1-10) and need a larger step
# than the transformer to move within a few hundred steps
STATIC_LR = 3e-3


def splade_loss(model: SparseEncoder, query_reg: float | None, doc_reg: float,
                doc_threshold: int | None = None):
    """SpladeLoss(SparseMultipleNegativesRankingLoss); the weight names changed across 5.x releases.

    `query_reg=None`: no query regulariser (inference-free: a query has only its own tokens).
    `doc_threshold`: FlopsLoss regularises only documents with more active dims than this."""
    from sentence_transformers.sparse_encoder import losses

    ranking = losses.SparseMultipleNegativesRankingLoss(model)
    params = inspect.signature(losses.SpladeLoss.__init__).parameters
    weights: dict[str, Any]
    if "query_regularizer_weight" in params:
        weights = {"query_regularizer_weight": query_reg, "document_regularizer_weight": doc_reg}
    else:  # sentence-transformers 5.0 pre-releases
        weights = {"lambda_query": query_reg, "lambda_corpus": doc_reg}
    if doc_threshold is not None:
        if "document_regularizer_threshold" not in params:
            raise BenchError("--doc-reg-threshold needs sentence-transformers >= 5.0")
        weights["document_regularizer_threshold"] = doc_threshold
    return losses.SpladeLoss(model, ranking, **weights)


def training_arguments(config: TrainConfig, output_dir: Path, rows: int, device: str, routed: bool = False):
    from sentence_transformers.sparse_encoder import SparseEncoderTrainingArguments

    # the trainer's step count (a last partial batch is a step); a checkpoint halfway for --resume.
    # The dev slice is scored once, after training (bench.training.trainer.dev_metrics): each scoring costs
    # as much as ten training steps on CPU
    steps = config.max_steps or max(1, math.ceil(rows * config.epochs / config.batch_size))
    save_steps = math.ceil(steps / 2)
    fields = {f for f in inspect.signature(SparseEncoderTrainingArguments.__init__).parameters}
    strategy = "eval_strategy" if "eval_strategy" in fields else "evaluation_strategy"  # transformers < 4.41
    kwargs: dict[str, Any] = {
        "output_dir": str(output_dir),
        "num_train_epochs": config.epochs,
        "per_device_train_batch_size": config.batch_size,
        "learning_rate": config.lr,
        "lr_scheduler_type": config.lr_scheduler,
        "warmup_steps": max(1, steps // 10),  # an int is the same in every version
        "batch_sampler": "no_duplicates",
        "seed": config.seed,
        "data_seed": config.seed,
        strategy: "no",
        "save_strategy": "steps",
        "save_steps": save_steps,
        "save_total_limit": 1,
        "logging_steps": max(1, min(50, save_steps)),
        "report_to": "none",
        "use_cpu": device == "cpu",
        "disable_tqdm": False,
    }
    if config.max_steps:
        kwargs["max_steps"] = config.max_steps
    if routed:  # inference-free: query columns go to the static weights, products to SPLADE
        kwargs["router_mapping"] = {"query": "query", "positive": "document", "negative": "document"}
        kwargs["learning_rate_mapping"] = {r"sub_modules\.query\.\d+\.weight": STATIC_LR}
    return SparseEncoderTrainingArguments(**kwargs)


def dev_evaluator(data: TrainingData, batch_size: int):
    from sentence_transformers.sparse_encoder.evaluation import SparseInformationRetrievalEvaluator

    return SparseInformationRetrievalEvaluator(
        queries=data.dev_queries, corpus=data.dev_corpus, relevant_docs=data.dev_relevant,
        batch_size=batch_size, name="dev", write_csv=False, show_progress_bar=False,
    )
