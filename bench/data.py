"""The one data model every dataset is mapped to, and every retriever reads.

>>> doc = Document("B01", title="Oak desk", text="Solid oak, 120 cm")
>>> ds = Dataset("toy", "test", corpus={"B01": doc}, queries={"q1": "desk"},
...              qrels={"q1": {"B01": 2}}, relevant_grade=1)
>>> ds.relevant("q1")
{'B01'}
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

Run = dict[str, dict[str, float]]
"""A ranking: query_id -> doc_id -> score (higher is better). ranx's `Run` dict."""

Qrels = dict[str, dict[str, int]]
"""Graded judgments: query_id -> doc_id -> integer gain (0 = irrelevant)."""


@dataclass(frozen=True, slots=True)  # slots: a million products take 100 MB less
class Document:
    """A product. `title` and `text` are what retrievers index; `fields` keeps the rest."""

    doc_id: str
    title: str
    text: str = ""
    fields: dict[str, str] = field(default_factory=dict, compare=False, hash=False)

    @property
    def contents(self) -> str:
        """The text a retriever indexes: title, then the rest of the product text."""
        return f"{self.title}\n{self.text}" if self.text else self.title


Corpus = dict[str, Document]


@dataclass
class Dataset:
    """One split of one benchmark: corpus, queries and graded qrels.

    `relevant_grade` is the smallest gain that counts as relevant for binary
    metrics (Recall, MRR, MAP, Precision); nDCG uses the gains themselves. `gains` says where
    they came from: each label of the publisher's scale -> its integer gain (ESCI
    {"E": 100, "S": 10, "C": 1, "I": 0}); {} when the loader does not say.
    """

    name: str
    split: str
    corpus: Corpus
    queries: dict[str, str]
    qrels: Qrels
    relevant_grade: int = 1
    notes: list[str] = field(default_factory=list)
    gains: dict[str, int] = field(default_factory=dict)

    def relevant(self, query_id: str) -> set[str]:
        grades = self.qrels.get(query_id, {})
        return {doc_id for doc_id, gain in grades.items() if gain >= self.relevant_grade}

    @property
    def fingerprint(self) -> str:
        return corpus_fingerprint(self.corpus)

    def __repr__(self) -> str:
        judged = sum(len(v) for v in self.qrels.values())
        return (
            f"Dataset({self.name!r}, split={self.split!r}, docs={len(self.corpus)}, "
            f"queries={len(self.queries)}, judgments={judged}, relevant_grade={self.relevant_grade})"
        )


def corpus_fingerprint(corpus: Corpus) -> str:
    """sha256 over every doc id and indexed text, in id order: the cache key of an index."""
    digest = hashlib.sha256()
    for doc_id in sorted(corpus):
        digest.update(doc_id.encode())
        digest.update(b"\0")
        digest.update(corpus[doc_id].contents.encode())
        digest.update(b"\1")
    return digest.hexdigest()
