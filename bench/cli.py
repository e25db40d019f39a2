"""`python -m bench ...`: run | list | leaderboard | data | train | explain | perf.

Every failure a user can fix prints one line, `error: ...`, and exits 2; Ctrl-C exits 130
and a rerun resumes from the caches.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import time
from pathlib import Path

from bench import registry
from bench.environment import keep_freed_memory
from bench.errors import BenchError

# Modules that add their own subcommand with `add_command(subparsers)`.
COMMAND_MODULES = ["bench.datasets.cli", "bench.train", "bench.explain", "bench.perf"]


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")  # silence fork warnings of HF tokenizers
    keep_freed_memory()
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "func"):
        parser.print_help()
        return 2
    started = time.perf_counter()
    try:
        code = args.func(args)
    except BenchError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ninterrupted: finished results are kept; rerun the same command to resume", file=sys.stderr)
        return 130
    if args.command in {"run", "train", "perf"}:
        print(f"{args.command} finished in {time.perf_counter() - started:.1f} s")
    return code


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = subparsers.add_parser("run", help="benchmark retrievers on datasets and write the leaderboard")
    run.add_argument("--all", action="store_true", help="every retriever on every present dataset")
    run.add_argument("-r", "--retriever", action="append", default=[], metavar="NAME")
    run.add_argument("-d", "--dataset", action="append", default=[], metavar="NAME")
    run.add_argument("--k", type=int, default=100, help="results per query (default 100)")
    run.add_argument("--limit-queries", type=int, metavar="N", help="seeded sample of N test queries")
    run.add_argument("--model", action="append", default=[], metavar="[RETRIEVER=]MODEL",
                     help="model name or directory for a model-based retriever (repeatable)")
    run.add_argument("--latency-queries", type=int, default=100, metavar="N",
                     help="single-query calls timed for latency p50/p95 (default 100)")
    run.add_argument("--force", action="store_true", help="recompute runs that are already stored")
    run.add_argument("--device", default="cpu", help="cpu or cuda (encoders)")
    run.add_argument("--batch-size", type=int, default=32)
    run.add_argument("--max-seq-length", type=int, default=256, metavar="N",
                     help="tokens per text for every encoder, capped by the model's own limit (default 256)")
    run.add_argument("--trust-remote-code", action="store_true",
                     help="allow a model directory to run its own code (off: a benchmark must not)")
    run.add_argument("--seed", type=int, default=42)
    add_common_options(run)
    run.set_defaults(func=cmd_run)

    listing = subparsers.add_parser("list", help="show retrievers and datasets")
    listing.add_argument("--data-dir", type=Path, help="where dataset folders live (default datasets/)")
    listing.set_defaults(func=cmd_list)

    board = subparsers.add_parser("leaderboard", help="rebuild tables and plots from stored runs")
    board.add_argument("--out", type=Path, default=Path("results"))
    board.set_defaults(func=cmd_leaderboard)

    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).add_command(subparsers)
    return parser


def add_common_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, default=Path("results"), help="results folder")
    parser.add_argument("--cache-dir", type=Path, default=None,
                        help="indexes and encodings (default .cache/bench or $BENCH_CACHE_DIR)")
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="folder holding <dataset>/ folders (default datasets/ or $BENCH_DATA_DIR)")
    parser.add_argument("--qdrant-url", default=None,
                        help="a Qdrant server or cluster instead of embedded Qdrant Edge "
                        "(API key from $QDRANT_API_KEY)")


def cmd_run(args: argparse.Namespace) -> int:
    from bench import report
    from bench.datasets import NAMES
    from bench.runner import RunOptions, record_wall_time, run_benchmark
    from bench.train import cross_domain_models, ensure_default_model

    if not (args.all or args.retriever or args.dataset):
        raise BenchError("say what to run: --all, or -r RETRIEVER and/or -d DATASET (`python -m bench list`)")
    for name in args.dataset:
        if name not in NAMES:
            raise BenchError(f"unknown dataset {name!r}; choose one of: {', '.join(NAMES)}")
    retrievers = args.retriever or default_retrievers()
    options = RunOptions(
        k=args.k, limit_queries=args.limit_queries, seed=args.seed, out=args.out,
        data_dir=args.data_dir, qdrant_url=args.qdrant_url, models=parse_models(args.model, retrievers),
        latency_queries=args.latency_queries, force=args.force, device=args.device,
        batch_size=args.batch_size, max_seq_length=args.max_seq_length,
        trust_remote_code=args.trust_remote_code,
    )
    if args.cache_dir:
        options.cache_dir = args.cache_dir
    started = time.perf_counter()
    trained = []  # fine-tuned models this run had to train first
    for name, trained_on in cross_domain_models().items():
        wanted = name in retrievers and name not in options.models
        if wanted and ensure_default_model(data_dir=args.data_dir, name=name, datasets=trained_on):
            trained.append(name)
    outcomes = run_benchmark(args.dataset or NAMES, retrievers, options)
    report.build(args.out)
    if args.all and outcomes:
        label = record_wall_time(args.out, outcomes, time.perf_counter() - started, trained)
        reused = sum(o.reused for o in outcomes)
        print(f"run --all ({label}): {len(outcomes) - reused} runs computed, {reused} reused, "
              f"models trained first: {', '.join(trained) or 'none'}")
    return 0


def default_retrievers() -> list[str]:
    """Every registered retriever; single-domain fine-tuned ones only when their model exists."""
    from bench.train import DEFAULT_MODEL_NAME, cross_domain_models, default_model_dir, is_complete

    optional = set(cross_domain_models()) - {DEFAULT_MODEL_NAME}
    return [
        name for name in registry.default_names()
        if name not in optional or is_complete(default_model_dir(name))
    ]


def parse_models(values: list[str], retrievers: list[str]) -> dict[str, str]:
    """`--model X` (one model-based retriever selected) or `--model RETRIEVER=X`."""
    from bench.train import cross_domain_models

    model_based_names = {"dense", "splade", *cross_domain_models()}
    models: dict[str, str] = {}
    for value in values:
        name, sep, model = value.partition("=")
        if sep and name in registry.available():
            models[name] = model
            continue
        model_based = [r for r in retrievers if r in model_based_names]
        if len(model_based) != 1:
            raise BenchError(
                f"--model {value}: say which retriever it is for, e.g. --model splade={value}"
            )
        models[model_based[0]] = value
    return models


def cmd_list(args: argparse.Namespace) -> int:
    from bench.datasets import NAMES, missing

    print("retrievers:")
    for name, target in registry.available().items():
        print(f"  {name:<24} {target}")
    print("datasets:")
    for name in NAMES:
        reason = missing(name, args.data_dir)
        print(f"  {name:<24} {'ready' if reason is None else 'missing: ' + reason}")
    return 0


def cmd_leaderboard(args: argparse.Namespace) -> int:
    from bench import report

    report.build(args.out)
    return 0

