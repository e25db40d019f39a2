"""WANDS, Wayfair ANnotation DataSet: the publisher's TAB-separated `product.csv`, `query.csv`, `label.csv`.

>>> source = read(Path("datasets/wands"))

product.csv: product_id, product_name, product_class, category hierarchy, product_description,
product_features, rating_count, average_rating, review_count. query.csv: query_id, query,
query_class. label.csv: id, query_id, product_id, label (Exact / Partial / Irrelevant).
Gains Exact=2, Partial=1, Irrelevant=0; relevant: Exact. The test corpus is every product.
Product text: class, category hierarchy, description, features ("name:value|name:value").
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from bench.data import Corpus, Qrels
from bench.datasets.protocol import (
    Source,
    describe_gains,
    documents_from,
    drop_empty_products,
    is_test_query,
    make_document,
)
from bench.datasets.readers import check_known, check_labels, check_unique, read_csv
from bench.errors import BenchError

NAME = "wands"
FILES = ["product.csv", "query.csv", "label.csv"]
PRODUCT_COLUMNS = ["product_id", "product_name", "product_class", "category hierarchy", "product_description",
                   "product_features", "rating_count", "average_rating", "review_count"]
QUERY_COLUMNS = ["query_id", "query", "query_class"]
LABEL_COLUMNS = ["id", "query_id", "product_id", "label"]
GAINS = {"Exact": 2, "Partial": 1, "Irrelevant": 0}
RELEVANT_GRADE = 2


def missing(directory: Path) -> str | None:
    absent = [name for name in FILES if not (directory / name).is_file()]
    if absent:
        return (f"{directory}: {', '.join(absent)} not found; "
                "get them with `python -m bench data download wands` (github.com/wayfair/WANDS, MIT)")
    return None


def read(directory: Path) -> Source:
    reason = missing(directory)
    if reason:
        raise BenchError(reason)
    product_path, query_path, label_path = (directory / name for name in FILES)
    products = read_csv(product_path, PRODUCT_COLUMNS, sep="\t")
    check_unique(products, "product_id", product_path)
    query_rows = read_csv(query_path, QUERY_COLUMNS, sep="\t")
    check_unique(query_rows, "query_id", query_path)
    labels = read_csv(label_path, LABEL_COLUMNS, sep="\t")
    check_unique(labels, "id", label_path)
    check_unique(labels, ["query_id", "product_id"], label_path)
    check_labels(labels, "label", GAINS, label_path)

    corpus: Corpus = {
        doc_id: make_document(doc_id, name, [kind, hierarchy, description, features], product_class=kind)
        for doc_id, name, kind, hierarchy, description, features in zip(
            products.product_id, products.product_name, products.product_class,
            products["category hierarchy"], products.product_description, products.product_features,
            strict=True,
        )
    }
    queries = dict(zip(query_rows.query_id, query_rows["query"], strict=True))
    check_known(labels.query_id, queries, label_path, "query_id", query_path)
    check_known(labels.product_id, corpus, label_path, "product_id", product_path)

    qrels: Qrels = defaultdict(dict)
    for qid, doc_id, label in zip(labels.query_id, labels.product_id, labels.label, strict=True):
        qrels[qid][doc_id] = GAINS[label]
    qrels = dict(qrels)
    notes = [f"gains {describe_gains(GAINS)}; relevant: Exact; test corpus: every product"]
    unlabelled = len(queries) - len(qrels)
    if unlabelled:
        notes.append(f"{unlabelled} of {len(queries)} queries in {query_path.name} have no labels: left out")
    queries = {qid: text for qid, text in queries.items() if qid in qrels}
    drop_empty_products(corpus, qrels, notes)
    test_queries = {qid for qid, text in queries.items() if is_test_query(text)}
    return Source(NAME, queries, qrels, test_queries, sorted(corpus), documents_from(corpus),
                  RELEVANT_GRADE, fill_to=None, notes=notes, gains=dict(GAINS))
