"""Checked readers for the publishers' files: every problem is one `BenchError` line naming the file.

>>> rows = read_csv(Path("datasets/homedepot/train.csv.zip"), ["id", "search_term"], encoding="latin-1")

A `.zip` path is read through its single CSV member (Kaggle ships `train.csv.zip`). All CSV
cells are read as strings (empty cell -> ""), so ids never turn into floats; numeric columns
are converted with `numbers()`, which names the first bad row.
"""

from __future__ import annotations

import contextlib
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from bench.errors import BenchError

SEPARATOR_NAMES = {",": "comma", "\t": "TAB", ";": "semicolon", "|": "pipe"}


def kaggle_steps(competition: str) -> str:
    """How to fetch a Kaggle competition's train.csv.zip (no public URL: an account is needed)."""
    return (
        f"accept the rules at https://www.kaggle.com/competitions/{competition}, then "
        f"`kaggle competitions download -c {competition} -f train.csv.zip` into that folder"
    )


def missing_train_csv(directory: Path, how_to_get: str) -> str | None:
    """The `missing()` of a dataset whose only required file is train.csv(.zip)."""
    if find_file(directory, "train.csv") is None:
        return f"{directory}/train.csv(.zip) not found; {how_to_get}"
    return None


def find_file(directory: Path, name: str) -> Path | None:
    """`name` or `name.zip` inside `directory`, whichever exists (plain file first)."""
    for candidate in (directory / name, directory / f"{name}.zip"):
        if candidate.is_file():
            return candidate
    return None


@contextlib.contextmanager
def _open_csv(path: Path) -> Iterator[IO[bytes]]:
    if path.suffix != ".zip":
        with open(path, "rb") as handle:
            yield handle
        return
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as err:
        raise BenchError(f"{path}: not a readable zip ({err}); it is truncated: fetch it again") from None
    with archive:
        members = [m for m in archive.namelist() if m.endswith(".csv") and not m.startswith("__MACOSX")]
        if len(members) != 1:
            raise BenchError(f"{path}: expected one .csv inside the zip, found {members or 'none'}")
        try:
            with archive.open(members[0]) as handle:
                yield handle
        except (zipfile.BadZipFile, EOFError, OSError, zlib.error) as err:
            raise BenchError(f"{path}: damaged zip ({err}); fetch it again") from None


def read_csv(path: Path, columns: list[str], *, sep: str = ",", encoding: str = "utf-8") -> pd.DataFrame:
    """Read `path` with the publisher's header; fail with one line on any format problem."""
    try:
        with _open_csv(path) as handle:
            frame = pd.read_csv(handle, sep=sep, encoding=encoding, dtype=str, keep_default_na=False,
                                na_filter=False)
    except UnicodeDecodeError as err:
        raise BenchError(
            f"{path}: not {encoding} text (bad byte at offset {err.start}); re-save it as {encoding} "
            "or fetch the original file again"
        ) from None
    except pd.errors.EmptyDataError:
        raise BenchError(f"{path}: the file is empty; fetch it again") from None
    except pd.errors.ParserError as err:
        detail = str(err).strip().splitlines()[-1]
        raise BenchError(f"{path}: cannot parse ({detail}); truncated or damaged: fetch it again") from None
    check_columns(frame, columns, path, sep)
    return frame


def check_columns(frame: pd.DataFrame, columns: list[str], path: Path, sep: str = ",") -> None:
    absent = [name for name in columns if name not in frame.columns]
    if not absent:
        return
    found = [str(c) for c in frame.columns]
    if len(found) == 1:
        for other, other_name in SEPARATOR_NAMES.items():
            if other != sep and other in found[0]:
                raise BenchError(
                    f"{path}: looks {other_name}-separated but the publisher's file is "
                    f"{SEPARATOR_NAMES[sep]}-separated; use the original file"
                )
    raise BenchError(
        f"{path}: missing column(s) {', '.join(absent)} (found: {', '.join(found)}); "
        f"the loader needs the publisher's header: {', '.join(columns)}"
    )


def read_parquet(path: Path, columns: list[str], filters: list | None = None) -> pd.DataFrame:
    """Read `columns` of a parquet file; a truncated or foreign file gives one line."""
    try:
        schema = pq.read_schema(path)
        present = set(schema.names)
        absent = [name for name in columns if name not in present]
        if absent:
            raise BenchError(
                f"{path}: missing column(s) {', '.join(absent)} (found: {', '.join(schema.names)}); "
                f"the loader needs the official schema: {', '.join(columns)}"
            )
        table = pq.read_table(path, columns=columns, filters=filters)
    except (pa.ArrowInvalid, pa.ArrowIOError, OSError) as err:
        raise BenchError(
            f"{path}: not a readable parquet file ({str(err).splitlines()[0]}); "
            "the download is truncated or damaged: fetch it again"
        ) from None
    return table.to_pandas()


def row_of(frame: pd.DataFrame, position: int) -> int:
    """1-based line number in a CSV with a header line (for messages)."""
    return position + 2


def check_unique(frame: pd.DataFrame, column: str | list[str], path: Path) -> None:
    duplicated = frame.duplicated(column, keep=False)
    if duplicated.any():
        positions = [int(i) for i in duplicated.to_numpy().nonzero()[0][:2]]
        value = frame.iloc[positions[0]][column]
        value = tuple(value) if isinstance(column, list) else value
        raise BenchError(
            f"{path}: duplicate {column} {value!r} (rows {row_of(frame, positions[0])} and "
            f"{row_of(frame, positions[1])}); ids must be unique: use the publisher's unmodified file"
        )


def check_not_empty(frame: pd.DataFrame, column: str, path: Path) -> None:
    blank = frame[column].str.strip() == ""
    if blank.any():
        position = int(blank.to_numpy().nonzero()[0][0])
        raise BenchError(f"{path}: row {row_of(frame, position)}: empty {column}; every row needs one")


def check_known(ids: Iterable[str], known: set[str] | dict, path: Path, column: str, where: Path) -> None:
    """Every id in `ids` must be in `known` (read from `where`)."""
    for position, value in enumerate(ids):
        if value not in known:
            raise BenchError(
                f"{path}: row {position + 2}: {column} {value!r} is not in {where}; the files come from "
                "different versions of the dataset: fetch both again"
            )


def numbers(frame: pd.DataFrame, column: str, path: Path, low: float, high: float) -> pd.Series:
    """`column` as floats in [low, high]; the first bad cell is named."""
    values = pd.to_numeric(frame[column], errors="coerce")
    bad = values.isna() | (values < low) | (values > high)
    if bad.any():
        position = int(bad.to_numpy().nonzero()[0][0])
        raise BenchError(
            f"{path}: row {row_of(frame, position)}: {column} {frame[column].iloc[position]!r} is not a "
            f"number from {low:g} to {high:g}; use the publisher's unmodified file"
        )
    return values


def check_labels(frame: pd.DataFrame, column: str, allowed: Iterable[str], path: Path) -> None:
    allowed = set(allowed)
    bad = ~frame[column].isin(allowed)
    if bad.any():
        position = int(bad.to_numpy().nonzero()[0][0])
        raise BenchError(
            f"{path}: row {row_of(frame, position)}: {column} {frame[column].iloc[position]!r} is not one "
            f"of {', '.join(sorted(allowed))}; use the publisher's unmodified file"
        )
