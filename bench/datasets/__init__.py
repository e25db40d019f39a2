"""Dataset loaders: the publishers' own files, a shop's own folder or a plug-in -> `bench.data.Dataset`.

>>> from bench.datasets import load, missing
>>> missing("wands")            # None when the files are there, else one line saying how to get them
>>> load("homedepot", split="test", limit_queries=200)
Dataset('homedepot', split='test', docs=12052, queries=200, judgments=1325, relevant_grade=4)
>>> load("./my-shop")           # a BEIR folder, a products + judgments table pair, or a dataset.toml

A dataset is named by (`resolve`, in this order): a built-in name; a plug-in name (entry-point
group `bench.datasets`); a folder `<data dir>/<name>/` holding a dataset.toml; or a path to a
folder. The data dir (`data_root`) is `--data-dir`, else `$BENCH_DATA_DIR`, else `./datasets` when
it holds our dataset folders, else the shipped slices (installed with the package, or the
checkout's `datasets/`). The protocol is in `protocol.py` and datasets/README.md.
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from bench.data import Dataset
from bench.datasets.custom import CustomLoader
from bench.datasets.spec import SPEC_FILE, detect
from bench.datasets.protocol import Source, make_split
from bench.errors import BenchError

NAMES = ["esci", "wands", "homedepot", "crowdflower"]
ENTRY_POINT_GROUP = "bench.datasets"
# An installed wheel carries the shipped slices as package data (setup.py copies datasets/ there);
# a checkout reads its own datasets/ folder. Never `<site-packages>/datasets`: Hugging Face's package.
PACKAGE_DATA_DIR = Path(__file__).resolve().parents[1] / "shipped_datasets"
CHECKOUT_DATA_DIR = Path(__file__).resolve().parents[2] / "datasets"


def looks_like_ours(folder: Path) -> bool:
    """A data dir of ours: not a Python package, and holding a built-in or dataset.toml folder."""
    if not folder.is_dir() or (folder / "__init__.py").exists():
        return False
    return any((folder / name).is_dir() for name in NAMES) or any(folder.glob(f"*/{SPEC_FILE}"))


def shipped_data_dir() -> Path:
    """Where the shipped slices are: package data when installed, else the checkout's datasets/."""
    for candidate in (PACKAGE_DATA_DIR, CHECKOUT_DATA_DIR):
        if looks_like_ours(candidate):
            return candidate
    return PACKAGE_DATA_DIR


REPO_DATA_DIR = shipped_data_dir()


def data_root(data_dir: Path | str | None = None) -> Path:
    """The folder holding the `<name>/` dataset folders (see the module docstring for the rule)."""
    if data_dir is not None:
        return Path(data_dir)
    env = os.environ.get("BENCH_DATA_DIR")
    if env:
        return Path(env)
    local = Path.cwd() / "datasets"
    return local if looks_like_ours(local) else shipped_data_dir()


@dataclass(frozen=True)
class Found:
    """A resolved dataset: its results name, its folder, and a loader (`missing(dir)`, `read(dir)`)."""

    name: str
    directory: Path
    loader: Any
    kind: str  # built-in, plug-in, beir, table


def plugins() -> dict[str, Any]:
    """Entry points of the `bench.datasets` group, by name (loaded on use)."""
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def custom_names(data_dir: Path | str | None = None) -> list[str]:
    """Folders under the data dir that describe themselves with a dataset.toml."""
    root = data_root(data_dir)
    if not root.is_dir():
        return []
    return sorted(p.parent.name for p in root.glob(f"*/{SPEC_FILE}") if p.parent.name not in NAMES)


def names(data_dir: Path | str | None = None) -> list[str]:
    """Every dataset `run --all` considers: built-ins, plug-ins, then dataset.toml folders."""
    found = list(NAMES)
    found += [n for n in plugins() if n not in found]
    found += [n for n in custom_names(data_dir) if n not in found]
    return found


def is_path(name: str) -> bool:
    return os.sep in name or "/" in name or name.startswith((".", "~"))


