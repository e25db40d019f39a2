"""Dataset loaders: the publishers' own files -> `bench.data.Dataset`, under one protocol.

>>> from bench.datasets import load, missing
>>> missing("wands")            # None when the files are there, else one line saying how to get them
>>> load("homedepot", split="test", limit_queries=200)
Dataset('homedepot', split='test', docs=12052, queries=200, judgments=1325, relevant_grade=4)

Each dataset folder is `<data_dir>/<name>/`; data_dir defaults to $BENCH_DATA_DIR, else the
repository's `datasets/` (which ships real slices). The protocol is in `protocol.py` and
datasets/README.md.
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from types import ModuleType

from bench.data import Dataset
from bench.datasets.protocol import make_split
from bench.errors import BenchError

NAMES = ["esci", "wands", "homedepot", "crowdflower"]
REPO_DATA_DIR = Path(__file__).resolve().parents[2] / "datasets"


def data_root(data_dir: Path | str | None = None) -> Path:
    """The folder holding the `<name>/` dataset folders."""
    if data_dir is not None:
        return Path(data_dir)
    env = os.environ.get("BENCH_DATA_DIR")
    return Path(env) if env else REPO_DATA_DIR


def dataset_dir(name: str, data_dir: Path | str | None = None) -> Path:
    return data_root(data_dir) / loader(name).NAME


def loader(name: str) -> ModuleType:
    if name not in NAMES:
        raise BenchError(f"unknown dataset {name!r}; choose one of: {', '.join(NAMES)}")
    return importlib.import_module(f"bench.datasets.{name}")


def missing(name: str, data_dir: Path | str | None = None) -> str | None:
    """None when the dataset's files are present, else one line: what is missing, how to get it."""
    return loader(name).missing(dataset_dir(name, data_dir))


def load(name: str, split: str = "test", data_dir: Path | str | None = None,
         limit_queries: int | None = None, seed: int = 42) -> Dataset:
    """One split of one dataset under the protocol (datasets/README.md).

    A split with no queries (the shipped ESCI slice has test queries only) comes back empty,
    with a note saying so; callers that train check `dataset.queries`.
    """
    reason = missing(name, data_dir)
    if reason:
        raise BenchError(reason)
    source = loader(name).read(dataset_dir(name, data_dir))
    return make_split(source, split, limit_queries=limit_queries, seed=seed)


__all__ = ["NAMES", "data_root", "dataset_dir", "load", "missing"]
