"""`python -m bench data stats | verify | prepare | download`.

>>> python -m bench data stats homedepot
>>> python -m bench data verify
>>> python -m bench data prepare esci --from /path/to/publisher/files
>>> python -m bench data download wands [--url-base URL]
>>> python -m bench data stats ./my-shop
>>> python -m bench data export homedepot --format beir --out exports/homedepot [--split test --split train]
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from pathlib import Path

from bench.commands.checks import at_least, existing_dir, writable_dir
from bench.commands.options import add_data_dir
from bench.datasets import NAMES, data_root, files_dir, missing, names, read_source
from bench.datasets.protocol import make_split
from bench.errors import BenchError
from bench.io import sha256_file


def add_command(subparsers: argparse._SubParsersAction) -> None:
    data = subparsers.add_parser("data", help="dataset statistics, checksums, slices and downloads")
    commands = data.add_subparsers(dest="data_command", metavar="ACTION", required=True)

    def with_data_dir(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
        add_data_dir(parser)
        return parser

    stats = with_data_dir(commands.add_parser("stats", help="queries, products, judgments, grades per split"))
    stats.add_argument("name", nargs="?", help="a dataset name or folder (default: every dataset)")
    stats.add_argument("--seed", type=at_least(0), default=42)
    stats.add_argument("--max-docs", type=at_least(1), default=None, metavar="N",
                       help="sample the test corpus to N products (custom datasets: default all)")
    stats.set_defaults(func=cmd_stats)

    export = with_data_dir(commands.add_parser("export", help="write a dataset's splits as a BEIR folder"))
    export.add_argument("name", help="a dataset name or folder")
    export.add_argument("--format", choices=["beir"], default="beir")
    export.add_argument("--out", type=writable_dir, required=True, metavar="DIR", help="a new folder")
    export.add_argument("--split", action="append", default=[], metavar="SPLIT",
                        help="test (default), train or dev; repeat for several (the corpus is their union)")
    export.add_argument("--limit-queries", type=at_least(1), default=None, metavar="N")
    export.add_argument("--max-docs", type=at_least(1), default=None, metavar="N")
    export.add_argument("--seed", type=at_least(0), default=42)
    export.set_defaults(func=cmd_export)

    verify = with_data_dir(commands.add_parser("verify", help="check the files against each SHA256SUMS"))
    verify.add_argument("name", nargs="?", choices=NAMES)
    verify.set_defaults(func=cmd_verify)

    prepare = with_data_dir(commands.add_parser("prepare", help="cut the shipped slice from the originals"))
    prepare.add_argument("name", choices=NAMES)
    prepare.add_argument("--from", dest="source", type=existing_dir, required=True, metavar="DIR",
                         help="folder with the publisher's files (for esci: holding harshm-subset/)")
    prepare.set_defaults(func=cmd_prepare)

    download = with_data_dir(commands.add_parser("download", help="fetch the official files (esci, wands)"))
    download.add_argument("name", choices=NAMES)
    download.add_argument("--url-base", default=None, metavar="URL", help="a mirror with the same file names")
    download.set_defaults(func=cmd_download)


def cmd_stats(args: argparse.Namespace) -> int:
    for name in [args.name] if args.name else names(args.data_dir):
        reason = missing(name, args.data_dir)
        if reason:
            print(f"{name}: missing: {reason}")
            continue
        started = time.perf_counter()
        source = read_source(name, args.data_dir, max_docs=args.max_docs)
        read_seconds = time.perf_counter() - started
        for split in source.splits:
            started = time.perf_counter()
            dataset = make_split(source, split, seed=args.seed)
            print(format_stats(dataset, read_seconds + time.perf_counter() - started))
            read_seconds = 0.0
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from bench.datasets.export import export_beir

    started = time.perf_counter()
    source = read_source(args.name, args.data_dir, max_docs=args.max_docs)
    splits = [make_split(source, split, limit_queries=args.limit_queries, seed=args.seed)
              for split in args.split or ["test"]]
    out = export_beir(splits, args.out)
    counts = "; ".join(f"{s.split}: {len(s.queries)} queries, {len(s.corpus)} products" for s in splits)
    print(f"exported {source.name} ({counts}) as BEIR to {out} in {time.perf_counter() - started:.1f} s; "
          f"run it with `python -m bench run -d {out}`")
    return 0


def format_stats(dataset, seconds: float) -> str:
    grades = Counter(g for grades in dataset.qrels.values() for g in grades.values())
    judged = sum(grades.values())
    mean_chars = sum(len(d.contents) for d in dataset.corpus.values()) / max(len(dataset.corpus), 1)
    distribution = ", ".join(f"{g}: {grades[g]}" for g in sorted(grades)) or "-"
    lines = [
        f"{dataset.name} {dataset.split}: {len(dataset.queries)} queries, {len(dataset.corpus)} products, "
        f"{judged} judgments (loaded in {seconds:.1f} s)",
        f"  grades {{{distribution}}}, relevant >= {dataset.relevant_grade}; "
        f"mean product text {mean_chars:.0f} chars",
    ]
    lines += [f"  note: {note}" for note in dataset.notes]
    return "\n".join(lines)


def verify(name: str, data_dir: Path | None = None) -> list[str]:
    """Problems with `name`'s files against its SHA256SUMS (empty list: all good)."""
    from bench.datasets.prepare import CHECKSUMS

    directory = files_dir(name, data_dir)
    sums = directory / CHECKSUMS
    if not sums.is_file():
        return [f"{sums} not found (nothing to verify)"]
    problems = []
    for number, line in enumerate(sums.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        expected, _, file_name = line.partition("  ")
        path = directory / file_name.strip()
        if not path.is_file():
            problems.append(f"{path}: missing (listed in {sums} line {number})")
        elif sha256_file(path) != expected.strip():
            problems.append(f"{path}: sha256 differs from {sums}; restore it with `git checkout -- {path}`")
    return problems


def cmd_verify(args: argparse.Namespace) -> int:
    failed = False
    for name in [args.name] if args.name else NAMES:
        problems = verify(name, args.data_dir)
        failed |= bool(problems)
        print(f"{name}: " + ("ok" if not problems else "; ".join(problems)))
    if failed:
        raise BenchError("some dataset files do not match their SHA256SUMS (see above)")
    return 0


def cmd_prepare(args: argparse.Namespace) -> int:
    from bench.datasets.prepare import prepare

    target = files_dir(args.name, args.data_dir)
    for path in prepare(args.name, args.source, target):
        print(f"wrote {path} ({path.stat().st_size:,} bytes)")
    return 0


def cmd_download(args: argparse.Namespace) -> int:
    from bench.datasets.download import download

    download(args.name, files_dir(args.name, args.data_dir), url_base=args.url_base)
    print(f"{args.name}: {missing(args.name, args.data_dir) or 'ready'} ({data_root(args.data_dir)})")
    return 0