def resolve(name: str, data_dir: Path | str | None = None) -> Found:
    """What `-d NAME` means; one line naming the choices when it means nothing."""
    if name in NAMES:
        return Found(name, data_root(data_dir) / name, importlib.import_module(f"bench.datasets.{name}"),
                     "built-in")
    plugin = plugins().get(name)
    if plugin is not None and not is_path(name):
        try:
            target = plugin.load()
        except Exception as err:  # a third party's import error, reported in one line
            raise BenchError(f"dataset plug-in {name!r} ({plugin.value}) failed to load: {err}") from None
        if not (hasattr(target, "read") and hasattr(target, "missing")):
            raise BenchError(f"dataset plug-in {name!r} ({plugin.value}) has no read(directory) and "
                             "missing(directory); see datasets/README.md, 'Plug-ins'")
        return Found(name, data_root(data_dir) / name, target, "plug-in")
    under_root = data_root(data_dir) / name
    if not is_path(name) and (under_root / SPEC_FILE).is_file():
        return _custom(under_root)
    folder = Path(name).expanduser()
    if folder.is_dir():
        if folder.resolve().name in NAMES and not (folder / SPEC_FILE).is_file():
            builtin = resolve(folder.resolve().name)
            if builtin.loader.missing(folder) is None:  # a built-in's files named by path
                return Found(builtin.name, folder, builtin.loader, "built-in")
        return _custom(folder)
    if is_path(name):
        raise BenchError(f"{name}: no such folder; give a dataset folder (BEIR, products + judgments, "
                         f"or a {SPEC_FILE}) or a name from `python -m bench list`")
    raise BenchError(f"unknown dataset {name!r}; choose one of: {', '.join(names(data_dir))}, "
                     "or give a folder path such as ./my-shop")


def _custom(folder: Path) -> Found:
    spec = detect(folder)
    if spec is None:
        raise BenchError(
            f"{folder}: not a dataset folder; expected a BEIR folder (corpus.jsonl, queries.jsonl, "
            f"qrels/test.tsv), products + judgments files (.csv, .tsv or .parquet), or a {SPEC_FILE}"
        )
    if spec.name in NAMES:
        raise BenchError(f"{folder}: the name {spec.name!r} is a built-in dataset's; set another in "
                         f"{folder / SPEC_FILE}: name = \"my-{spec.name}\"")
    return Found(spec.name, folder, CustomLoader(spec), spec.format)


def loader(name: str) -> Any:
    """The loader of a built-in or plug-in dataset (`missing(directory)`, `read(directory)`)."""
    return resolve(name).loader


def files_dir(name: str, data_dir: Path | str | None = None) -> Path:
    """The folder holding the files of dataset `name` (a built-in's, a plug-in's or a custom folder)."""
    return resolve(name, data_dir).directory


def missing(name: str, data_dir: Path | str | None = None) -> str | None:
    """None when the dataset's files are present, else one line: what is missing, how to get it."""
    found = resolve(name, data_dir)
    return found.loader.missing(found.directory)


def read_source(name: str, data_dir: Path | str | None = None, max_docs: int | None = None) -> Source:
    """Everything a dataset's files hold (all splits), before the protocol picks a split."""
    found = resolve(name, data_dir)
    reason = found.loader.missing(found.directory)
    if reason:
        raise BenchError(reason)
    source = found.loader.read(found.directory)
    source.name = found.name
    if max_docs is not None:
        if max_docs < 1:
            raise BenchError(f"max_docs must be a positive number, not {max_docs}")
        source.fill_to = max_docs
    if source.fill_to is not None and source.max_test_queries is None:
        source.product_ids = sorted(source.product_ids)  # the seeded fill must not depend on file order
    return source


def load(name: str, split: str = "test", data_dir: Path | str | None = None,
         limit_queries: int | None = None, seed: int = 42, max_docs: int | None = None) -> Dataset:
    """One split of one dataset under the protocol (datasets/README.md).

    A split with no queries (the shipped ESCI slice has test queries only) comes back empty,
    with a note saying so; callers that train check `dataset.queries`. `max_docs` samples the
    test corpus to that size (judged products + a seeded fill); custom datasets default to all.
    """
    source = read_source(name, data_dir, max_docs)
    return make_split(source, split, limit_queries=limit_queries, seed=seed)


__all__ = ["NAMES", "data_root", "files_dir", "load", "missing", "names", "read_source", "resolve"]
