"""The results folder: TREC run and qrels files plus JSON metadata, one folder per dataset.

>>> write_trec_run(Path("results/homedepot/runs/bm25.trec"), run, "bm25")
>>> read_trec_run(Path("results/homedepot/runs/bm25.trec")) == run
True
"""

from __future__ import annotations

from pathlib import Path

from bench.data import Qrels, Run
from bench.errors import BenchError
from bench.io import atomic_path


def run_stem(retriever: str) -> str:
    """File name stem of a retriever's run: `hybrid:splade+dense` -> `hybrid_splade+dense`."""
    return retriever.replace(":", "_").replace("/", "_")


def dataset_dir(out: Path, dataset: str) -> Path:
    return Path(out) / dataset


def run_path(out: Path, dataset: str, retriever: str, suffix: str = ".trec") -> Path:
    return dataset_dir(out, dataset) / "runs" / f"{run_stem(retriever)}{suffix}"


def write_trec_run(path: Path, run: Run, tag: str) -> None:
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as out:
        for qid, scores in run.items():
            ranked = sorted(scores.items(), key=lambda item: (-item[1], item[0]))
            for rank, (doc_id, score) in enumerate(ranked, start=1):
                out.write(f"{qid} Q0 {doc_id} {rank} {score:.6f} {tag}\n")


def read_trec_run(path: Path) -> Run:
    run: Run = {}
    for line_no, line in enumerate(_lines(path), start=1):
        parts = line.split()
        if len(parts) != 6:
            raise BenchError(f"{path}:{line_no}: expected 'qid Q0 docid rank score tag'; rerun `bench run`")
        run.setdefault(parts[0], {})[parts[2]] = float(parts[4])
    return run


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
