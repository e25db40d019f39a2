"""CrowdFlower Search Results Relevance (Kaggle, 2015): the publisher's `train.csv(.zip)`.

>>> source = read(Path("datasets/crowdflower"))

Columns: id, query, product_title, product_description, median_relevance (1-4),
relevance_variance. Products have no id in the file: a product is its (title, description) pair,
id = "p" + sha256 of both (12 hex). gain = median_relevance - 1 (0..3); relevant: gain >= 2
(median "relevant" or "highly relevant"). A (query, product) pair judged twice keeps the higher gain.
"""

from __future__ import annotations

import hashlib
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
)
from bench.datasets.readers import check_unique, find_file, kaggle_steps, missing_train_csv, numbers, read_csv
from bench.errors import BenchError

NAME = "crowdflower"
COLUMNS = ["id", "query", "product_title", "product_description", "median_relevance", "relevance_variance"]
RELEVANT_GRADE = 2
GAINS = {str(median): median - 1 for median in (1, 2, 3, 4)}  # median_relevance -> gain (as read below)
KAGGLE = "crowdflower-search-relevance"
HOW_TO_GET = kaggle_steps(KAGGLE)


def missing(directory: Path) -> str | None:
    return missing_train_csv(directory, HOW_TO_GET)


def product_id(title: str, description: str) -> str:
    return "p" + hashlib.sha256(f"{title}\0{description}".encode()).hexdigest()[:12]


def read(directory: Path) -> Source:
    path = find_file(directory, "train.csv")
    if path is None:
        raise BenchError(str(missing(directory)))
    rows = read_csv(path, COLUMNS)
    check_unique(rows, "id", path)
    median = numbers(rows, "median_relevance", path, 1, 4)

    corpus: Corpus = {}
    queries: dict[str, str] = {}
    qrels: Qrels = defaultdict(dict)
    test_queries: set[str] = set()
    repeated = 0
    for text, title, description, value in zip(
        rows["query"], rows.product_title, rows.product_description, median, strict=True
    ):
        doc_id = product_id(title, description)
        if doc_id not in corpus:
            corpus[doc_id] = make_document(doc_id, title, [description])
        qid = query_id(text)
        if qid not in queries:
            queries[qid] = text
            if is_test_query(text):
                test_queries.add(qid)
        if doc_id in qrels[qid]:
            repeated += 1
        qrels[qid][doc_id] = max(qrels[qid].get(doc_id, 0), int(value) - 1)
    qrels = dict(qrels)
    notes = ["gain = median_relevance - 1 in 0..3; relevant: gain >= 2"]
    if repeated:
        notes.append(f"{repeated} repeated (query, product) rows merged, keeping the higher gain")
    drop_empty_products(corpus, qrels, notes)
    return Source(NAME, queries, qrels, test_queries, sorted(corpus), documents_from(corpus),
                  RELEVANT_GRADE, notes=notes, gains=dict(GAINS))
