"""`python -m bench ...`: run | list | leaderboard | data | train | explain | perf.

Every failure a user can fix prints one line, `error: ...`, and exits 2 (a full disk too,
naming the folder and the option that moves it); Ctrl-C exits 130 and SIGTERM 143, keeping
finished work, and a rerun resumes from the caches (after removing temporary files a killed
run left).
"""

from __future__ import annotations

import argparse
import importlib
import os
import shutil
import signal
import sys
import threading
import time
from pathlib import Path

from bench import registry
from bench.checks import Parser, at_least, existing_dir, writable_dir
from bench.environment import keep_freed_memory
from bench.errors import BenchError
from bench.io import NoSpaceError, is_no_space, remove_stale_temps
from bench.options import add_common_options, add_data_dir, parse_models

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
    previous = signal.signal(signal.SIGTERM, _terminate) if _main_thread() else None
    try:
        _remove_stale_temps(args)
        code = args.func(args)
    except NoSpaceError as err:
        print(f"error: {err}: free space there or {_move_hint(err.path, args)}", file=sys.stderr)
        return 2
    except BenchError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as err:
        how = "terminated (SIGTERM)" if isinstance(err, Terminated) else "interrupted"
        print(f"\n{how}: finished results are kept; rerun the same command to resume", file=sys.stderr)
        return 143 if isinstance(err, Terminated) else 130
    except Exception as err:  # a full disk met outside bench.io (a library writing its own files)
        if not is_no_space(err):
            raise
        path = _fullest_folder(args)
        print(f"error: no space left on {path}: free space there or {_move_hint(path, args)}",
              file=sys.stderr)
        return 2
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    if args.command in {"run", "train", "perf"}:
        print(f"{args.command} finished in {time.perf_counter() - started:.1f} s")
    return code


class Terminated(KeyboardInterrupt):
    """SIGTERM (`kill`, a job scheduler, `docker stop`): stop as on Ctrl-C, keeping finished work."""


def _terminate(signum: int, frame: object) -> None:
    raise Terminated


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def _written_folders(args: argparse.Namespace) -> dict[str, Path]:
    """The folders this command writes into, by the option that moves each one."""
    from bench.retriever import default_cache_dir

    folders = {}
    if getattr(args, "out", None):
        folders["--out"] = Path(args.out)
    if hasattr(args, "cache_dir"):
        folders["--cache-dir"] = Path(args.cache_dir or default_cache_dir())
    if getattr(args, "output", None):
        folders["--output"] = Path(args.output)
    return folders


def _remove_stale_temps(args: argparse.Namespace) -> None:
    """Temporary files a killed run left (a SIGKILL cannot clean up) go before new work starts."""
    for folder in _written_folders(args).values():
        if removed := remove_stale_temps(folder):
            print(f"removed {len(removed)} temporary file(s) left by an interrupted run in {folder} "
                  f"(e.g. {removed[0].name})")


def _move_hint(path: Path, args: argparse.Namespace) -> str:
    """'point --out elsewhere' when `path` is in the results folder, and so on."""
    full = Path(path).resolve()
    for option, folder in _written_folders(args).items():
        if full.is_relative_to(folder.resolve()):
            return f"point {option} elsewhere"
    return "point --cache-dir/--out elsewhere"


