"""Checked readers for the publishers' files: every problem is one `BenchError` line naming the file.

>>> rows = read_csv(Path("datasets/homedepot/train.csv.zip"), ["id", "search_term"], encoding="latin-1")

A `.zip` path is read through its single CSV member (Kaggle ships `train.csv.zip`). All CSV
cells are read as strings (empty cell -> ""), so ids never turn into floats; numeric columns
are converted with `numbers()`, which names the first bad row.
"""

from __future__ import annotations

import codecs
import io
import zipfile
import zlib
from collections.abc import Iterable
from pathlib import Path

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


def _read_bytes(path: Path) -> bytes:
    """The raw bytes of a CSV file, or of the single CSV inside a `.zip`."""
    if path.suffix != ".zip":
        try:
            return path.read_bytes()
        except OSError as err:
            raise BenchError(f"{path}: cannot read ({err.strerror}); check the path and its rights") from None
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as err:
        raise BenchError(f"{path}: not a readable zip ({err}); it is truncated: fetch it again") from None
    with archive:
        members = [m for m in archive.namelist() if m.endswith(".csv") and not m.startswith("__MACOSX")]
        if len(members) != 1:
            raise BenchError(f"{path}: expected one .csv inside the zip, found {members or 'none'}")
        try:
            return archive.read(members[0])
        except (zipfile.BadZipFile, EOFError, OSError, zlib.error) as err:
            raise BenchError(f"{path}: damaged zip ({err}); fetch it again") from None


def _normal(encoding: str) -> str:
    return codecs.lookup(encoding).name  # "UTF8", "latin1" -> "utf-8", "iso8859-1"


def detect_encoding(data: bytes, declared: str = "utf-8") -> str:
    """The encoding to decode `data` with. A byte-order mark wins over what the publisher declared
    (a spreadsheet's "CSV UTF-8" writes one), and a declared 8-bit file that is valid UTF-8 with
    non-ASCII text was re-saved as UTF-8."""
    if data.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if _normal(declared) == "utf-8":
        return "utf-8"
    if not data.isascii():
        try:
            data.decode("utf-8")  # the whole file: a latin-1 byte may first appear far down
            return "utf-8"
        except UnicodeDecodeError:
            pass
    return declared


def encoding_problem(path: Path, data: bytes, encoding: str, fix: str) -> BenchError:
    """One line for text that is not `encoding`: where the first bad byte is and what it looks like."""
    try:
        data.decode(encoding)
        start = 0
    except UnicodeDecodeError as err:
        start = err.start
    line = data.count(b"\n", 0, start) + 1
    return BenchError(
        f"{path}: not {encoding.removesuffix('-sig')} text (line {line}: byte 0x{data[start]:02x}), "
        f"it looks like {guess_encoding(data)}; {fix}"
    )


def guess_encoding(data: bytes) -> str:
    """Name the likely encoding of text that is not UTF-8 (what spreadsheets and old exports write)."""
    head = data[:4000]
    if head.count(b"\0") > len(head) // 4:
        return "UTF-16 without a byte-order mark"
    high = set(data) - set(range(0x80))
    if high & set(range(0x80, 0xA0)):  # printable in cp1252 (curly quotes, euro), control codes in latin-1
        return "cp1252 (Windows-1252, as Excel on Windows saves)"
    return "latin-1 (ISO-8859-1)"


def sniff_separator(data: bytes, path: Path) -> str:
    """`.tsv` is TAB-separated; otherwise the most frequent of , TAB ; | in the header line."""
    if path.suffix.lower() in {".tsv", ".tab"}:
        return "\t"
    header = data.split(b"\n", 1)[0]
    return max(SEPARATOR_NAMES, key=lambda sep: header.count(sep.encode()))


UTF8_FIX = 're-save it as UTF-8 (spreadsheet: "CSV UTF-8") or fetch the original file again'


def read_csv(path: Path, columns: list[str], *, sep: str | None = ",", encoding: str = "utf-8",
             fix: str = UTF8_FIX) -> pd.DataFrame:
    """Read `path` (header + rows, every cell a string); fail with one line on any format problem.

    What a spreadsheet does on re-save is accepted: a UTF-8 byte-order mark, CRLF line ends,
    quoted newlines. `sep=None` detects the separator (`sniff_separator`).
    """
    data = _read_bytes(path)
    if not data.strip():
        raise BenchError(f"{path}: the file is empty; fetch it again")
    chosen = detect_encoding(data, encoding)
    sep = sep or sniff_separator(data, path)
    try:
        frame = pd.read_csv(io.BytesIO(data), sep=sep, encoding=chosen, dtype=str, keep_default_na=False,
                            na_filter=False)
    except UnicodeDecodeError:
        raise encoding_problem(path, data, chosen, fix) from None
    except pd.errors.EmptyDataError:
        raise BenchError(f"{path}: the file is empty; fetch it again") from None
    except pd.errors.ParserError as err:
        detail = str(err).strip().splitlines()[-1]
        raise BenchError(f"{path}: cannot parse ({detail}); truncated or damaged: fetch it again") from None
    frame.columns = [str(c).strip() for c in frame.columns]
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


def read_parquet(path: Path, columns: list[str] | None, filters: list | None = None) -> pd.DataFrame:
    """Read `columns` (None: all) of a parquet file; a truncated or foreign file gives one line."""
    try:
        schema = pq.read_schema(path)
        present = set(schema.names)
        columns = list(schema.names) if columns is None else columns
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
