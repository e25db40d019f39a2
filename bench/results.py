"""The results folder: TREC run and qrels files plus JSON metadata, one folder per dataset.

>>> run = canonical_run({"q1": {"B02": 9.1000004, "B01": 9.1, "B07": 3.0}}, k=2)
>>> run                                # rounded, score descending then doc id descending, cut to k
{'q1': {'B02': 9.1, 'B01': 9.1}}
>>> sha = write_trec_run(Path("results/homedepot/runs/bm25.trec"), run, "bm25")
>>> load_verified_run(Path("results/homedepot/runs/bm25.json"))   # (sidecar, run) or UnverifiedRun

Layout (quick runs never mix with the protocol's full runs):

    results/<dataset>/                       every test query, k = 100, seed 42
        dataset.json  qrels.trec  runs/<stem>.trec  runs/<stem>.json
    results/<dataset>/variants/<variant>/    e.g. q200-seed42-k100: the same inside

Tie convention (trec_eval's own, so the written file, ranx and trec_eval agree): scores are
rounded to `SCORE_DECIMALS` decimals, the value written to the file; within a query, documents
are ranked by that score descending, then by doc id descending (trec_eval compares docnos with
strcmp). `canonical_run` applies it and every run is put through it before it is scored or
written, so the run in memory is the run on disk.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from bench.data import Qrels, Run
from bench.errors import BenchError
from bench.io import atomic_path, read_json, sha256_file

SCORE_DECIMALS = 6
"""Decimals of a written score; also the precision at which two scores tie."""

PROTOCOL_K = 100
PROTOCOL_SEED = 42
"""A run with every test query, this k and this seed is a full-protocol run; any other is a variant."""


class UnverifiedRun(BenchError):
    """A stored run that must not be trusted; the message says why (e.g. its file changed on disk)."""


def round_score(score: float) -> float:
    """The score as written to a run file (`-0.0` becomes `0.0`, so it prints the same)."""
    return round(float(score), SCORE_DECIMALS) + 0.0


def ranked(scores: dict[str, float], k: int | None = None) -> list[tuple[str, float]]:
    """(doc id, rounded score) by rounded score descending, then doc id descending; at most k."""
    rounded = sorted(((doc_id, round_score(s)) for doc_id, s in scores.items()),
                     key=lambda item: (item[1], item[0]), reverse=True)
    return rounded if k is None else rounded[:k]


def canonical_run(run: Run, k: int | None = None) -> Run:
    """The run in canonical form: rounded scores, trec_eval's order, the top k of each query.

    A retriever must return every document tied (at this precision) with its k-th, or the cut
    may keep a document trec_eval would rank below another that was left out.
    """
    return {qid: dict(ranked(scores, k)) for qid, scores in run.items()}


# ------------------------------------------------------------------ layout


def variant_name(limit_queries: int | None, k: int, seed: int, max_docs: int | None = None,
                 split: str = "test") -> str | None:
    """None for a full-protocol run, else the folder name of its variant, e.g. `q200-seed42-k100`.

    `max_docs` (a sampled corpus) adds `-d<N>`: `q200-seed42-k100-d5000`. A split other than test
    is its own variant: `dev` (every dev query, k 100, seed 42), `dev-q200-seed42-k100`.
    """
    protocol = limit_queries is None and k == PROTOCOL_K and seed == PROTOCOL_SEED and max_docs is None
    if protocol:
        return None if split == "test" else split
    name = f"q{limit_queries if limit_queries is not None else 'all'}-seed{seed}-k{k}"
    name = name if max_docs is None else f"{name}-d{max_docs}"
    return name if split == "test" else f"{split}-{name}"


def run_stem(retriever: str) -> str:
    """File name stem of a retriever's run: `hybrid:splade+dense` -> `hybrid_splade+dense`."""
    return retriever.replace(":", "_").replace("/", "_")


def table_dir(out: Path, dataset: str, variant: str | None = None) -> Path:
    """`out/<dataset>` for the full protocol, `out/<dataset>/variants/<variant>` for a variant."""
    folder = Path(out) / dataset
    return folder if variant is None else folder / "variants" / variant


def run_path(
    out: Path, dataset: str, retriever: str, suffix: str = ".trec", variant: str | None = None
) -> Path:
    return table_dir(out, dataset, variant) / "runs" / f"{run_stem(retriever)}{suffix}"


