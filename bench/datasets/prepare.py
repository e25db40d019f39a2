"""Cut the real slices shipped in datasets/<name>/ from the publishers' files, reproducibly.

>>> prepare("esci", Path("/work/shared/data/esci"))      # python -m bench data prepare esci --from DIR

- esci: converts the derived subset `harshm-subset/esci_subset.json` (500 official US test
  queries, titles only) ONCE into the official parquet schema, so the official files are a
  drop-in replacement; the loader only reads the official schema. A product id with several
  titles (the deriver's join ignored the locale) keeps the most English one (`pick_title`), and
  `title_conflicts.tsv` lists every such id, each title, its language and which was kept.
- homedepot, crowdflower: copy the publisher's `train.csv.zip` unchanged.
- wands: copy the publisher's `query.csv` unchanged (product.csv and label.csv are too large).
Every file written gets a line in `SHA256SUMS` (checked by `data verify`).
"""

from __future__ import annotations

import json
import re
import shutil
from collections import Counter, defaultdict
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from bench.datasets import esci
from bench.errors import BenchError
from bench.io import atomic_path, sha256_file, write_text

CHECKSUMS = "SHA256SUMS"
ESCI_SUBSET = "harshm-subset/esci_subset.json"
CONFLICTS = "title_conflicts.tsv"  # the ESCI slice's product ids with several titles, and which was kept
LABELS = {3: "E", 2: "S", 1: "C", 0: "I"}
COPIED = {"homedepot": ["train.csv.zip"], "crowdflower": ["train.csv.zip"], "wands": ["query.csv"]}


def prepare(name: str, source_dir: Path, target_dir: Path) -> list[Path]:
    """Write the slice of `name` into `target_dir`; return the files written."""
    source_dir = Path(source_dir)
    if name == "esci":
        written = _esci(source_dir, target_dir)
    elif name in COPIED:
        written = []
        for file_name in COPIED[name]:
            source = source_dir / file_name
            if not source.is_file():
                raise BenchError(f"{source} not found; --from must be the folder holding {file_name}")
            with atomic_path(target_dir / file_name) as tmp:
                shutil.copyfile(source, tmp)
            written.append(target_dir / file_name)
    else:
        raise BenchError(f"unknown dataset {name!r}; choose one of: esci, homedepot, crowdflower, wands")
    for path in written:
        path.chmod(0o644)  # atomic_path's temp files are private; shipped data is not
    write_checksums(target_dir, written)
    return written


def write_checksums(directory: Path, files: list[Path]) -> Path:
    lines = [f"{sha256_file(path)}  {path.name}\n" for path in sorted(files)]
    path = Path(directory) / CHECKSUMS
    write_text(path, "".join(lines))
    path.chmod(0o644)
    return path


def _esci(source_dir: Path, target_dir: Path) -> list[Path]:
    subset = source_dir / ESCI_SUBSET
    if not subset.is_file():
        raise BenchError(f"{subset} not found; --from must be the folder holding {ESCI_SUBSET}")
    try:
        records = json.loads(subset.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise BenchError(f"{subset}: not valid JSON ({err}); fetch it again") from None
    examples: list[dict] = []
    labels: dict[tuple[int, str], str] = {}
    titles: dict[str, list[str]] = defaultdict(list)  # every distinct title of a product id, in file order
    for record in records:  # the file's own order: example ids are assigned in it
        for judged in record["products"]:
            doc_id, label = judged["product_id"], LABELS[int(judged["relevance"])]
            if judged["product_text"] not in titles[doc_id]:
                titles[doc_id].append(judged["product_text"])
            pair = (int(record["query_id"]), doc_id)
            if pair in labels:  # the deriver's join repeats a pair once per locale listing of its product
                if labels[pair] != label:
                    raise BenchError(f"{subset}: query {pair[0]} judges {doc_id} both {labels[pair]} and "
                                     f"{label}; fix the file or fetch it again")
                continue
            labels[pair] = label
            examples.append({
                "example_id": len(examples),
                "query": record["query"],
                "query_id": pair[0],
                "product_id": doc_id,
                "product_locale": "us",
                "esci_label": label,
                "small_version": 1,
                "large_version": 1,
                "split": "test",
            })
    products = {doc_id: pick_title(texts) for doc_id, texts in titles.items()}
    example_frame = pd.DataFrame(examples, columns=esci.EXAMPLE_COLUMNS)
    product_frame = pd.DataFrame({
        "product_id": list(products),
        "product_title": list(products.values()),
        "product_description": None, "product_bullet_point": None, "product_brand": None,
        "product_color": None, "product_locale": "us",
    }, columns=esci.PRODUCT_COLUMNS).astype({c: "string" for c in esci.PRODUCT_COLUMNS})
    written = []
    product_frame = product_frame.sort_values("product_id")
    for frame, file_name in ((example_frame, esci.EXAMPLES), (product_frame, esci.PRODUCTS)):
        path = Path(target_dir) / file_name
        with atomic_path(path) as tmp:
            pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), tmp, compression="zstd")
        written.append(path)
    conflicts = {doc_id: texts for doc_id, texts in titles.items() if len(texts) > 1}
    written.append(_write_conflicts(Path(target_dir) / CONFLICTS, conflicts, products))
    return written


