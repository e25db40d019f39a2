"""The user's view: `python -m bench ...` on the shipped data, plug-ins, resume, bad names."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from bench.cli import main

REPO = Path(__file__).resolve().parents[1]
ADAPTER = '''
from bench.retriever import Retriever


class TitleOverlap(Retriever):
    """Scores a product by how many query words its title contains."""

    name = "title-overlap"

    def index(self, corpus):
        self.titles = {d: set(doc.title.lower().split()) for d, doc in corpus.items()}

    def search(self, queries, k):
        run = {}
        for qid, text in queries.items():
            words = set(text.lower().split())
            scores = {d: float(len(words & t)) for d, t in self.titles.items() if words & t}
            run[qid] = dict(sorted(scores.items(), key=lambda item: (-item[1], item[0]))[:k])
        return run
'''


def bench(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bench", *args], cwd=REPO, capture_output=True, text=True,
        env={**os.environ, **(env or {})}, timeout=600,
    )


def leaderboard_rows(out: Path) -> list[dict[str, str]]:
    with open(out / "leaderboard.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def test_third_party_adapter_is_discovered_through_its_entry_point(tmp_path: Path) -> None:
    site = tmp_path / "site"
    (site / "throwaway_adapter-0.1.dist-info").mkdir(parents=True)
    (site / "throwaway_adapter.py").write_text(ADAPTER)
    (site / "throwaway_adapter-0.1.dist-info" / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: throwaway-adapter\nVersion: 0.1\n"
    )
    (site / "throwaway_adapter-0.1.dist-info" / "entry_points.txt").write_text(
        textwrap.dedent("""\
            [bench.retrievers]
            title-overlap = throwaway_adapter:TitleOverlap
        """)
    )
    env = {"PYTHONPATH": str(site)}

    listed = bench("list", env=env)
    assert listed.returncode == 0, listed.stderr
    assert "title-overlap" in listed.stdout and "throwaway_adapter:TitleOverlap" in listed.stdout

    out = tmp_path / "results"
    ran = bench("run", "-r", "title-overlap", "-d", "homedepot", "--limit-queries", "40",
                "--latency-queries", "5", "--out", str(out), "--cache-dir", str(tmp_path / "cache"), env=env)
    assert ran.returncode == 0, ran.stderr
    # a quick run (40 of 2,000 queries) is stored apart from the full protocol's runs
    assert (out / "homedepot" / "variants" / "q40-seed42-k100" / "runs" / "title-overlap.trec").is_file()
    assert not (out / "homedepot" / "runs").exists()
    (row,) = leaderboard_rows(out)
    assert row["dataset"] == "homedepot" and row["retriever"] == "title-overlap"
    assert 0 < float(row["ndcg@10"]) <= 1


def test_interrupted_run_resumes_and_reruns_give_the_same_leaderboard(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from retrievers.bm25_rank import BM25Rank

    out, cache = tmp_path / "results", tmp_path / "cache"
    argv = ["run", "-r", "bm25", "-r", "bm25-rank", "-d", "homedepot", "--limit-queries", "60",
            "--latency-queries", "5", "--out", str(out), "--cache-dir", str(cache)]

    def interrupt(self, queries, k):
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(BM25Rank, "search", interrupt)
        assert main(argv) == 130
    runs = out / "homedepot" / "variants" / "q60-seed42-k100" / "runs"
    assert sorted(p.name for p in runs.iterdir()) == ["bm25.json", "bm25.trec"]  # no half-written files
    assert not (out / "leaderboard.csv").exists()

    capsys.readouterr()
    assert main(argv) == 0
    assert "reused" in capsys.readouterr().out  # bm25 was not run again
    first = leaderboard_rows(out)
    assert [r["retriever"] for r in first] == ["bm25", "bm25-rank"]

    assert main([*argv, "--force"]) == 0
    second = leaderboard_rows(out)
    metrics = ["ndcg@10", "mrr@10", "recall@100", "map@100"]
    assert [[r[m] for m in metrics] for r in first] == [[r[m] for m in metrics] for r in second]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["run", "-r", "nope", "-d", "homedepot"], "unknown retriever 'nope'"),
        (["run", "-d", "amazon"], "unknown dataset 'amazon'"),
        (["run"], "say what to run"),
    ],
)
def test_bad_names_get_one_line_errors(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_a_model_retrained_in_place_is_benchmarked_again(tmp_path: Path) -> None:
    """A stored run is reused only for the same weights, not merely the same model path."""
    from safetensors.torch import load_file, save_file

    from bench.datasets import load
    from bench.encoders import load_sparse
    from bench.runner import RunOptions, _run_key

    model_dir = tmp_path / "splade-shop"
    load_sparse(None).save(str(model_dir))
    dataset = load("homedepot", limit_queries=20)
    options = RunOptions(models={"splade": str(model_dir)}, cache_dir=tmp_path / "cache")
    before = {name: _run_key(dataset, name, options) for name in ("splade", "hybrid:splade+dense", "bm25")}

    weights_file = next(model_dir.glob("*.safetensors"))
    weights = load_file(weights_file)
    name = next(iter(weights))
    weights[name] = weights[name] + 0.01  # "retrained": same path, other weights
    save_file(weights, str(weights_file), metadata={"format": "pt"})
    after = {name: _run_key(dataset, name, options) for name in before}

    assert after["splade"] != before["splade"]
    assert after["hybrid:splade+dense"] != before["hybrid:splade+dense"]
    assert after["bm25"] == before["bm25"]
