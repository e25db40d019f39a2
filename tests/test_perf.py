"""`python -m bench perf` on the shipped Home Depot products, in a tiny configuration (no timing asserts)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.cli import main
from bench.commands.perf import parse_sizes
from bench.errors import BenchError
from bench.perf import PerfOptions, path_names
from bench.perf import training as perf_training

SECTIONS = ["## Targets", "## bm25", "## sparse search", "## dense search", "## hybrid",
            "## encoding: splade", "## encoding: splade, --vocabulary data model", "## encoding: dense",
            "## training step", "## Growth with corpus size",
            "## How this was measured"]
EXPECTED = {
    ("bm25", path_names.BM25_ENGINE, "index"), ("bm25", path_names.BM25_ENGINE, "search"),
    ("bm25", path_names.BM25_RANK, "index"), ("bm25", path_names.BM25_RANK, "search"),
    ("bm25", path_names.BM25S, "index"), ("bm25", path_names.BM25S, "search"),
    ("sparse search", path_names.SPARSE_ADAPTER, "search"),
    ("sparse search", path_names.SPARSE_RAW, "search"),
    ("sparse search", path_names.SPARSE_CLIENT, "search"),
    ("sparse search", path_names.SPARSE_SCIPY, "search"),
    ("dense search", path_names.DENSE_ADAPTER, "search"), ("dense search", path_names.DENSE_EXACT, "search"),
    ("dense search", path_names.DENSE_NUMPY, "search"),
    ("hybrid", path_names.HYBRID_FUSED, "search"), ("hybrid", path_names.HYBRID_RANX, "search"),
    ("encoding: splade", path_names.ENCODE_COLD, "encode documents"),
    ("encoding: splade", path_names.ENCODE_RAW_DOCS, "encode documents"),
    ("encoding: dense", path_names.ENCODE_CACHED, "encode documents"),
    ("encoding: dense", path_names.ENCODE_RAW_QUERIES, "encode queries"),
    *((perf_training.VOCABULARY_ENCODING, path, "encode documents")
      for path in (perf_training.ENCODE_LIVE, perf_training.ENCODE_FULL_HEAD, perf_training.ENCODE_STOCK)),
    *((perf_training.TRAINING, path, perf_training.TRAIN_PHASE)
      for path in (perf_training.TRAIN_DATA, perf_training.TRAIN_FULL, perf_training.TRAIN_STOCK)),
}


@pytest.fixture(scope="module")
def perf_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("perf")
    code = main(["perf", "--quick", "--sizes", "50,120", "--queries", "10", "--out", str(out),
                 "--cache-dir", str(out / "cache")])
    assert code == 0
    return out


@pytest.mark.slow
def test_perf_writes_every_section(perf_run: Path) -> None:
    md = (perf_run / "perf-quick.md").read_text()
    for section in SECTIONS:
        assert section in md, section
    assert "Custom run" in md
    report = json.loads((perf_run / "perf-quick.json").read_text())
    assert report["sizes"] == [50, 120] and report["queries"] == 10 and report["label"] == "custom"
    measured = {(m["step"], m["path"], m["phase"]) for m in report["measurements"]}
    assert measured >= EXPECTED, EXPECTED - measured
    for m in report["measurements"]:
        assert m["seconds"] >= 0 and m["count"] > 0 and m["rss_peak_mib"] > 0
    names = {t["name"] for t in report["targets"]}
    assert any("adapter overhead" in name for name in names)
    assert any("rank-bm25" in name for name in names)
    assert sum("adapter vs raw sentence-transformers" in name for name in names) == 4
    assert sum(name.startswith("training step:") for name in names) == 2
    slopes = {(g["step"], g["path"], g["phase"]) for g in report["growth"]}
    assert ("bm25", path_names.BM25_ENGINE, "search") in slopes
    png = perf_run / "plots" / "perf-quick_scaling.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not list((perf_run / "cache").glob("perf-tmp-*")), "the temporary cache is deleted"


@pytest.mark.slow
def test_baselines_return_what_our_paths_return(perf_run: Path) -> None:
    """The alternatives are the same search, not a different one: their top 10 match ours."""
    report = json.loads((perf_run / "perf-quick.json").read_text())
    overlaps = {(m["step"], m["path"], m["size"]): m["extra"]["top10_overlap_with_ours"]
                for m in report["measurements"] if "top10_overlap_with_ours" in m["extra"]}
    for size in (50, 120):
        assert overlaps[("sparse search", path_names.SPARSE_SCIPY, size)] >= 0.95
        assert overlaps[("dense search", path_names.DENSE_NUMPY, size)] >= 0.95
        assert overlaps[("dense search", path_names.DENSE_EXACT, size)] >= 0.95
        assert overlaps[("hybrid", path_names.HYBRID_RANX, size)] >= 0.9
        assert overlaps[("bm25", path_names.BM25S, size)] >= 0.9
        assert overlaps[("bm25", path_names.BM25_RANK, size)] >= 0.9
    # the live-row head of a --vocabulary data model gives the full head's vectors
    differences = [m["extra"]["max_abs_difference_vs_stock"] for m in report["measurements"]
                   if m["step"] == perf_training.VOCABULARY_ENCODING]
    assert len(differences) == 3 and max(differences) < 1e-5


def test_quick_and_sizes_options(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    seen: list[PerfOptions] = []
    monkeypatch.setattr("bench.perf.run_perf", lambda options: seen.append(options) or [])
    assert main(["perf", "--quick", "--out", str(tmp_path)]) == 0
    assert seen[-1].quick and seen[-1].sizes == [1_000, 10_000] and seen[-1].stem == "perf-quick"
    assert main(["perf", "--out", str(tmp_path)]) == 0
    assert not seen[-1].quick and seen[-1].sizes == [1_000, 10_000, None] and seen[-1].stem == "perf"
    assert parse_sizes("1000, 10_000,all") == [1000, 10000, None]
    with pytest.raises(BenchError, match="--sizes"):
        parse_sizes("1k")
    assert main(["perf", "--sizes", "0,100", "--out", str(tmp_path)]) == 2  # one-line error, no traceback