def table_dirs(out: Path) -> list[Path]:
    """Every folder of `out` holding a dataset.json: full-protocol ones first, then variants.

    Each is one independent table: its runs were scored on its own queries only.
    """
    out = Path(out)
    full = sorted(p.parent for p in out.glob("*/dataset.json"))
    variants = sorted(p.parent for p in out.glob("*/variants/*/dataset.json"))
    return full + variants


# ------------------------------------------------------------------ run files


def trec_run_text(run: Run, tag: str) -> str:
    """The TREC run file of `run` (canonical order and precision, no cut)."""
    lines = []
    for qid, scores in run.items():
        for rank, (doc_id, score) in enumerate(ranked(scores), start=1):
            lines.append(f"{qid} Q0 {doc_id} {rank} {score:.{SCORE_DECIMALS}f} {tag}\n")
    return "".join(lines)


def write_trec_run(path: Path, run: Run, tag: str) -> str:
    """Write `run` as a TREC run file (atomically); return the sha256 of the bytes written."""
    data = trec_run_text(run, tag).encode("utf-8")
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return hashlib.sha256(data).hexdigest()


def read_trec_run(path: Path) -> Run:
    run: Run = {}
    for line_no, line in enumerate(_lines(path), start=1):
        parts = line.split()
        if len(parts) != 6:
            raise BenchError(f"{path}:{line_no}: expected 'qid Q0 docid rank score tag'; rerun `bench run`")
        try:
            run.setdefault(parts[0], {})[parts[2]] = float(parts[4])
        except ValueError:
            raise BenchError(f"{path}:{line_no}: score {parts[4]!r} is not a number; rerun `bench run`") \
                from None
    return run


def verify_run(meta_path: Path, key: str | None = None) -> dict[str, Any]:
    """The sidecar of a stored run that can be trusted, else raise `UnverifiedRun` saying why.

    Trusted: the sidecar is a JSON object, its key equals `key` (when given) and the run file
    next to it exists with the sha256 the sidecar recorded.
    """
    meta_path = Path(meta_path)
    trec_path = meta_path.with_suffix(".trec")
    if not meta_path.is_file():
        raise UnverifiedRun(f"no stored run ({meta_path.name} missing)")
    try:
        meta = read_json(meta_path)
    except (OSError, ValueError):
        raise UnverifiedRun(f"stored sidecar {meta_path} is not readable JSON") from None
    if not isinstance(meta, dict):
        raise UnverifiedRun(f"stored sidecar {meta_path} holds a JSON {type(meta).__name__}, not an object")
    if key is not None and meta.get("key") != key:
        raise UnverifiedRun("data, k or model changed since the stored run")
    expected = meta.get("run_sha256")
    if not isinstance(expected, str):
        raise UnverifiedRun(f"stored sidecar {meta_path} records no run_sha256 (written by an older version)")
    if not trec_path.is_file():
        raise UnverifiedRun(f"stored run file {trec_path} is missing")
    if sha256_file(trec_path) != expected:
        raise UnverifiedRun(f"stored run file {trec_path} changed on disk (sha256 mismatch)")
    return meta


def load_verified_run(meta_path: Path) -> tuple[dict[str, Any], Run]:
    """(sidecar, run) of a stored run whose file matches its sidecar; else raise `UnverifiedRun`."""
    meta = verify_run(meta_path)
    return meta, read_trec_run(Path(meta_path).with_suffix(".trec"))


# ------------------------------------------------------------------ qrels


def write_trec_qrels(path: Path, qrels: Qrels) -> None:
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as out:
        for qid, grades in qrels.items():
            for doc_id, gain in grades.items():
                out.write(f"{qid} 0 {doc_id} {gain}\n")


def read_trec_qrels(path: Path) -> Qrels:
    qrels: Qrels = {}
    for line_no, line in enumerate(_lines(path), start=1):
        parts = line.split()
        if len(parts) != 4:
            raise BenchError(f"{path}:{line_no}: expected 'qid 0 docid gain'; rerun `bench run`")
        qrels.setdefault(parts[0], {})[parts[2]] = int(parts[3])
    return qrels


def _lines(path: Path) -> list[str]:
    if not Path(path).is_file():
        raise BenchError(f"{path} not found; run `python -m bench run` first")
    return [line for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]
