"""The README tells the truth: its leaderboard is the published one, and its trec_eval line gives it."""

from __future__ import annotations

import csv
import re
import shlex
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
RESULTS = ROOT / "results"


def readme_table() -> dict[tuple[str, str], float]:
    """(dataset, retriever) -> nDCG@10 of the README's leaderboard table."""
    section = README.split("## Current leaderboard", 1)[1].split("\n## ", 1)[0]
    lines = [line for line in section.splitlines() if line.startswith("|")]
    header = [cell.strip() for cell in lines[0].strip("|").split("|")]
    table = {}
    for line in lines[2:]:
        cells = [cell.strip().strip("*`") for cell in line.strip("|").split("|")]
        for dataset, value in zip(header[1:], cells[1:], strict=True):
            if value not in {"", "—"}:
                table[(dataset, cells[0])] = float(value)
    return table


def published() -> dict[tuple[str, str], float]:
    with open(RESULTS / "leaderboard.csv", encoding="utf-8") as handle:
        return {(row["dataset"], row["retriever"]): float(row["ndcg@10"])
                for row in csv.DictReader(handle) if not row["variant"]}


def test_readme_is_for_the_first_hour() -> None:
    assert len(README.splitlines()) <= 220
    commands = re.search(r"```bash\n(.*?)```", README, re.S).group(1).strip().splitlines()
    install = 'pip install torch==2.13.0 -e ".[test]" && python -m bench run --all'
    assert commands == [install, "python -m pytest"]


def test_readme_leaderboard_is_the_published_leaderboard() -> None:
    ours, theirs = readme_table(), published()
    assert ours, "no table under '## Current leaderboard'"
    from bench.twins import CHECKS  # correctness twins are shown apart, not ranked

    assert set(ours) == {key for key in theirs if key[1] not in CHECKS}
    for key, value in ours.items():
        assert value == round(theirs[key], 3), key


def trec_eval_line() -> list[str]:
    line = next(line for line in README.splitlines() if "trec_eval -" in line)
    return shlex.split(re.search(r"`(trec_eval [^`]+)`", line).group(1))


def test_readmes_trec_eval_line_gives_the_tables_number() -> None:
    """trec_eval averages over the queries present in the run unless -c says: every qrels query
    (a query the run misses scores 0), as the leaderboard does. Its semantics through pytrec_eval."""
    pytrec_eval = pytest.importorskip("pytrec_eval")
    from bench.results import read_trec_qrels, read_trec_run

    argv = trec_eval_line()
    assert "-c" in argv and argv[argv.index("-m") + 1] == "ndcg_cut.10"
    qrels_path, run_path = (ROOT / part for part in argv[-2:])
    qrels, run = read_trec_qrels(qrels_path), read_trec_run(run_path)
    per_query = pytrec_eval.RelevanceEvaluator(qrels, {"ndcg_cut.10"}).evaluate(run)
    missing = set(qrels) - set(per_query)
    every_query = sum(per_query.get(qid, {}).get("ndcg_cut_10", 0.0) for qid in qrels) / len(qrels)
    dataset, retriever = qrels_path.parent.name, run_path.stem
    assert round(every_query, 3) == round(published()[(dataset, retriever)], 3)
    if missing:  # without -c the number would differ: the line must carry it
        present_only = sum(v["ndcg_cut_10"] for v in per_query.values()) / len(per_query)
        assert round(present_only, 3) != round(every_query, 3)


def test_every_relative_link_of_the_docs_resolves() -> None:
    pages = [ROOT / "README.md", ROOT / "CONTRIBUTING.md", *sorted((ROOT / "docs").glob("*.md"))]
    broken = [f"{page.name}: {target}" for page in pages
              for target in re.findall(r"\]\(([^)#\s]+)", page.read_text(encoding="utf-8"))
              if not target.startswith(("http://", "https://")) and not (page.parent / target).exists()]
    assert not broken
