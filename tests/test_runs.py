"""Stored runs on real shipped data (ESCI slice, BM25 in Qdrant Edge and rank_bm25): the tie
convention, verified reuse after real damage to the files, and quick runs kept apart."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from bench.cli import main
from bench.io import sha256_file
from bench.results import (
    UnverifiedRun,
    canonical_run,
    load_verified_run,
    read_trec_run,
    run_path,
    table_dirs,
    trec_run_text,
    verify_run,
)

RUN = ["run", "-d", "esci", "-r", "bm25", "-r", "bm25-rank", "--latency-queries", "3"]


def bench(args: list[str], tmp: Path, capsys: pytest.CaptureFixture[str] | None = None) -> str:
    """`python -m bench ...` in this process with the test's own results and cache; its stdout."""
    folders = ["--out", str(tmp / "results")]
    if args[0] == "run":
        folders += ["--cache-dir", str(tmp / "cache")]
    code = main([*args, *folders])
    if capsys is None:
        assert code == 0
        return ""
    out = capsys.readouterr()
    assert code == 0, out.err
    return out.out


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real full-protocol run of bm25 and bm25-rank on ESCI (results and cache), done once."""
    folder = tmp_path_factory.mktemp("pristine")
    bench(RUN, folder)
    return folder


@pytest.fixture
def stored(pristine: Path, tmp_path: Path) -> Path:
    """This test's own copy of the pristine run (results and cache); returns the bm25 sidecar."""
    shutil.copytree(pristine, tmp_path, dirs_exist_ok=True)
    return run_path(tmp_path / "results", "esci", "bm25", ".json")


def test_canonical_run_rounds_orders_like_trec_eval_and_cuts() -> None:
    run = {"q1": {"B01": 2.0, "B03": 9.1000004, "B02": 9.1, "B04": -0.0000001}}
    assert list(canonical_run(run)["q1"].items()) == [("B03", 9.1), ("B02", 9.1), ("B01", 2.0), ("B04", 0.0)]
    assert list(canonical_run(run, k=1)["q1"]) == ["B03"]  # the doc id trec_eval ranks first
    assert trec_run_text(run, "t").splitlines()[3] == "q1 Q0 B04 4 0.000000 t"  # no "-0.000000"


def test_stored_run_is_canonical_and_its_sidecar_records_its_sha256(stored: Path) -> None:
    meta, run = load_verified_run(stored)
    assert meta["run_sha256"] == sha256_file(stored.with_suffix(".trec"))
    assert meta["variant"] is None and meta["k"] == 100
    assert run == canonical_run(run, 100)  # what is on disk is already in canonical form
    # bm25 in the engine and rank_bm25 in memory rank the same products (ties included)
    reference = read_trec_run(run_path(stored.parents[2], "esci", "bm25-rank"))
    assert [list(docs) for docs in run.values()] == [list(docs) for docs in reference.values()]


@pytest.mark.parametrize("cut", ["line end", "mid-line"])
def test_truncated_run_file_is_recomputed_and_skipped_by_the_leaderboard(
    stored: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], cut: str
) -> None:
    trec = stored.with_suffix(".trec")
    original = trec.read_bytes()
    half = original[: len(original) // 2]
    half = half[: half.rindex(b"\n") + 1] if cut == "line end" else half.rstrip(b"\n")[:-3]
    trec.write_bytes(half)  # a real truncation: the file is cut, the sidecar still says "done"
    with pytest.raises(UnverifiedRun, match="sha256 mismatch"):
        verify_run(stored)

    out = bench(["leaderboard"], tmp_path, capsys)  # skips the damaged run with one line, keeps the other
    skipped = [line for line in out.splitlines() if line.startswith("skip")]
    assert len(skipped) == 1 and "bm25.trec" in skipped[0] and "sha256 mismatch" in skipped[0]
    board = json.loads((tmp_path / "results" / "leaderboard.json").read_text())
    assert set(board["datasets"]["esci"]["retrievers"]) == {"bm25-rank"}

    out = bench(RUN, tmp_path, capsys)
    assert "bm25: stored run file" in out and "changed on disk (sha256 mismatch): recomputing" in out
    assert trec.read_bytes() == original  # recomputed, byte for byte
    assert "bm25-rank              done before" in out


@pytest.mark.parametrize("damage", ["json list", "garbage", "no run file"])
def test_damaged_sidecar_or_missing_run_file_is_recomputed(
    stored: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], damage: str
) -> None:
    trec = stored.with_suffix(".trec")
    original = trec.read_bytes()
    if damage == "json list":
        stored.write_text(json.dumps([json.loads(stored.read_text())]))
    elif damage == "garbage":
        stored.write_bytes(b"\x00\xffnot json")
    else:  # a fresh clone: sidecars are committed, run files are not
        trec.unlink()
    out = bench(RUN, tmp_path, capsys)
    expected = {"json list": "holds a JSON list, not an object", "garbage": "is not readable JSON",
                "no run file": "is missing"}[damage]
    assert f"{expected}: recomputing" in out
    assert trec.read_bytes() == original
    verify_run(stored)