def _fullest_folder(args: argparse.Namespace) -> Path:
    """Of the folders this command writes into, the one whose disk has the least space left."""
    existing = [f for f in _written_folders(args).values() if f.exists()]
    if not existing:
        return Path.cwd()
    return min(existing, key=lambda folder: shutil.disk_usage(folder).free)


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="python -m bench", description=__doc__.splitlines()[0])
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")

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

    listing = subparsers.add_parser("list", help="show retrievers and datasets")
    add_data_dir(listing)
    listing.set_defaults(func=cmd_list)

    board = subparsers.add_parser(
        "leaderboard", help="rebuild tables, plots and the web page from stored runs",
        description="Write leaderboard.md, .csv, .json, .tex, index.html and plots/ in --out from the runs "
        "stored in --out, or in the --from folders (other machines, other --out folders). A run found in "
        "two folders with the same sha256 is one run; with different run files it is a conflict: each is "
        "named, then it stops, unless --prefer says whose runs win.")
    board.add_argument("--out", type=writable_dir, default="results",
                       help="where the files go (default results/)")
    board.add_argument("--from", dest="sources", action="append", type=existing_dir, metavar="DIR",
                       help="a results folder to read (repeatable); default: --out itself")
    board.add_argument("--prefer", type=existing_dir, metavar="DIR",
                       help="on a conflict keep this --from folder's run (each conflict is still listed)")
    board.add_argument("--format", dest="formats", action="append",
                       choices=["md", "csv", "json", "latex", "html"],
                       help="write only these (repeatable; default all: .md .csv .json .tex index.html)")
    board.add_argument("--screenshot", type=Path, metavar="PNG",
                       help="also save a picture of index.html as headless Chromium draws it")
    board.set_defaults(func=cmd_leaderboard)

    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).add_command(subparsers)
    return parser


def cmd_run(args: argparse.Namespace) -> int:
    from bench import report
    from bench.datasets import missing, names
    from bench.runner import RunOptions, record_wall_time, run_benchmark
    from bench.train import cross_domain_models, ensure_default_model

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
    started = time.perf_counter()
    trained = []  # fine-tuned models this run had to train first
    # in this order: splade-doc starts from splade-finetuned once that one is trained
    for name, trained_on in cross_domain_models().items():
        wanted = name in retrievers and name not in options.models
        if wanted and ensure_default_model(data_dir=args.data_dir, name=name, datasets=trained_on):
            trained.append(name)
    outcomes = run_benchmark(args.dataset or names(args.data_dir), retrievers, options)
    report.build(args.out)
    if args.all and outcomes:
        label = record_wall_time(args.out, outcomes, time.perf_counter() - started, trained)
        reused = sum(o.reused for o in outcomes)
        print(f"run --all ({label}): {len(outcomes) - reused} runs computed, {reused} reused, "
              f"models trained first: {', '.join(trained) or 'none'}")
    return 0


def default_retrievers() -> list[str]:
    """Every registered retriever; single-domain fine-tuned ones only when their model exists
    (`run --all` trains splade-finetuned and splade-doc when missing)."""
    from bench.train import RUN_ALL_MODELS, cross_domain_models, default_model_dir, is_complete

    optional = set(cross_domain_models()) - set(RUN_ALL_MODELS)
    return [
        name for name in registry.default_names()
        if name not in optional or is_complete(default_model_dir(name))
    ]


def cmd_list(args: argparse.Namespace) -> int:
    from bench.datasets import data_root, names, resolve

    print("retrievers:")
    for name, target in registry.available().items():
        print(f"  {name:<24} {target}")
    print(f"datasets ({data_root(args.data_dir)}):")
    for name in names(args.data_dir):
        try:  # a broken plug-in or dataset.toml is listed with its error, not the end of the list
            found = resolve(name, args.data_dir)
            reason = found.loader.missing(found.directory)
        except BenchError as err:
            print(f"  {name:<24} unusable: {err}")
            continue
        kind = "" if found.kind == "built-in" else f" ({found.kind})"
        print(f"  {name:<24} {'ready' if reason is None else 'missing: ' + reason}{kind}")
    return 0


def cmd_leaderboard(args: argparse.Namespace) -> int:
    from bench import page, report

    formats = tuple(args.formats or report.FORMATS)
    report.build(args.out, sources=args.sources, prefer=args.prefer, formats=formats)
    if args.screenshot:
        page.screenshot(args.out / "index.html", args.screenshot)
        print(f"wrote {args.screenshot}")
    return 0

