"""`python -m bench list`: every retriever and where it comes from, every dataset and whether it is ready.

>>> python -m bench list
>>> python -m bench list --data-dir /data/shops        # datasets under another folder
"""

from __future__ import annotations

import argparse

from bench import registry
from bench.commands.options import add_data_dir
from bench.errors import BenchError


def add_command(subparsers: argparse._SubParsersAction) -> None:
    listing = subparsers.add_parser("list", help="show retrievers and datasets")
    add_data_dir(listing)
    listing.set_defaults(func=cmd_list)


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
