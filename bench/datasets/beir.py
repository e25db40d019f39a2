"""A BEIR folder: `corpus.jsonl`, `queries.jsonl`, `qrels/<split>.tsv` (what pyserini, MTEB and
ir_datasets users have on disk, and what `python -m bench data export` writes).

>>> source = read(Path("my-shop"), detect(Path("my-shop")))

corpus.jsonl: one JSON object a line, `_id`, `title`, `text`; any other key is kept in
`Document.fields` (as a string). queries.jsonl: `_id`, `text`. qrels/<split>.tsv: a header line
`query-id corpus-id score`, then TAB-separated rows with integer grades. A split is each qrels
file present (test, train, dev, ...); a query may be in one split only.

The corpus is read line by line into Documents (no second copy of the file or of the rows in
memory), so a million products load in seconds.
"""

from __future__ import annotations

import codecs
import contextlib
import gc
import json
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from bench.data import Corpus, Document, Qrels
from bench.datasets.spec import SPEC_FILE, DatasetSpec, check_grade, grade_gains, settle_grades
from bench.datasets.protocol import TEXT_CHARS, Source, documents_from
from bench.datasets.readers import guess_encoding
from bench.errors import BenchError

CORPUS, QUERIES, QRELS = "corpus.jsonl", "queries.jsonl", "qrels"
QRELS_HEADER = ["query-id", "corpus-id", "score"]
BEIR_RELEVANT = 1  # BEIR's convention: any positive score is relevant


def missing(directory: Path, spec: DatasetSpec | None = None) -> str | None:
    absent = [name for name in (CORPUS, QUERIES) if not (directory / name).is_file()]
    if not qrels_files(directory):
        absent.append(f"{QRELS}/test.tsv")
    if absent:
        return (f"{directory}: {', '.join(absent)} not found; a BEIR folder holds corpus.jsonl, "
                "queries.jsonl and qrels/<split>.tsv (see datasets/README.md)")
    return None


def qrels_files(directory: Path) -> list[Path]:
    folder = directory / QRELS
    return sorted(folder.glob("*.tsv")) if folder.is_dir() else []


def json_lines(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) for each non-blank line; a bad line is one error naming it.

    orjson (a dependency of ranx) parses a line 3x faster than `json.loads`: it decides how long
    a million-product load takes.
    """
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, 1):
            if number == 1 and raw.startswith(codecs.BOM_UTF8):
                raw = raw[len(codecs.BOM_UTF8):]
            if not raw.strip():
                continue
            try:
                obj = orjson.loads(raw)
            except orjson.JSONDecodeError as err:
                try:
                    raw.decode("utf-8")
                except UnicodeDecodeError:
                    raise BenchError(f"{path}: line {number}: not UTF-8 text, it looks like "
                                     f"{guess_encoding(raw)}; re-save the file as UTF-8") from None
                raise BenchError(f"{path}: line {number}: not valid JSON ({err.msg} at column {err.colno}); "
                                 "each line must be one JSON object: fix or remove that line") from None
            if not isinstance(obj, dict):
                raise BenchError(f"{path}: line {number}: a JSON {type(obj).__name__}, not an object; "
                                 'each line must look like {"_id": "...", ...}')
            yield number, obj


def _id(obj: dict[str, Any], path: Path, number: int) -> str:
    value = obj.get("_id")
    if value is None or str(value).strip() == "":
        raise BenchError(f"{path}: line {number}: no \"_id\"; every line needs one")
    return str(value)


def _first_line(path: Path, wanted: str) -> int:
    """The line of the first object with `_id` == wanted (only called to name a duplicate)."""
    return next(number for number, obj in json_lines(path) if str(obj.get("_id")) == wanted)


def _duplicate(path: Path, value: str, number: int) -> BenchError:
    return BenchError(f"{path}: line {number}: duplicate _id {value!r} (first on line "
                      f"{_first_line(path, value)}); ids must be unique: remove or rename one")


def _text(value: Any) -> str:
    return value if isinstance(value, str) else "" if value is None else json.dumps(value, ensure_ascii=False)


@contextlib.contextmanager
def _no_gc() -> Iterator[None]:
    """Pause the cycle collector: a million new (acyclic) Documents otherwise trigger it again and
    again over an ever larger heap, which doubled the load time."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def read_corpus(path: Path) -> Corpus:
    """Every product of corpus.jsonl, streamed: title stripped, text cut to 2,000 characters."""
    with _no_gc():
        return _read_corpus(path)


