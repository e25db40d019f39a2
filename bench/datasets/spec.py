"""What a shop's own dataset folder says about itself: its format, its files and its grade scale.

>>> spec = detect(Path("my-shop"))      # None when the folder is neither format
>>> spec.format, spec.name
('table', 'my-shop')
>>> settle_grades({0, 1, 2, 3}, spec, Path("my-shop"), default_relevant=2)
(2, 'grades 0-3 (as found); relevant: grade >= 2 (inferred: ...)')

Shared by both custom formats (bench/datasets/beir.py, bench/datasets/shop_tables.py) and read
by `bench.datasets.custom.CustomLoader`, which picks the format's reader.

dataset.toml (every key optional):

    name = "my-shop"              # results/<name>/; default: the folder name
    format = "table"              # "beir" or "table"; default: detected from the files
    products = "products.csv"     # table files (default: products.* and judgments.*,
    judgments = "judgments.csv"   #   .csv / .tsv / .parquet)
    text_columns = ["description", "brand"]   # product text after the title (default: title only)
    encoding = "utf-8"            # CSV/TSV text encoding (default UTF-8, byte-order mark accepted)
    grades = [0, 3]               # the grade scale: lowest and highest (default: as found)
    relevant_grade = 2            # smallest grade that counts as relevant (default: inferred, printed)
    labels = { Exact = 2, Partial = 1, Irrelevant = 0 }   # when the grade column holds words
    max_docs = 10000              # sample the test corpus as the built-ins do (default: every product)
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.errors import BenchError

SPEC_FILE = "dataset.toml"
FORMATS = ("beir", "table")
TABLE_SUFFIXES = (".csv", ".tsv", ".parquet")
SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
KEYS = {"name", "format", "products", "judgments", "text_columns", "encoding", "grades",
        "relevant_grade", "labels", "max_docs", "description"}


@dataclass
class DatasetSpec:
    """What a custom dataset folder holds, from its files and its dataset.toml."""

    name: str
    format: str
    products: str | None = None
    judgments: str | None = None
    text_columns: list[str] = field(default_factory=list)
    encoding: str = "utf-8"
    grades: tuple[int, int] | None = None
    relevant_grade: int | None = None
    labels: dict[str, int] | None = None
    max_docs: int | None = None
    stated: bool = False  # a dataset.toml was read


def read_spec(directory: Path) -> dict[str, Any]:
    """The dataset.toml of `directory` as a checked dict ({} when there is none)."""
    path = directory / SPEC_FILE
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except tomllib.TOMLDecodeError as err:
        raise BenchError(f"{path}: not valid TOML ({err}); see datasets/README.md for an example") from None
    except UnicodeDecodeError:
        raise BenchError(f"{path}: not UTF-8 text; re-save it as UTF-8") from None
    unknown = sorted(set(data) - KEYS)
    if unknown:
        raise BenchError(f"{path}: unknown key(s) {', '.join(unknown)}; "
                         f"known keys: {', '.join(sorted(KEYS))}")
    return data


def detect(directory: Path) -> DatasetSpec | None:
    """The spec of a custom dataset folder, or None when it holds neither format nor a dataset.toml."""
    data = read_spec(directory)
    if not data and not directory.is_dir():
        return None
    path = directory / SPEC_FILE
    kind = data.get("format")
    if kind is None:
        if (directory / "corpus.jsonl").is_file():
            kind = "beir"
        elif table_file(directory, "products", data.get("products")) is not None:
            kind = "table"
        elif data:
            raise BenchError(
                f"{path}: cannot tell the format: no corpus.jsonl (BEIR) and no products.csv/.tsv/.parquet "
                f"(table) in {directory}; add the files or set format = \"beir\" or \"table\""
            )
        else:
            return None
    if kind not in FORMATS:
        raise BenchError(f"{path}: format = {kind!r}; choose \"beir\" or \"table\"")
    name = str(data.get("name", directory.resolve().name))
    if not SAFE_NAME.match(name):
        raise BenchError(f"{path if data else directory}: dataset name {name!r} cannot be a results folder; "
                         "set name = \"my-shop\" (letters, digits, . _ -) in dataset.toml")
    spec = DatasetSpec(name=name, format=kind, stated=bool(data))
    spec.products, spec.judgments = data.get("products"), data.get("judgments")
    spec.text_columns = _strings(data.get("text_columns", []), "text_columns", path)
    spec.encoding = str(data.get("encoding", "utf-8"))
    spec.relevant_grade = _integer(data.get("relevant_grade"), "relevant_grade", path)
    spec.max_docs = _integer(data.get("max_docs"), "max_docs", path)
    if spec.max_docs is not None and spec.max_docs < 1:
        raise BenchError(f"{path}: max_docs = {spec.max_docs}; give a positive number of products")
    if "grades" in data:
        grades = data["grades"]
        if not (isinstance(grades, list) and len(grades) == 2 and all(isinstance(g, int) for g in grades)
                and 0 <= grades[0] < grades[1]):
            raise BenchError(f"{path}: grades = {grades!r}; give the lowest and highest grade, "
                             "e.g. grades = [0, 3]")
        spec.grades = (grades[0], grades[1])
    if "labels" in data:
        labels = data["labels"]
        valid = isinstance(labels, dict) and all(isinstance(v, int) and v >= 0 for v in labels.values())
        if not (valid and labels):
            raise BenchError(f"{path}: labels = {labels!r}; map each label to a grade, e.g. "
                             "labels = { Exact = 2, Partial = 1, Irrelevant = 0 }")
        spec.labels = {str(k): v for k, v in labels.items()}
    return spec


def _strings(value: Any, key: str, path: Path) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
        raise BenchError(f"{path}: {key} = {value!r}; give a list of column names, "
                         f"e.g. {key} = [\"description\"]")
    return value


def _integer(value: Any, key: str, path: Path) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise BenchError(f"{path}: {key} = {value!r}; give a whole number, e.g. {key} = 2")
    return value


def table_file(directory: Path, role: str, stated: str | None) -> Path | None:
    """The products or judgments file: the one dataset.toml names, else `<role>.csv|.tsv|.parquet`."""
    if stated:
        path = directory / stated
        if not path.is_file():
            raise BenchError(f"{directory / SPEC_FILE}: {role} = {stated!r}, but {path} does not exist; "
                             "fix the file name")
        return path
    found = [path for suffix in TABLE_SUFFIXES if (path := directory / f"{role}{suffix}").is_file()]
    if len(found) > 1:
        raise BenchError(f"{directory}: several {role} files ({', '.join(p.name for p in found)}); "
                         f"keep one or name it in {SPEC_FILE}: {role} = \"{found[0].name}\"")
    return found[0] if found else None


def settle_grades(found: set[int], spec: DatasetSpec, where: Path, default_relevant: int) -> tuple[int, str]:
    """The relevant grade and a note stating the scale; an inferred choice is also printed.

    `found`: every grade in the judgments (already checked against `spec.grades` when stated).
    `default_relevant`: the format's convention when dataset.toml does not say (BEIR: 1; tables:
    more than half the top grade, which gives the built-ins' choices: 0-2 -> 2, 0-3 -> 2, 0-6 -> 4).
    """
    low, high = spec.grades or (min(found, default=0), max(found, default=0))
    relevant = spec.relevant_grade
    if relevant is not None:
        if spec.grades and not low < relevant <= high:
            raise BenchError(f"{where / SPEC_FILE}: relevant_grade = {relevant} is outside grades "
                             f"[{low}, {high}]; pick a grade above {low}")
        return relevant, f"grades {low}-{high}; relevant: grade >= {relevant} (dataset.toml)"
    relevant = max(default_relevant, 1)
    origin = "stated" if spec.grades else "as found"
    note = (f"grades {low}-{high} ({origin}); relevant: grade >= {relevant} (inferred: set relevant_grade "
            f"in {where / SPEC_FILE} to change)")
    print(f"{spec.name}: {note}")
    return relevant, note


def grade_gains(found: set[int], labels: dict[str, int] | None = None) -> dict[str, int]:
    """The gains kept with the results: each label of dataset.toml `labels` -> its grade, else each
    grade found -> itself (the files hold the gains)."""
    if labels is not None:
        return dict(labels)
    return {str(grade): grade for grade in sorted(found)}


def check_grade(value: int, spec: DatasetSpec, path: Path, where: str) -> None:
    """A grade outside the stated scale (or negative) is an error naming the line or row."""
    low, high = spec.grades or (0, None)
    if value < low or (high is not None and value > high):
        scale = f"from {low} to {high} (dataset.toml grades)" if high is not None else "0 or more"
        raise BenchError(f"{path}: {where}: grade {value} is outside the scale: grades are {scale}; "
                         "fix the grade or state the scale in dataset.toml: grades = [0, 3]")
