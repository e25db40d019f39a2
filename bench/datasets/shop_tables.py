"""A shop's two tables: products and judgments (CSV, TSV or Parquet, detected).

>>> source = read(Path("my-shop"), detect(Path("my-shop")))

products: `product_id`, `title`, then any columns; those named in dataset.toml `text_columns`
become the product text after the title (in that order), every other column is kept in
`Document.fields`. judgments: `query`, `product_id`, `grade` (an integer, 0 = irrelevant, or a
word mapped by dataset.toml `labels`), optional `query_id` and `split` (test / train / dev).
Queries without a split get the Home Depot query-hash split, so a test query (in any spelling
differing in case or spacing) is never in training. A CSV re-saved by a spreadsheet (UTF-8 with
byte-order mark, CRLF, quoted newlines, `;` separators) reads as written.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pandas as pd

from bench.data import Corpus, Document, Qrels
from bench.datasets.spec import SPEC_FILE, DatasetSpec, check_grade, grade_gains, settle_grades, table_file
from bench.datasets.protocol import Source, documents_from, is_test_query, product_text, query_id
from bench.datasets.readers import (
    UTF8_FIX,
    check_columns,
    check_known,
    check_not_empty,
    check_unique,
    read_csv,
    read_parquet,
    row_of,
)
from bench.errors import BenchError

PRODUCT_COLUMNS = ["product_id", "title"]
JUDGMENT_COLUMNS = ["query", "product_id", "grade"]
SPLIT_VALUES = {"test", "train", "dev", ""}


def missing(directory: Path, spec: DatasetSpec | None = None) -> str | None:
    absent = [f"{role}.csv (or .tsv, .parquet)" for role, stated in
              (("products", spec.products if spec else None), ("judgments", spec.judgments if spec else None))
              if table_file(directory, role, stated) is None]
    if absent:
        return (f"{directory}: {' and '.join(absent)} not found; a shop table folder holds products "
                "(product_id, title, ...) and judgments (query, product_id, grade) (see datasets/README.md)")
    return None


def read_table(path: Path, columns: list[str], spec: DatasetSpec) -> pd.DataFrame:
    """Every cell as a string ("" when empty), whatever the file type."""
    if path.suffix.lower() == ".parquet":
        frame = read_parquet(path, None)
        check_columns(frame, columns, path)
        return frame.fillna("").astype(str)
    fix = f"{UTF8_FIX}, or state it in {path.parent / SPEC_FILE}: encoding = \"cp1252\""
    return read_csv(path, columns, sep=None, encoding=spec.encoding, fix=fix)


def read(directory: Path, spec: DatasetSpec) -> Source:
    reason = missing(directory, spec)
    if reason:
        raise BenchError(reason)
    products_path = table_file(directory, "products", spec.products)
    judgments_path = table_file(directory, "judgments", spec.judgments)
    assert products_path is not None and judgments_path is not None
    corpus = read_products(products_path, spec)

    frame = read_table(judgments_path, JUDGMENT_COLUMNS, spec)
    for column in ("query", "product_id", "grade"):
        check_not_empty(frame, column, judgments_path)
    check_known(frame.product_id, corpus, judgments_path, "product_id", products_path)
    has_ids = "query_id" in frame.columns
    ids = frame.query_id if has_ids else frame["query"].map(query_id)  # one id per normalised text
    twice = pd.DataFrame({"q": ids, "p": frame.product_id}).duplicated(keep=False).to_numpy().nonzero()[0]
    if len(twice):
        first, second = (row_of(frame, int(i)) for i in twice[:2])
        query, product = frame["query"].iloc[twice[0]], frame.product_id.iloc[twice[0]]
        raise BenchError(f"{judgments_path}: rows {first} and {second} judge the same (query, product) "
                         f"({query!r}, {product!r}); keep one")
    grades = _grades(frame, judgments_path, spec)
    splits = frame.split.str.strip().str.lower() if "split" in frame.columns else pd.Series([""] * len(frame))

    queries: dict[str, str] = {}
    split_of: dict[str, str] = {}
    qrels: Qrels = defaultdict(dict)
    for position, (qid, text, doc_id, grade, split) in enumerate(
        zip(ids, frame["query"], frame.product_id, grades, splits, strict=True)
    ):
        row = f"row {row_of(frame, position)}"
        if split not in SPLIT_VALUES:
            raise BenchError(f"{judgments_path}: {row}: split {split!r}; use test, train, dev or leave "
                             "it empty (empty: the query-hash split)")
        if qid not in queries:
            queries[qid] = text
            split_of[qid] = split or ("test" if is_test_query(text) else "train")
        elif has_ids and queries[qid] != text:
            raise BenchError(f"{judgments_path}: {row}: query_id {qid!r} has two texts, {queries[qid]!r} and "
                             f"{text!r}; one id per query text")
        elif split and split != split_of[qid]:
            raise BenchError(f"{judgments_path}: {row}: query {text!r} is in split {split!r} here and "
                             f"{split_of[qid]!r} on an earlier row; a query belongs to one split")
        qrels[qid][doc_id] = grade
    default = (max(grades, default=0) // 2 + 1) if spec.labels is None else max(spec.labels.values()) // 2 + 1
    relevant, grade_note = settle_grades(set(grades), spec, directory, default)
    test = {qid for qid, split in split_of.items() if split == "test"}
    dev = {qid for qid, split in split_of.items() if split == "dev"}
    hashed = "split column" if "split" in frame.columns else "no split column"
    notes = [
        f"shop tables {products_path.name} + {judgments_path.name}; "
        f"text: title{''.join(', ' + c for c in spec.text_columns)}",
        grade_note,
        f"{hashed}: queries without a split get the query-hash split (about 20% test)",
    ]
    if (directory / SPEC_FILE).is_file():
        notes.append(f"settings from {directory / SPEC_FILE}")
    return Source(spec.name, queries, dict(qrels), test, list(corpus), documents_from(corpus), relevant,
                  fill_to=None, notes=notes, max_test_queries=None,
                  other_splits={"dev": dev} if dev else {}, gains=grade_gains(set(grades), spec.labels))


def read_products(path: Path, spec: DatasetSpec) -> Corpus:
    frame = read_table(path, PRODUCT_COLUMNS + spec.text_columns, spec)
    check_not_empty(frame, "product_id", path)
    check_unique(frame, "product_id", path)
    blank = frame.title.str.strip() == ""
    if blank.any():
        position = int(blank.to_numpy().nonzero()[0][0])
        raise BenchError(f"{path}: row {row_of(frame, position)}: product "
                         f"{frame.product_id.iloc[position]!r} has an empty title; give every product one")
    extra = [c for c in frame.columns if c not in PRODUCT_COLUMNS]
    text_at = [2 + extra.index(c) for c in spec.text_columns]
    corpus: Corpus = {}
    for row in frame[PRODUCT_COLUMNS + extra].itertuples(index=False, name=None):
        fields = {name: value for name, value in zip(extra, row[2:], strict=True) if value.strip()}
        corpus[row[0]] = Document(row[0], row[1].strip(), product_text(row[i] for i in text_at), fields)
    return corpus


def _grades(frame: pd.DataFrame, path: Path, spec: DatasetSpec) -> list[int]:
    values: list[int] = []
    for position, cell in enumerate(frame.grade):
        row = f"row {row_of(frame, position)}"
        cell = cell.strip()
        if spec.labels is not None:
            if cell not in spec.labels:
                raise BenchError(f"{path}: {row}: grade {cell!r} is not one of the labels in dataset.toml "
                                 f"({', '.join(spec.labels)}); fix the row or add the label")
            values.append(spec.labels[cell])
            continue
        try:
            number = float(cell)
        except ValueError:
            number = float("nan")
        if not number.is_integer():
            raise BenchError(f"{path}: {row}: grade {cell!r} is not a whole number; grades are integers "
                             "(0 = irrelevant), or name your labels in dataset.toml: "
                             "labels = { Exact = 2, Partial = 1, Irrelevant = 0 }")
        check_grade(int(number), spec, path, row)
        values.append(int(number))
    return values
