"""Write dataset splits as a BEIR folder, so other tools run on exactly our protocol.

>>> export_beir([load("homedepot", "test")], Path("exports/homedepot"))
PosixPath('exports/homedepot')

The folder holds `corpus.jsonl` (`_id`, `title`, `text`, then each `Document.fields` entry),
`queries.jsonl` (`_id`, `text`), `qrels/<split>.tsv` (header `query-id corpus-id score`) and a
`dataset.toml` with the relevant grade and the grade scale. The corpus is the union of the
exported splits' corpora; with the test split alone, loading the folder back
(`load("exports/homedepot")`) gives the same corpus, queries and judgments, so every metric is
the same. Written into a temporary folder beside `out` and renamed when complete.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

from bench.data import Corpus, Dataset
from bench.datasets.beir import CORPUS, QRELS, QRELS_HEADER, QUERIES
from bench.datasets.spec import SPEC_FILE
from bench.errors import BenchError


def export_beir(splits: list[Dataset], out: Path) -> Path:
    """Write `splits` (one dataset, one or more splits) to the BEIR folder `out`; return it."""
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise BenchError(f"{out}: already exists and is not empty; choose another --out or remove it")
    grades = {g for split in splits for judged in split.qrels.values() for g in judged.values()}
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".partial", dir=out.parent))
    try:
        corpus: Corpus = {}
        for split in splits:
            corpus.update(split.corpus)
        with open(partial / CORPUS, "w", encoding="utf-8") as handle:
            for doc_id in sorted(corpus):
                doc = corpus[doc_id]
                fields = {k: v for k, v in doc.fields.items() if k not in ("_id", "title", "text")}
                handle.write(json.dumps({"_id": doc_id, "title": doc.title, "text": doc.text, **fields},
                                        ensure_ascii=False) + "\n")
        with open(partial / QUERIES, "w", encoding="utf-8") as handle:
            for split in splits:
                for qid, text in split.queries.items():
                    handle.write(json.dumps({"_id": qid, "text": text}, ensure_ascii=False) + "\n")
        (partial / QRELS).mkdir()
        for split in splits:
            rows = ["\t".join(QRELS_HEADER)]
            rows += [f"{qid}\t{doc_id}\t{grade}" for qid, judged in split.qrels.items()
                     for doc_id, grade in sorted(judged.items())]
            (partial / QRELS / f"{split.split}.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")
        first = splits[0]
        notes = "".join(f"# {note}\n" for split in splits for note in split.notes)
        names = ", ".join(s.split for s in splits)
        (partial / SPEC_FILE).write_text(
            f"# Exported by `python -m bench data export {first.name}` ({names}).\n"
            f"{notes}format = \"beir\"\nrelevant_grade = {first.relevant_grade}\n"
            + (f"grades = [{min(grades)}, {max(grades)}]\n" if len(grades) > 1 and min(grades) >= 0 else ""),
            encoding="utf-8",
        )
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(partial, 0o777 & ~umask)  # mkdtemp makes it private; the export is for sharing
        if out.is_dir():
            out.rmdir()  # empty: checked above
        os.replace(partial, out)
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return out
