"""Command-line options that several subcommands share; imports no command module.

>>> add_common_options(subparsers.add_parser("explain"))   # --out --cache-dir --data-dir --qdrant-url
>>> parse_models(["splade=models/x"], ["splade", "bm25"])
{'splade': 'models/x'}
"""

from __future__ import annotations

import argparse

from bench import registry
from bench.commands.checks import existing_dir, writable_dir
from bench.errors import BenchError
from bench.models import cross_domain_models


def add_common_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=writable_dir, default="results", help="results folder")
    parser.add_argument("--cache-dir", type=writable_dir, default=None,
                        help="indexes and encodings (default .cache/bench or $BENCH_CACHE_DIR)")
    add_data_dir(parser)
    parser.add_argument("--qdrant-url", default=None,
                        help="a Qdrant server or cluster instead of embedded Qdrant Edge "
                        "(API key from $QDRANT_API_KEY)")


def add_data_dir(parser: argparse.ArgumentParser) -> None:
    """--data-dir, one definition for every command that reads datasets."""
    parser.add_argument("--data-dir", type=existing_dir, default=None,
                        help="folder holding <dataset>/ folders (default: $BENCH_DATA_DIR, ./datasets if it "
                        "is ours, then the slices shipped with the package)")


def parse_models(values: list[str], retrievers: list[str]) -> dict[str, str]:
    """`--model X` (one model-based retriever selected) or `--model RETRIEVER=X`."""
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
