"""The evaluation protocol shared by every dataset (datasets/README.md states it in words).

>>> source = homedepot.read(Path("datasets/homedepot"))     # every judged pair, every product
>>> test = make_split(source, "test", limit_queries=200, seed=42)

A loader turns the publisher's files into a `Source`: all queries, all graded judgments, which
queries are test queries, and the product pool. `make_split` then applies the protocol:

- queries without any judgment >= `relevant_grade` are dropped and counted (in `Dataset.notes`);
- test and dev: up to 2,000 queries, a seeded sample; the corpus is every product judged for them plus
  a seeded random fill from the other products up to 10,000 (all judged products are kept even
  past 10,000; `fill_to=None` means every product, as WANDS does);
- dev: held-out train-pool queries (the dev hash bucket, or the dataset's own dev split), scored
  exactly like test; every choice of settings is made on it, never on test;
- train: every train query, the corpus is the products judged for them;
- `limit_queries=N` keeps the first N of the same seeded order and the same corpus, so a quick run
  is a subset of the full run and reuses its index;
- `Source.gains` (each publisher's label -> its integer gain) goes to `Dataset.gains` unchanged, so
  every result can say which gains its nDCG used.
"""

from __future__ import annotations

import hashlib
import math
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from bench.data import Corpus, Dataset, Document, Qrels
from bench.errors import BenchError

TEST_QUERIES = 2_000
CORPUS_SIZE = 10_000
TEST_PERCENT = 20  # hash split of the datasets without an official split
DEV_PERCENT = 10  # the next hash bucket: dev queries, held out of training (Home Depot: ~1,100)
TEXT_CHARS = 2_000  # product text (after the title) is cut to this many characters

SPLITS = ("test", "dev", "train")


@dataclass
class Source:
    """Everything a loader read: the protocol (`make_split`) decides what goes into a split."""

    name: str
    queries: dict[str, str]
    qrels: Qrels
    test_queries: set[str]
    product_ids: list[str]
    documents: Callable[[Iterable[str]], Corpus]
    relevant_grade: int
    fill_to: int | None = CORPUS_SIZE
    notes: list[str] = field(default_factory=list)
    max_test_queries: int | None = TEST_QUERIES
    other_splits: dict[str, set[str]] = field(default_factory=dict)  # e.g. BEIR's dev: neither test nor train
    gains: dict[str, int] = field(default_factory=dict)  # publisher's label -> integer gain (for the results)

    @property
    def splits(self) -> list[str]:
        return [*SPLITS, *sorted(set(self.other_splits) - set(SPLITS))]

    def split_queries(self, split: str) -> list[str]:
        """The query ids of `split`, sorted. Without a dev split of its own, dev is the train pool's
        queries in the dev hash bucket (`is_dev_query`); train is every query in no other split."""
        if split in self.other_splits:
            return sorted(q for q in self.other_splits[split] if q in self.queries)
        if split == "test":
            return sorted(q for q in self.test_queries if q in self.queries)
        elsewhere = set().union(*self.other_splits.values())
        pool = [q for q in self.queries if q not in self.test_queries and q not in elsewhere]
        if "dev" in self.other_splits:
            return sorted(pool) if split == "train" else []
        wanted = split == "dev"
        return sorted(q for q in pool if is_dev_query(self.queries[q]) == wanted)


def normalise_query(text: str) -> str:
    """Lowercase with single spaces: two spellings of one query land in the same split."""
    return " ".join(text.lower().split())


def query_id(text: str) -> str:
    """A stable id for datasets whose queries have none: a hash of the normalised text."""
    return "q" + hashlib.sha256(normalise_query(text).encode()).hexdigest()[:12]


def split_bucket(text: str) -> int:
    """0-99 from a hash of the normalised text: a query (in any spelling) is in one split only."""
    digest = hashlib.sha256(b"split\0" + normalise_query(text).encode()).digest()
    return int.from_bytes(digest[:8], "big") % 100


def is_test_query(text: str) -> bool:
    """Test for the datasets without an official split: buckets 0-19 (20%)."""
    return split_bucket(text) < TEST_PERCENT


def is_dev_query(text: str) -> bool:
    """Dev, out of the train pool: buckets 20-29, 10% of all queries (never test, never trained on)."""
    return TEST_PERCENT <= split_bucket(text) < TEST_PERCENT + DEV_PERCENT


