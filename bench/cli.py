"""`python -m bench ...` and the `bench` script: parse the command line, run the verb, exit with a code.

>>> main(["run", "-d", "esci", "-r", "bm25"])      # 0; the verbs themselves are in bench/commands/

Every failure a user can fix prints one line, `error: ...`, and exits 2 (a full disk too,
naming the folder and the option that moves it); Ctrl-C exits 130 and SIGTERM 143, keeping
finished work, and a rerun resumes from the caches (after removing temporary files a killed
run left).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import sys
import threading
import time
from pathlib import Path

from bench.commands import build_parser
from bench.environment import keep_freed_memory
from bench.errors import BenchError
from bench.io import NoSpaceError, is_no_space, remove_stale_temps


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