def test_quick_runs_live_apart_and_never_touch_the_full_run(
    stored: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_dir = tmp_path / "results"
    full_sha = sha256_file(stored.with_suffix(".trec"))
    bench([*RUN, "--limit-queries", "20"], tmp_path, capsys)
    bench([*RUN, "--k", "10"], tmp_path, capsys)

    quick = out_dir / "esci" / "variants" / "q20-seed42-k100"
    other_k = out_dir / "esci" / "variants" / "qall-seed42-k10"
    assert table_dirs(out_dir) == [out_dir / "esci", quick, other_k]
    assert sha256_file(stored.with_suffix(".trec")) == full_sha
    assert verify_run(stored)["queries"] == 310

    dataset = json.loads((quick / "dataset.json").read_text())
    assert (dataset["variant"], dataset["queries"]) == ("q20-seed42-k100", 20)
    meta, run = load_verified_run(quick / "runs" / "bm25.json")
    assert meta["variant"] == "q20-seed42-k100" and len(run) == 20
    assert len({line.split()[0] for line in (quick / "qrels.trec").read_text().splitlines()}) <= 20
    _, run_k10 = load_verified_run(other_k / "runs" / "bm25.json")
    assert max(len(docs) for docs in run_k10.values()) == 10

    out = bench([*RUN, "--limit-queries", "20"], tmp_path, capsys)  # its own key: reused, not redone
    assert out.count("done before") == 2


def test_dev_runs_are_their_own_table_and_tuning_never_sees_the_scored_split(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`run --split dev` goes to variants/dev; bm25-tuned on the shipped ESCI slice (no dev queries)
    is tuned on the other datasets' dev splits, and on CrowdFlower on CrowdFlower's own dev split."""
    from bench.datasets import load

    out = bench(["run", "-d", "crowdflower", "-r", "bm25-tuned", "--split", "dev", "--latency-queries", "2"],
                tmp_path, capsys)
    dev_table = tmp_path / "results" / "crowdflower" / "variants" / "dev"
    assert json.loads((dev_table / "dataset.json").read_text())["split"] == "dev"
    assert not (tmp_path / "results" / "crowdflower" / "runs").exists()  # the test table is untouched
    dev_queries = set(load("crowdflower", split="dev").queries)
    assert set(read_trec_run(dev_table / "runs" / "bm25-tuned.trec")) <= dev_queries
    assert "tuned in" in out and "crowdflower" in out

    bench(["run", "-d", "esci", "-r", "bm25-tuned", "-r", "bm25", "--latency-queries", "2"], tmp_path)
    tuned = verify_run(run_path(tmp_path / "results", "esci", "bm25-tuned", ".json"))
    assert {d["dataset"] for d in tuned["info"]["tuning"]["dev"]} == {"homedepot", "crowdflower"}
    assert all(d["split"] == "dev" for d in tuned["info"]["tuning"]["dev"])
    plain = verify_run(run_path(tmp_path / "results", "esci", "bm25", ".json"))
    # timings say what they include: model-free retrievers have no load time; QPS is warm
    assert plain["model_load_seconds"] is None and plain["warmup"] is True
    assert tuned["tune_seconds"] > 0 and plain["tune_seconds"] is None


def test_a_run_all_from_an_empty_cache_is_cold_though_its_hybrids_open_their_parts_indexes(
        tmp_path: Path) -> None:
    from bench.io import read_json, write_json
    from bench.runner import Outcome, record_wall_time

    write_json(tmp_path / "environment.json", {"cpu": {"model": "x", "cores": 2}, "gpu": None})
    built = [Outcome(tmp_path / "bm25.json", reused=False),
             Outcome(tmp_path / "hybrid_bm25+dense.json", reused=False, index_cached=True)]
    assert record_wall_time(tmp_path, built, 1169.6, ["splade-doc"], cache_was_empty=True) == "cold"
    assert record_wall_time(tmp_path, built, 300.0, [], cache_was_empty=False) == "mixed"
    assert record_wall_time(tmp_path, [Outcome(tmp_path / "bm25.json", reused=True)], 17.3, []) == "warm"
    timings = read_json(tmp_path / "run_timings.json")
    assert (timings["cold"]["seconds"], timings["cold"]["models_trained"]) == (1169.6, ["splade-doc"])
    assert timings["mixed"]["seconds"] == 300.0 and timings["warm"]["reused"] == 1
