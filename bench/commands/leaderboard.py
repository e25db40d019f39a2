"""`python -m bench leaderboard`: rebuild the tables, plots and web page from the stored runs.

>>> python -m bench leaderboard                                  # results/ from results/
>>> python -m bench leaderboard --out merged --from laptop --from gpu-box --prefer gpu-box
>>> python -m bench leaderboard --format md --screenshot docs/leaderboard.png
"""

from __future__ import annotations

import argparse
from pathlib import Path

from bench.commands.checks import existing_dir, writable_dir


def add_command(subparsers: argparse._SubParsersAction) -> None:
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


def cmd_leaderboard(args: argparse.Namespace) -> int:
    from bench import leaderboard
    from bench.leaderboard import page

    formats = tuple(args.formats or leaderboard.FORMATS)
    leaderboard.build(args.out, sources=args.sources, prefer=args.prefer, formats=formats)
    if args.screenshot:
        page.screenshot(args.out / "index.html", args.screenshot)
        print(f"wrote {args.screenshot}")
    return 0
