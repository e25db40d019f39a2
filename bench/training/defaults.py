"""What `run --all` trains when a fine-tuned model is missing: CPU-sized, minutes on 2 cores.

>>> ensure_default_model(name="splade-finetuned")   # True if it had to train models/splade-finetuned
>>> cpu_default_config(["homedepot", "crowdflower"], Path("models/splade-doc"), architecture="inference-free")
TrainConfig(datasets=['homedepot', 'crowdflower'], ..., max_pairs=16000, lr=0.0003, ...)  # from splade-ft
"""

from __future__ import annotations

from pathlib import Path

from bench.errors import BenchError
from bench.models import ARCHITECTURES, DEFAULT_MODEL_NAME, default_model_dir, is_complete, partial_dir
from bench.training.config import TrainConfig
from bench.training.trainer import train

# CPU-sized default of `run --all`, chosen on the Home Depot DEV split (docs/fine-tuning.md: the
# experiment table, never a test number): 40,000 pairs, one per train query per pass (every query
# once before any gets a second product), so Home Depot's 7,758 queries dominate and CrowdFlower's
# 184 are not repeated 200 times; texts cut to 32 tokens (Home Depot titles: 19 tokens median, 30
# at p90). 625 steps at batch 64, lr 5e-4 (dev: 0.576 against 0.572 at 3e-4; every pair once
# instead of per query: 0.566). The vocabulary (token embeddings = MLM output layer) stays fixed
# and the head scores the training wordpieces only (`--vocabulary data`): 2.5x the old default's
# 16,000 pairs in about the same wall time (dev: 0.576 against 0.563).
CPU_DEFAULT_PAIRS = 40_000
CPU_DEFAULT_BATCH_SIZE = 64
CPU_DEFAULT_LR = 5e-4
DOC_LR = 3e-4  # splade-doc: 5e-4 was worse on dev (0.551 against 0.553)
CPU_DEFAULT_PAIR_SELECTION = "per-query"
CPU_DEFAULT_MAX_SEQ_LENGTH = 32
CPU_DEFAULT_FREEZE_VOCABULARY = True
# splade-doc, sentence-transformers' inference-free recipe: no query regulariser, a document one 10x
# SPLADE's (3e-4), and the FlopsLoss l0 mask: only documents with more active dims than their 32
# token positions are regularised, so a short title keeps its own words. It starts from
# models/splade-finetuned when that is complete (a transformer that already matches products),
# so fewer pairs do (16,000 of 40,000).
DOC_REG = 3e-4
DOC_REG_THRESHOLD = CPU_DEFAULT_MAX_SEQ_LENGTH
DOC_WARM_PAIRS = 16_000  # dev: 0.560 against 0.553 with 8,000 (docs/fine-tuning.md)
MINUTES = {"splade": "5-7", "inference-free": "1.5-2.5"}  # 2 idle CPU cores: 318-385 s, 96-127 s


def present_datasets(data_dir: Path | None = None) -> list[str]:
    """Datasets whose files are present (training skips those without train queries)."""
    from bench.datasets import NAMES, missing

    return [name for name in NAMES if missing(name, data_dir) is None]


def cpu_default_config(names: list[str], output: Path, data_dir: Path | None = None,
                       architecture: str = "splade") -> TrainConfig:
    config = TrainConfig(datasets=names, output=output, max_pairs=CPU_DEFAULT_PAIRS, lr=CPU_DEFAULT_LR,
                         batch_size=CPU_DEFAULT_BATCH_SIZE, pairs=CPU_DEFAULT_PAIR_SELECTION,
                         max_seq_length=CPU_DEFAULT_MAX_SEQ_LENGTH, architecture=architecture,
                         freeze_vocabulary=CPU_DEFAULT_FREEZE_VOCABULARY, data_dir=data_dir, device="auto")
    if architecture == "inference-free":
        config.lr, config.doc_reg, config.doc_reg_threshold = DOC_LR, DOC_REG, DOC_REG_THRESHOLD
        warm_start = default_model_dir(DEFAULT_MODEL_NAME)
        if is_complete(warm_start):
            config.base, config.max_pairs = str(warm_start), DOC_WARM_PAIRS
    return config


def ensure_default_model(data_dir: Path | None = None, name: str = DEFAULT_MODEL_NAME,
                         datasets: list[str] | None = None) -> bool:
    """Train the model retriever `name` benchmarks (CPU-sized, minutes) if missing; True if it did.

    Default: one multi-domain model on the train splits of all present datasets, so the
    leaderboard has one fine-tuned row that saw every shop (and none of their test queries).
    `splade-doc` (inference-free) starts from `splade-finetuned` when that one is complete.
    """
    output = default_model_dir(name)
    if is_complete(output):
        return False
    names = datasets or present_datasets(data_dir)
    if not names:
        raise BenchError("no dataset is present; `python -m bench list` shows what is missing")
    architecture = ARCHITECTURES.get(name, "splade")
    config = cpu_default_config(names, output, data_dir, architecture)
    config.resume = partial_dir(output).exists()
    print(f"{output} is missing: training it first on the train splits of {', '.join(names)} "
          f"({architecture} from {config.base or 'SPLADE-tiny'}, {config.max_pairs} pairs, "
          f"{CPU_DEFAULT_PAIR_SELECTION}, batch {CPU_DEFAULT_BATCH_SIZE}, 1 epoch, vocabulary frozen; "
          f"about {MINUTES[architecture]} minutes on 2 CPU cores)")
    train(config)
    return True