def _read_corpus(path: Path) -> Corpus:
    corpus: Corpus = {}
    for number, obj in json_lines(path):
        doc_id = _id(obj, path, number)
        if doc_id in corpus:
            raise _duplicate(path, doc_id, number)
        title = _text(obj.pop("title", "")).strip()
        text = _text(obj.pop("text", ""))
        text = text[:TEXT_CHARS] if text.strip() else ""
        if not title and not text:
            raise BenchError(f"{path}: line {number}: product {doc_id!r} has an empty title and text; "
                             "give it a title or remove the line")
        del obj["_id"]
        fields = {key: _text(value) for key, value in obj.items() if value not in (None, "")} if obj else {}
        corpus[doc_id] = Document(doc_id, title, text, fields)
    if not corpus:
        raise BenchError(f"{path}: no products; one JSON object per line: {{\"_id\", \"title\", \"text\"}}")
    return corpus


def read_queries(path: Path) -> dict[str, str]:
    queries: dict[str, str] = {}
    for number, obj in json_lines(path):
        qid = _id(obj, path, number)
        if qid in queries:
            raise _duplicate(path, qid, number)
        text = _text(obj.get("text")).strip()
        if not text:
            raise BenchError(f"{path}: line {number}: query {qid!r} has an empty \"text\"; "
                             "give it one or remove the line")
        queries[qid] = text
    return queries


def read_qrels(path: Path, queries: dict[str, str], corpus: Corpus, spec: DatasetSpec) -> Qrels:
    """One qrels file; every row checked (columns, integer grade in scale, known ids, no repeats)."""
    qrels: Qrels = defaultdict(dict)
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except UnicodeDecodeError:
        raise BenchError(f"{path}: not UTF-8 text, it looks like {guess_encoding(path.read_bytes())}; "
                         "re-save it as UTF-8") from None
    header = lines[0].split("\t") if lines else []
    if [h.strip() for h in header] != QRELS_HEADER:
        raise BenchError(f"{path}: line 1 is {lines[0] if lines else 'empty'!r}, not the header "
                         "'query-id<TAB>corpus-id<TAB>score'; add that header line (TAB-separated)")
    for number, line in enumerate(lines[1:], 2):
        if not line.strip():
            continue
        cells = [cell.strip() for cell in line.split("\t")]
        if len(cells) != 3:
            raise BenchError(f"{path}: line {number}: {len(cells)} TAB-separated cells, expected 3 "
                             "(query-id, corpus-id, score)")
        qid, doc_id, score = cells
        try:
            grade = int(score)
        except ValueError:
            raise BenchError(f"{path}: line {number}: score {score!r} is not a whole number; grades are "
                             "integers (0 = irrelevant)") from None
        check_grade(grade, spec, path, f"line {number}")
        if qid not in queries:
            raise BenchError(f"{path}: line {number}: query-id {qid!r} is not in "
                             f"{path.parent.parent / QUERIES}; add the query or remove the line")
        if doc_id not in corpus:
            raise BenchError(f"{path}: line {number}: corpus-id {doc_id!r} is not in "
                             f"{path.parent.parent / CORPUS}; add the product or remove the line")
        if doc_id in qrels[qid]:
            raise BenchError(f"{path}: line {number}: ({qid!r}, {doc_id!r}) judged twice; keep one line")
        qrels[qid][doc_id] = grade
    return dict(qrels)


def read(directory: Path, spec: DatasetSpec) -> Source:
    reason = missing(directory)
    if reason:
        raise BenchError(reason)
    corpus = read_corpus(directory / CORPUS)
    queries = read_queries(directory / QUERIES)
    qrels: Qrels = {}
    split_of: dict[str, str] = {}
    for path in qrels_files(directory):
        split = path.stem
        for qid, grades in read_qrels(path, queries, corpus, spec).items():
            if qid in split_of:
                raise BenchError(f"{path}: query-id {qid!r} is also in qrels/{split_of[qid]}.tsv; a query "
                                 "must be in one split only (no test query in training): remove it from one")
            split_of[qid] = split
            qrels[qid] = grades
    found = {g for judged in qrels.values() for g in judged.values()}
    relevant, grade_note = settle_grades(found, spec, directory, BEIR_RELEVANT)
    unjudged = len(queries) - len(qrels)
    queries = {qid: text for qid, text in queries.items() if qid in qrels}
    test = {qid for qid, split in split_of.items() if split == "test"}
    train = {qid for qid, split in split_of.items() if split == "train"}
    others: dict[str, set[str]] = defaultdict(set)
    for qid, split in split_of.items():
        if qid not in test and qid not in train:
            others[split].add(qid)
    notes = [f"BEIR folder {directory}: splits {', '.join(sorted(set(split_of.values())))}", grade_note]
    if unjudged:
        notes.append(f"{unjudged} queries in {QUERIES} have no judgments in {QRELS}/: left out")
    if (directory / SPEC_FILE).is_file():
        notes.append(f"settings from {directory / SPEC_FILE}")
    return Source(spec.name, queries, qrels, test, list(corpus), documents_from(corpus), relevant,
                  fill_to=None, notes=notes, max_test_queries=None, other_splits=dict(others),
                  gains=grade_gains(found))
