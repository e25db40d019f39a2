"""Home Depot Product Search Relevance (Kaggle, 2016): the publisher's `train.csv(.zip)`, latin-1.

>>> source = read(Path("datasets/homedepot"))
>>> make_split(source, "test").queries["q..."]

Columns: id, product_uid, product_title, search_term, relevance (mean of ~3 raters, 1-3).
`product_descriptions.csv` (product_uid, product_description) and `attributes.csv`
(product_uid, name, value) are joined into the product text when present (plain or .zip).
Queries are the distinct search terms (normalised); gain = round_half_up(3 * (relevance - 1)),
0..6, so 1 -> 0, 1.33 -> 1, 1.67 -> 2, 2 -> 3, 2.33 -> 4, 2.67 -> 5, 3 -> 6; relevant: gain >= 4
(mean rating >= 2.25, i.e. the raters lean to "exact match").
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from bench.data import Corpus, Qrels
from bench.datasets.protocol import (
    Source,
    documents_from,
    drop_empty_products,
    is_test_query,
    make_document,
    query_id,
    round_half_up,
)
from bench.datasets.readers import check_unique, find_file, kaggle_steps, missing_train_csv, numbers, read_csv
from bench.errors import BenchError

NAME = "homedepot"
ENCODING = "latin-1"
TRAIN_COLUMNS = ["id", "product_uid", "product_title", "search_term", "relevance"]
DESCRIPTION_COLUMNS = ["product_uid", "product_description"]
ATTRIBUTE_COLUMNS = ["product_uid", "name", "value"]
RELEVANT_GRADE = 4
KAGGLE = "home-depot-product-search-relevance"
HOW_TO_GET = kaggle_steps(KAGGLE)


def missing(directory: Path) -> str | None:
    return missing_train_csv(directory, HOW_TO_GET)


def gain(relevance: float) -> int:
    return round_half_up(3 * (relevance - 1))


def read(directory: Path) -> Source:
    path = find_file(directory, "train.csv")
    if path is None:
        raise BenchError(str(missing(directory)))
    rows = read_csv(path, TRAIN_COLUMNS, encoding=ENCODING)
    check_unique(rows, "id", path)
    relevance = numbers(rows, "relevance", path, 1, 3)
    notes: list[str] = []

    descriptions = _descriptions(directory)
    attributes = _attributes(directory)
    titles = dict(zip(rows.product_uid, rows.product_title, strict=True))
    corpus: Corpus = {
        uid: make_document(uid, title, [descriptions.get(uid, ""), attributes.get(uid, "")])
        for uid, title in titles.items()
    }
    if descriptions:
        described = sum(uid in descriptions for uid in corpus)
        notes.append(f"descriptions joined for {described} of {len(corpus)} products")

    queries: dict[str, str] = {}
    qrels: Qrels = defaultdict(dict)
    test_queries: set[str] = set()
    for term, uid, value in zip(rows.search_term, rows.product_uid, relevance, strict=True):
        qid = query_id(term)
        if qid not in queries:
            queries[qid] = term
            if is_test_query(term):
                test_queries.add(qid)
        qrels[qid][uid] = max(qrels[qid].get(uid, 0), gain(value))
    qrels = dict(qrels)
    drop_empty_products(corpus, qrels, notes)
    notes.append("gain = round_half_up(3 * (mean rating - 1)) in 0..6; relevant: gain >= 4")
    # The mean rating -> gain table, each mean as the file spells it ("2.33": 4), kept with the results.
    means = dict(zip(rows.relevance.str.strip(), relevance, strict=True))  # each spelling once
    gains = {spelled: gain(value) for spelled, value in sorted(means.items(), key=lambda item: item[1])}
    return Source(NAME, queries, qrels, test_queries, sorted(corpus), documents_from(corpus),
                  RELEVANT_GRADE, notes=notes, gains=gains)


def _descriptions(directory: Path) -> dict[str, str]:
    path = find_file(directory, "product_descriptions.csv")
    if path is None:
        return {}
    frame = read_csv(path, DESCRIPTION_COLUMNS, encoding=ENCODING)
    check_unique(frame, "product_uid", path)
    return dict(zip(frame.product_uid, frame.product_description, strict=True))


def _attributes(directory: Path) -> dict[str, str]:
    """`name: value` lines per product (the official file has some blank separator rows)."""
    path = find_file(directory, "attributes.csv")
    if path is None:
        return {}
    frame = read_csv(path, ATTRIBUTE_COLUMNS, encoding=ENCODING)
    frame = frame[frame.product_uid.str.strip() != ""]
    lines: dict[str, list[str]] = defaultdict(list)
    for uid, name, value in zip(frame.product_uid, frame.name, frame.value, strict=True):
        lines[uid].append(f"{name}: {value}")
    return {uid: "\n".join(items) for uid, items in lines.items()}

