"""The training pairs and the dev slice, built from the datasets' train and dev splits.

>>> splits = load_train_splits(["homedepot"], data_dir=None, seed=42)
>>> data = build_training_data(splits, max_pairs=16_000, seed=42, pairs="per-query")
>>> data.rows[0]                                  # a query and one of its relevant products
{'query': 'deck over paint', 'positive': 'BEHR Premium Textured DeckOver ...'}
>>> add_dev_slice(data, load_dev_splits(["homedepot"], None, 42, 200), distractors=1_000, seed=42)

Positives are the products graded >= the dataset's `relevant_grade` for a train query, as
`Document.contents` (what the index encodes). Test queries never reach training: train and dev
come from the train pool, dev held out of it (bench/datasets/protocol.py).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from bench.data import Dataset
from bench.errors import BenchError

if TYPE_CHECKING:
    import datasets


@dataclass
class TrainingData:
    """Rows for the trainer (train queries) and the dev slice scored after training (dev queries)."""

    rows: list[dict[str, str]]
    dev_queries: dict[str, str] = field(default_factory=dict)
    dev_corpus: dict[str, str] = field(default_factory=dict)
    dev_relevant: dict[str, set[str]] = field(default_factory=dict)
    mine_corpus: dict[str, str] = field(default_factory=dict)  # products the negatives come from
    # query text -> texts of every product judged for it, at any grade: a mined negative is never
    # one of them (a partly relevant product is not a negative; the false-negative problem)
    judged: dict[str, set[str]] = field(default_factory=dict)
    # query text -> its judged products graded clearly irrelevant, lowest grade first
    judged_negatives: dict[str, list[str]] = field(default_factory=dict)
    sources: dict[str, int] = field(default_factory=dict)  # dataset -> rows
    # dataset -> (dev queries, products judged for them, distractors) of the dev report
    dev_sources: dict[str, tuple[int, int, int]] = field(default_factory=dict)


def load_train_splits(names: list[str], data_dir: Path | None, seed: int) -> list[Dataset]:
    from bench.datasets import load

    splits = []
    for name in names:
        split = load(name, split="train", data_dir=data_dir, seed=seed)
        if split.queries:
            splits.append(split)
        else:  # e.g. the shipped ESCI slice has test queries only
            print(f"skip {name}: no train queries in these files")
    if not splits:
        raise BenchError(f"no train queries in {', '.join(names)}; train on a dataset with a train split")
    return splits


def load_dev_splits(names: list[str], data_dir: Path | None, seed: int, max_queries: int) -> list[Dataset]:
    """The dev split of each dataset (held-out train-pool queries, never trained on, never test):
    the first `max_queries // len(names)` of its seeded order, with its whole dev corpus."""
    from bench.datasets import load

    per_source = max(1, max_queries // len(names))
    splits = [load(name, split="dev", data_dir=data_dir, limit_queries=per_source, seed=seed)
              for name in names]
    return [split for split in splits if split.queries]


def add_dev_slice(data: TrainingData, dev_splits: list[Dataset], distractors: int, seed: int) -> None:
    """What the after-training report scores: the dev queries, every product judged for them and a
    seeded sample of `distractors` (split evenly) other products of the same dev corpus."""
    for split in dev_splits:
        judged: set[str] = set()
        for qid, text in split.queries.items():
            data.dev_queries[f"{split.name}:{qid}"] = text
            data.dev_relevant[f"{split.name}:{qid}"] = {f"{split.name}:{d}" for d in split.relevant(qid)}
            judged.update(split.qrels[qid])
        others = sorted(set(split.corpus) - judged)
        sample = random.Random(seed).sample(others, min(len(others), distractors // len(dev_splits)))
        for doc_id in [*sorted(judged), *sample]:
            data.dev_corpus[f"{split.name}:{doc_id}"] = split.corpus[doc_id].contents
        data.dev_sources[split.name] = (len(split.queries), len(judged), len(sample))


def build_training_data(
    splits: list[Dataset], max_pairs: int | None, seed: int, pairs: str = "all",
) -> TrainingData:
    """(query, positive) rows from the train queries of `splits`.

    `pairs="all"`: every (query, relevant product) pair, at most `max_pairs` split evenly over the
    sources. `pairs="per-query"`: passes over the train queries of all sources together, one
    positive per query per pass (best graded first, then the next, cycling), cut at `max_pairs`;
    every query counts the same, whatever its number of relevant products, and each source
    contributes in proportion to its queries. Positive texts are `Document.contents`, what the
    index encodes.
    """
    if pairs not in {"all", "per-query"}:
        raise BenchError(f"--pairs {pairs}: choose all or per-query")
    data = TrainingData(rows=[])
    cap = None if max_pairs is None else max(1, max_pairs // len(splits))
    rng = random.Random(seed)
    passes: list[tuple[int, float, str, dict[str, str]]] = []  # per-query: (pass, tie-break, source, row)
    train_queries: dict[str, list[str]] = {}
    for split in splits:
        train_ids = sorted(split.queries)
        rng.shuffle(train_ids)
        if pairs == "all":
            rows = [
                {"query": split.queries[qid], "positive": split.corpus[doc_id].contents}
                for qid in train_ids
                for doc_id in sorted(split.relevant(qid))
            ]
            rng.shuffle(rows)
            rows = rows[:cap] if cap is not None else rows
            data.rows.extend(rows)
            data.sources[split.name] = len(rows)
        else:
            rounds = max((len(split.relevant(q)) for q in train_ids), default=0)
            if max_pairs is not None:  # enough passes for the cap even if this source were alone
                rounds = max(rounds, math.ceil(max_pairs / max(len(train_ids), 1)))
            for qid in train_ids:
                grades = split.qrels[qid]
                ranked = sorted(split.relevant(qid), key=lambda d: (-grades[d], d))
                query = split.queries[qid]
                for turn in range(rounds if ranked else 0):
                    positive = split.corpus[ranked[turn % len(ranked)]].contents
                    passes.append((turn, rng.random(), split.name, {"query": query, "positive": positive}))
        train_queries[split.name] = train_ids
    if pairs == "per-query":
        passes.sort(key=lambda item: item[:2])  # pass by pass, shuffled within a pass
        kept = passes[:max_pairs]
        data.rows = [row for *_, row in kept]
        data.sources = {split.name: sum(name == split.name for _, _, name, _ in kept) for split in splits}
    if not data.rows:
        names = ", ".join(s.name for s in splits)
        raise BenchError(f"no (query, positive) pairs in the train split of {names}; pick another dataset")
    rng.shuffle(data.rows)
    used = {row["query"] for row in data.rows}
    for split in splits:  # what negatives need, for the queries that are trained on
        for qid in train_queries[split.name]:
            query = split.queries[qid]
            if query not in used:
                continue
            grades = split.qrels[qid]
            data.judged.setdefault(query, set()).update(split.corpus[d].contents for d in grades)
            # clearly irrelevant: graded at most half the relevant grade (Home Depot: mean rating <= 1.67)
            low = sorted((d for d, g in grades.items() if g <= split.relevant_grade // 2),
                         key=lambda d: (grades[d], d))
            # a product may share its title with a better graded one: that text is no negative
            better = {split.corpus[d].contents for d, g in grades.items() if g > split.relevant_grade // 2}
            texts = [split.corpus[d].contents for d in low if split.corpus[d].contents not in better]
            if texts:
                data.judged_negatives.setdefault(query, []).extend(texts)
            for doc_id in grades:  # products negatives are mined from
                data.mine_corpus[f"{split.name}:{doc_id}"] = split.corpus[doc_id].contents
    return data


def to_hf_dataset(rows: list[dict[str, str]]) -> datasets.Dataset:
    from datasets import Dataset as HFDataset

    columns = list(rows[0])
    return HFDataset.from_dict({c: [row[c] for row in rows] for c in columns})