def round_half_up(value: float) -> int:
    """Python's round() rounds 2.5 to 2; gains must keep the order of the ratings."""
    return math.floor(value + 0.5)


def describe_gains(gains: dict[str, int]) -> str:
    """`{"E": 100, "S": 10}` -> "E=100, S=10", for the notes."""
    return ", ".join(f"{label}={gain}" for label, gain in gains.items())


def product_text(parts: Iterable[str], limit: int = TEXT_CHARS) -> str:
    """Non-empty parts joined by newlines, cut to `limit` characters."""
    text = "\n".join(part.strip() for part in parts if part and part.strip())
    return text[:limit]


def make_document(doc_id: str, title: str, parts: Iterable[str], **fields: str) -> Document:
    return Document(doc_id, title.strip(), product_text(parts), {k: v for k, v in fields.items() if v})


def make_split(source: Source, split: str = "test", limit_queries: int | None = None,
               seed: int = 42) -> Dataset:
    if split not in source.splits:
        raise BenchError(f"unknown split {split!r}; choose {' or '.join(source.splits)}")
    if limit_queries is not None and limit_queries < 1:
        raise BenchError(f"limit_queries must be a positive number, not {limit_queries}")
    in_split = source.split_queries(split)
    evaluation = split != "train"  # test and dev: a sampled query set over the full corpus
    grade = source.relevant_grade
    answerable = [q for q in in_split if any(g >= grade for g in source.qrels.get(q, {}).values())]
    notes = list(source.notes)
    if split == "dev" and "dev" not in source.other_splits:
        last = TEST_PERCENT + DEV_PERCENT - 1
        notes.append(f"dev: the train pool's queries in hash buckets {TEST_PERCENT}-{last}, never trained on")
    if not in_split:
        notes.append(f"no {split} queries in these files")
    else:
        dropped = len(in_split) - len(answerable)
        notes.append(f"{dropped} of {len(in_split)} {split} queries dropped: no product judged >= {grade}")

    order = list(answerable)
    random.Random(seed).shuffle(order)
    cap = source.max_test_queries
    if evaluation and cap is not None and len(order) > cap:
        notes.append(f"{cap} of {len(order)} {split} queries sampled (seed {seed})")
        order = order[:cap]

    judged = {doc_id for q in order for doc_id in source.qrels[q]}
    corpus_ids = set(judged)
    if evaluation:
        corpus_ids |= _fill(source, judged, seed)
        rest = "every other product" if source.fill_to is None else "seeded fill"
        notes.append(f"corpus: {len(judged)} judged products + {len(corpus_ids) - len(judged)} {rest}")
    if limit_queries is not None and limit_queries < len(order):
        notes.append(f"limit_queries={limit_queries}: first {limit_queries} of the seeded order")
        order = order[:limit_queries]

    corpus = source.documents(sorted(corpus_ids))
    queries = {q: source.queries[q] for q in order}
    qrels = {q: dict(source.qrels[q]) for q in order}
    return Dataset(source.name, split, corpus, queries, qrels, relevant_grade=grade, notes=notes,
                   gains=dict(source.gains))


def _fill(source: Source, judged: set[str], seed: int) -> set[str]:
    others = [p for p in source.product_ids if p not in judged]
    if source.fill_to is None:
        return set(others)  # every product: custom datasets, WANDS
    wanted = max(0, source.fill_to - len(judged))
    if wanted >= len(others):
        return set(others)
    return set(random.Random(seed).sample(others, wanted))


def documents_from(corpus: Corpus) -> Callable[[Iterable[str]], Corpus]:
    """`Source.documents` for a loader that built every Document up front."""

    def pick(ids: Iterable[str]) -> Corpus:
        return {doc_id: corpus[doc_id] for doc_id in ids}

    return pick


def drop_empty_products(corpus: Corpus, qrels: Qrels, notes: list[str]) -> None:
    """Products with no title and no text cannot be retrieved by anything: drop them and
    their judgments, and say how many (in place)."""
    empty = {doc_id for doc_id, doc in corpus.items() if not doc.contents.strip()}
    if not empty:
        return
    for doc_id in empty:
        del corpus[doc_id]
    dropped = 0
    for grades in qrels.values():
        for doc_id in empty & grades.keys():
            del grades[doc_id]
            dropped += 1
    notes.append(f"{len(empty)} products with empty text dropped ({dropped} judgments)")
