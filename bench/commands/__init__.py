"""`python -m bench ...`: run | list | leaderboard | data | train | explain | perf.

>>> parser = build_parser()
>>> args = parser.parse_args(["run", "-d", "esci", "-r", "bm25"])
>>> args.func(args)          # bench.commands.run.cmd_run; bench.cli.main adds exit codes and signals

One module per verb, each with `add_command(subparsers)`: it adds the verb's parser and sets
`func` to its handler. A handler imports the work it needs only when it runs, so `--help` and
`list` stay fast. A new verb is a new module here and its name in `VERBS`.
"""

from __future__ import annotations

import argparse
import importlib

from bench.commands.checks import Parser

VERBS = ["run", "list", "leaderboard", "data", "train", "explain", "perf"]
"""In the order `--help` lists them."""


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="python -m bench", description=__doc__.splitlines()[0])
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for verb in VERBS:
        importlib.import_module(f"bench.commands.{verb}").add_command(subparsers)
    return parser
