"""Amazon ESCI (Shopping Queries Dataset): the official examples and products parquet files.

>>> source = read(Path("datasets/esci"))

`shopping_queries_dataset_examples.parquet`: example_id, query, query_id, product_id,
product_locale, esci_label, small_version, large_version, split.
`shopping_queries_dataset_products.parquet`: product_id, product_title, product_description,
product_bullet_point, product_brand, product_color, product_locale.
Protocol: Task 1 (`small_version == 1`), US locale, the official test/train split (dev: the dev
hash bucket of the train queries). Gains E=100, S=10, C=1, I=0: Task 1's official 1.0 / 0.1 / 0.01 / 0
times 100 (nDCG is unchanged by one common factor, and integer qrels reproduce the official numbers
under trec_eval); relevant: E or S. Products are keyed by (product_id, product_locale), as the
official files are: one ASIN has a US, an ES and a JP listing with different titles.
Product text: title, then brand, description and bullet points (cut to 2,000 characters).
Only the product ids are read up front; full text is read for the chosen corpus only, so the
1.1 GB official products file stays cheap.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

from bench.data import Corpus, Qrels
from bench.datasets.protocol import Source, describe_gains, make_document
from bench.datasets.readers import check_known, check_labels, check_unique, read_parquet
from bench.errors import BenchError

NAME = "esci"
LOCALE = "us"
EXAMPLES = "shopping_queries_dataset_examples.parquet"
PRODUCTS = "shopping_queries_dataset_products.parquet"
SOURCES = "shopping_queries_dataset_sources.csv"  # optional, not used by the protocol
EXAMPLE_COLUMNS = ["example_id", "query", "query_id", "product_id", "product_locale", "esci_label",
                   "small_version", "large_version", "split"]
PRODUCT_COLUMNS = ["product_id", "product_title", "product_description", "product_bullet_point",
                   "product_brand", "product_color", "product_locale"]
GAINS = {"E": 100, "S": 10, "C": 1, "I": 0}
RELEVANT_GRADE = GAINS["S"]
TASK_1 = "small_version"  # 1: the reduced version, the Task 1 (query-product ranking) examples


def missing(directory: Path) -> str | None:
    absent = [name for name in (EXAMPLES, PRODUCTS) if not (directory / name).is_file()]
    if absent:
        return (f"{directory}: {', '.join(absent)} not found; get them with "
                "`python -m bench data download esci` (github.com/amazon-science/esci-data, Apache-2.0)")
    return None


def read(directory: Path) -> Source:
    reason = missing(directory)
    if reason:
        raise BenchError(reason)
    examples_path, products_path = directory / EXAMPLES, directory / PRODUCTS
    # Both files are read for the US locale only, so every join below is on (product_id, "us").
    locale_filter = [("product_locale", "=", LOCALE)]
    examples = read_parquet(examples_path, EXAMPLE_COLUMNS, filters=locale_filter)
    check_unique(examples, "example_id", examples_path)
    outside_task_1 = int((examples[TASK_1] != 1).sum())
    examples = examples[examples[TASK_1] == 1]
    check_unique(examples, ["query_id", "product_id"], examples_path)
    check_labels(examples, "esci_label", GAINS, examples_path)
    check_labels(examples, "split", ["train", "test"], examples_path)
    products = read_parquet(products_path, ["product_id", "product_locale"], filters=locale_filter)
    check_unique(products, ["product_id", "product_locale"], products_path)
    product_ids = set(products.product_id)
    check_known(examples.product_id, product_ids, examples_path, "product_id", products_path)

    queries: dict[str, str] = {}
    qrels: Qrels = defaultdict(dict)
    test_queries: set[str] = set()
    for qid, text, doc_id, label, split in zip(
        examples.query_id.astype(str), examples["query"], examples.product_id, examples.esci_label,
        examples.split, strict=True,
    ):
        queries[qid] = text
        qrels[qid][doc_id] = GAINS[label]
        if split == "test":
            test_queries.add(qid)

    def documents(ids: Iterable[str]) -> Corpus:
        wanted = list(ids)
        if not wanted:
            return {}
        frame = read_parquet(products_path, PRODUCT_COLUMNS,
                             filters=[("product_locale", "=", LOCALE), ("product_id", "in", wanted)])
        frame = frame.fillna("")
        return {
            doc_id: make_document(doc_id, title, [brand, description, bullets], brand=brand, color=color)
            for doc_id, title, brand, description, bullets, color in zip(
                frame.product_id, frame.product_title, frame.product_brand, frame.product_description,
                frame.product_bullet_point, frame.product_color, strict=True,
            )
        }

    notes = [f"Task 1 ({TASK_1} == 1), locale {LOCALE}, official split; gains {describe_gains(GAINS)} "
             "(the official 1.0/0.1/0.01/0 x 100); relevant: E or S"]
    if outside_task_1:
        notes.append(f"{outside_task_1} {LOCALE} examples outside Task 1 ({TASK_1} == 0) left out")
    return Source(NAME, queries, dict(qrels), test_queries, sorted(product_ids), documents,
                  RELEVANT_GRADE, notes=notes, gains=dict(GAINS))