# Conflicting titles. The derived file joined products on product_id alone, so an ASIN listed in
# several locales got each locale's title (one row per listing). It carries no locale, and its
# queries are US queries, so the rule keeps the title in their language, English, by this test:
JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uff00-\uffef]")  # kana, CJK ideographs, full-width forms
ENGLISH_WORDS = frozenset({"the", "and", "for", "with", "of", "to", "in", "on", "by", "from"})
SPANISH_WORDS = frozenset({"de", "del", "el", "la", "las", "los", "con", "para", "por", "y", "sin", "una"})
SPANISH_LETTERS = frozenset("áíóúñ¿¡")  # not é: English titles borrow it from French ("Crème Brûlée")


def english_score(title: str) -> int | None:
    """None for a title in Japanese script; else its English function words minus its Spanish
    evidence (Spanish function words and letters): below 0 it reads as Spanish."""
    if JAPANESE.search(title):
        return None
    lowered = title.lower()
    words = re.findall(r"[^\W\d_]+", lowered)
    english = sum(word in ENGLISH_WORDS for word in words)
    spanish = sum(word in SPANISH_WORDS for word in words) + sum(char in SPANISH_LETTERS for char in lowered)
    return english - spanish


def language(title: str) -> str:
    """ja, es or en, as `english_score` reads the title."""
    score = english_score(title)
    return "ja" if score is None else "es" if score < 0 else "en"


def pick_title(titles: list[str]) -> str:
    """The most English title: Japanese ones lose to any other, then the highest `english_score`
    wins; on a tie the earlier title in the file is kept (max() returns the first maximum)."""
    def rank(title: str) -> tuple[bool, int]:
        score = english_score(title)
        return score is not None, score or 0

    return max(titles, key=rank)


def _write_conflicts(path: Path, conflicts: dict[str, list[str]], kept: dict[str, str]) -> Path:
    """Every title of every conflicting product id, which one was kept and why; one summary line."""
    lines = ["product_id\tkept\tlanguage\tenglish_score\ttitle\n"]
    for doc_id in sorted(conflicts):
        for title in conflicts[doc_id]:
            score = english_score(title)
            lines.append(f"{doc_id}\t{int(title == kept[doc_id])}\t{language(title)}\t"
                         f"{'' if score is None else score}\t{title}\n")
    write_text(path, "".join(lines))

    def languages(titles: list[str]) -> str:
        return ", ".join(f"{name} {count}" for name, count in Counter(map(language, titles)).most_common())

    others = [t for doc_id, texts in conflicts.items() for t in texts if t != kept[doc_id]]
    reordered = sum(texts[0] != kept[doc_id] for doc_id, texts in conflicts.items())
    print(f"esci: {len(conflicts)} product ids with conflicting titles, each kept its most English one "
          f"(kept: {languages([kept[d] for d in conflicts])}; not kept: {languages(others)}; not the file's "
          f"first title for {reordered}); every title is listed in {path.name}")
    return path
