"""Cut the real slices shipped in datasets/<name>/ from the publishers' files, reproducibly.

>>> prepare("esci", Path("/work/shared/data/esci"))      # python -m bench data prepare esci --from DIR

- esci: converts the derived subset `harshm-subset/esci_subset.json` (500 official US test
  queries, titles only) ONCE into the official parquet schema, so the official files are a
  drop-in replacement; the loader only reads the official schema.
- homedepot, crowdflower: copy the publisher's `train.csv.zip` unchanged.
- wands: copy the publisher's `query.csv` unchanged (product.csv and label.csv are too large).
Every file written gets a line in `SHA256SUMS` (checked by `data verify`).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from bench.datasets import esci
from bench.errors import BenchError
from bench.io import atomic_path, sha256_file, write_text

CHECKSUMS = "SHA256SUMS"
ESCI_SUBSET = "harshm-subset/esci_subset.json"
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
    examples, products, seen = [], {}, set()
    for record in records:  # the file's own order: example ids are assigned in it
        for judged in record["products"]:
            pair = (record["query_id"], judged["product_id"])
            if pair in seen:  # the subset repeats 69 pairs, always with the same label
                continue
            seen.add(pair)
            examples.append({
                "example_id": len(examples),
                "query": record["query"],
                "query_id": int(record["query_id"]),
                "product_id": judged["product_id"],
                "product_locale": "us",
                "esci_label": LABELS[int(judged["relevance"])],
                "small_version": 1,
                "large_version": 1,
                "split": "test",
            })
            products.setdefault(judged["product_id"], judged["product_text"])
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
    return written
