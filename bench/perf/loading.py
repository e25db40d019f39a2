"""Loading a large custom catalog: a generated 1,000,000-product BEIR folder through `bench.datasets.load`.

>>> dataset_load(recorder, workload, products=1_000_000, root=Path("/tmp/perf"))

The folder is written untimed from the workload's real product titles, repeated under new ids
(each product: a title and a text of the next three titles, about the size of a shop's short
description), with the workload's queries judging ten products each. It exists only to time
loading and measure its memory: it is never benchmarked for quality. Our path is
`load(folder, "test")` (corpus.jsonl streamed line by line into Documents, every product in the
test corpus); the alternative is what a user would write first, `pandas.read_json(lines=True)`
on corpus.jsonl alone (a DataFrame, no Documents yet).
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from bench.perf.measure import Recorder
from bench.perf.workload import Workload

STEP = "dataset load"
OURS = "bench.datasets.load (BEIR folder, streamed)"
PANDAS = "pandas.read_json(lines=True), corpus only"


def write_beir(folder: Path, workload: Workload, products: int, seed: int = 42) -> int:
    """Write the generated BEIR folder; return the corpus file's size in bytes."""
    (folder / "qrels").mkdir(parents=True, exist_ok=True)
    titles = [workload.products[doc_id].title for doc_id in workload.order]
    with open(folder / "corpus.jsonl", "w", encoding="utf-8") as handle:
        for i in range(products):
            n = len(titles)
            text = " ".join(titles[(i + j) % n] for j in (1, 2, 3))
            handle.write(json.dumps({"_id": f"g{i:07d}", "title": titles[i % n], "text": text}) + "\n")
    rng = random.Random(seed)
    queries = list(workload.queries.items())
    with open(folder / "queries.jsonl", "w", encoding="utf-8") as handle:
        for qid, text in queries:
            handle.write(json.dumps({"_id": qid, "text": text}) + "\n")
    rows = ["query-id\tcorpus-id\tscore"]
    grades = (2, 1, 1, 0, 0, 0, 0, 0, 0, 0)
    for qid, _ in queries:
        judged = rng.sample(range(products), len(grades))
        rows += [f"{qid}\tg{i:07d}\t{grade}" for i, grade in zip(judged, grades, strict=True)]
    (folder / "qrels" / "test.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    spec = 'name = "generated-load-test"\nrelevant_grade = 1\n'
    (folder / "dataset.toml").write_text(spec, encoding="utf-8")
    return (folder / "corpus.jsonl").stat().st_size


def dataset_load(recorder: Recorder, workload: Workload, products: int, root: Path) -> None:
    """Time and measure loading `products` generated products, ours and pandas (records appended)."""
    import pandas as pd

    from bench.datasets import load

    folder = root / "generated-beir"
    size = write_beir(folder, workload, products)
    with recorder.measure(STEP, OURS, "load", products, products, ours=True) as record:
        dataset = load(str(folder), "test")
        record.extra.update(corpus_mib=round(size / 2**20), documents=len(dataset.corpus),
                            queries=len(dataset.queries))
    del dataset
    with recorder.measure(STEP, PANDAS, "load", products, products) as record:
        frame = pd.read_json(folder / "corpus.jsonl", lines=True, dtype=False)
        record.extra["rows"] = len(frame)
    del frame
