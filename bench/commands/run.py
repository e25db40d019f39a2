"""`python -m bench run`: benchmark retrievers on datasets, then rebuild the leaderboard.

>>> python -m bench run -d esci -r bm25 -r bm25-rank        # two retrievers on one dataset
>>> python -m bench run --all                                # every retriever on every present dataset
>>> python -m bench run -d homedepot -r splade --limit-queries 200 --split dev

`--all` first trains the fine-tuned models it benchmarks when they are missing
(bench.training.ensure_default_model), then runs (bench/runner.py) and writes the leaderboard
(bench/leaderboard/).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from bench import registry
from bench.commands.checks import at_least
from bench.commands.options import add_common_options, parse_models
from bench.errors import BenchError


def add_command(subparsers: argparse._SubParsersAction) -> None:
    run = subparsers.add_parser("run", help="benchmark retrievers on datasets and write the leaderboard")
    run.add_argument("--all", action="store_true", help="every retriever on every present dataset")
    run.add_argument("-r", "--retriever", action="append", default=[], metavar="NAME")
    run.add_argument("-d", "--dataset", action="append", default=[], metavar="NAME")
    run.add_argument("--k", type=at_least(1), default=100, help="results per query (default 100)")
    run.add_argument("--limit-queries", type=at_least(1), metavar="N", help="seeded sample of N test queries")
    run.add_argument("--max-docs", type=at_least(1), metavar="N",
                     help="test corpus of N products: every judged one (never dropped) plus a seeded fill")
    run.add_argument("--model", action="append", default=[], metavar="[RETRIEVER=]MODEL",
                     help="model name or directory for a model-based retriever (repeatable)")
    run.add_argument("--latency-queries", type=at_least(1), default=100, metavar="N",
                     help="single-query calls timed for latency p50/p95 (default 100)")
    run.add_argument("--force", action="store_true", help="recompute runs that are already stored")
    run.add_argument("--device", default="cpu", help="cpu or cuda (encoders)")
    run.add_argument("--batch-size", type=at_least(1), default=32)
    run.add_argument("--max-seq-length", type=at_least(1, 8192), default=256, metavar="N",
                     help="tokens per text for every encoder, capped by the model's own limit (default 256)")
    run.add_argument("--trust-remote-code", action="store_true",
                     help="allow a model directory to run its own code (off: a benchmark must not)")
    run.add_argument("--seed", type=at_least(0), default=42)
    run.add_argument("--split", choices=["test", "dev"], default="test",
                     help="dev: experiments and choices of settings (its own results folder); test: the "
                     "published protocol, scored once per configuration")
    add_common_options(run)
    run.set_defaults(func=cmd_run)


def cmd_run(args: argparse.Namespace) -> int:
    from bench import leaderboard
    from bench.datasets import missing, names
    from bench.models import cross_domain_models
    from bench.runner import RunOptions, record_wall_time, run_benchmark
    from bench.training import ensure_default_model

    if not (args.all or args.retriever or args.dataset):
        raise BenchError("say what to run: --all, or -r RETRIEVER and/or -d DATASET (`python -m bench list`)")
    for name in args.dataset:  # a name or a folder path; an unknown one is a one-line error
        reason = missing(name, args.data_dir)  # named on purpose: an error (--all skips with a note)
        if reason:
            raise BenchError(f"dataset {name} is not ready: {reason}")
    retrievers = args.retriever or default_retrievers()
    options = RunOptions(
        k=args.k, limit_queries=args.limit_queries, max_docs=args.max_docs, seed=args.seed, out=args.out,
        data_dir=args.data_dir, qdrant_url=args.qdrant_url, models=parse_models(args.model, retrievers),
        latency_queries=args.latency_queries, force=args.force, device=args.device,
        batch_size=args.batch_size, max_seq_length=args.max_seq_length,
        trust_remote_code=args.trust_remote_code, split=args.split,
    )
    if args.cache_dir:
        options.cache_dir = args.cache_dir
    cache_was_empty = not any(path.is_file() for path in Path(options.cache_dir).rglob("*"))
    started = time.perf_counter()
    trained = []  # fine-tuned models this run had to train first
    # in this order: splade-doc starts from splade-finetuned once that one is trained
    for name, trained_on in cross_domain_models().items():
        wanted = name in retrievers and name not in options.models
        if wanted and ensure_default_model(data_dir=args.data_dir, name=name, datasets=trained_on):
            trained.append(name)
    outcomes = run_benchmark(args.dataset or names(args.data_dir), retrievers, options)
    leaderboard.build(args.out)
    if args.all and outcomes:
        label = record_wall_time(args.out, outcomes, time.perf_counter() - started, trained, cache_was_empty)
        reused = sum(o.reused for o in outcomes)
        print(f"run --all ({label}): {len(outcomes) - reused} runs computed, {reused} reused, "
              f"models trained first: {', '.join(trained) or 'none'}")
    return 0


def default_retrievers() -> list[str]:
    """Every registered retriever; single-domain fine-tuned ones only when their model exists
    (`run --all` trains splade-finetuned and splade-doc when missing)."""
    from bench.models import RUN_ALL_MODELS, cross_domain_models, default_model_dir, is_complete

    optional = set(cross_domain_models()) - set(RUN_ALL_MODELS)
    return [
        name for name in registry.default_names()
        if name not in optional or is_complete(default_model_dir(name))
    ]
