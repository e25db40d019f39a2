"""Real faults on shipped data: damaged index files, a full disk (a real tmpfs), signals, file modes.

Disk-full tests mount a small tmpfs (CI runs as root) and skip with the reason where the
mount is refused. Signal tests start the real CLI in a subprocess and signal it mid-encoding.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import xxhash

from bench.data import Dataset
from bench.engine import VectorField
from bench.engine.edge import EdgeEngine
from bench.io import atomic_path, manifest, read_json, remove_stale_temps, write_json, xxh3_file
from retrievers.bm25 import BM25

REPO = Path(__file__).resolve().parents[1]
FIELDS = [VectorField("bm25", kind="sparse", idf=True)]
CROWDFLOWER_DOCS = 9913
ENCODING = re.compile(r"splade documents:\s+\d+%\|[^|]*\|\s*([1-9]\d*)/9913")  # a batch is done
CACHED = re.compile(r"splade documents: (\d+) of 9913 texts already cached")


# ---------------------------------------------------------------- helpers


def bench(*args: str, timeout: int = 900) -> subprocess.CompletedProcess[str]:
    """The real CLI in a subprocess, from the repository root."""
    return subprocess.run([sys.executable, "-m", "bench", *args], cwd=REPO, capture_output=True,
                          text=True, timeout=timeout)


def start_bench(log: Path, *args: str) -> subprocess.Popen[bytes]:
    """The real CLI in the background, output in `log`; SIGINT as a terminal delivers it.

    A shell starts background jobs with SIGINT ignored, and Python then never raises
    KeyboardInterrupt: give the child the default disposition, as an interactive shell does.
    """
    with open(log, "wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "bench", *args], cwd=REPO, stdout=out, stderr=subprocess.STDOUT,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )


def wait_for(pattern: re.Pattern[str], log: Path, process: subprocess.Popen, timeout: float = 600) -> int:
    """The largest number `pattern` captured in `log` once it appears (fails if the run ends first)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [int(n) for n in pattern.findall(log.read_text(errors="replace"))]
        if found:
            return max(found)
        if process.poll() is not None:
            pytest.fail(f"exited {process.returncode} before {pattern.pattern!r}:\n{tail(log)}")
        time.sleep(0.5)
    process.kill()
    pytest.fail(f"no {pattern.pattern!r} after {timeout} s:\n{tail(log)}")


def tail(log: Path) -> str:
    return log.read_text(errors="replace").replace("\r", "\n")[-2000:]


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    """The `error:` line of a failed run, after checking there is exactly that and no traceback."""
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.stderr[-3000:]
    return errors[0]


def temp_files(*folders: Path) -> list[Path]:
    return [p for folder in folders for p in folder.rglob("*.tmp")]


def load_bm25(engine: EdgeEngine, corpus: Dataset, name: str = "products") -> list:
    """Index the real CrowdFlower corpus with BM25 vectors; return the hits of 20 real queries."""
    doc_ids = sorted(corpus.corpus)
    bm25 = BM25()
    vectors = bm25.encode_documents([corpus.corpus[d].contents for d in doc_ids])
    collection = engine.collection(name, FIELDS)
    if not collection.complete:
        for start in range(0, len(vectors), 1024):
            stop = min(start + 1024, len(vectors))
            collection.upsert(list(range(start, stop)), {"bm25": vectors[start:stop]})
        collection.finish()
    queries = bm25.encode_queries(list(corpus.queries.values())[:20])
    return collection.search("bm25", queries, k=50)


@pytest.fixture(scope="module")
def crowdflower() -> Dataset:
    from bench.datasets import load

    return load("crowdflower", split="test")


@pytest.fixture
def small_disk(tmp_path: Path):
    """`small_disk("3m")` mounts a real tmpfs of that size (at `at`, default a new folder)."""
    mounted: list[Path] = []

    def mount(size: str, at: Path | None = None) -> Path:
        path = at or tmp_path / f"tmpfs-{size}-{len(mounted)}"
        path.mkdir(parents=True)
        if shutil.which("mount") is None:
            pytest.skip("no `mount` command to create a small tmpfs")
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                              capture_output=True, text=True)
        if done.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here (needs root): {done.stderr.strip()}")
        mounted.append(path)
        return path

    yield mount
    for path in mounted:
        subprocess.run(["umount", "-l", str(path)], check=False)


def fill(disk: Path, leave: int) -> None:
    """Take all but `leave` bytes of a disk with one real file."""
    (disk / "filler").write_bytes(b"\0" * (shutil.disk_usage(disk).free - leave))


# ---------------------------------------------------------------- damaged index files


def largest_data_file(shard: Path) -> Path:
    """The largest file of the shard that holds data (vector storage, inverted index...)."""
    files = [p for p in shard.rglob("*") if p.is_file() and "wal" not in p.parts]
    return max(files, key=lambda p: p.stat().st_blocks)


def random_bytes(shard: Path) -> str:
    path = largest_data_file(shard)
    with open(path, "r+b") as handle:
        handle.seek(min(1 << 20, path.stat().st_size // 4))
        handle.write(os.urandom(64 * 1024))
    return "changed (checksum mismatch)"


def flipped_bits(shard: Path) -> str:
    path = largest_data_file(shard)
    used = path.stat().st_blocks * 512  # flip bits where data is, not in a sparse file's hole
    rng = random.Random(0)
    with open(path, "r+b") as handle:
        for _ in range(200):
            offset = rng.randrange(min(used, path.stat().st_size))
            handle.seek(offset)
            byte = handle.read(1)[0]
            handle.seek(offset)
            handle.write(bytes([byte ^ (1 << rng.randrange(8))]))
    return "changed (checksum mismatch)"


def truncated(shard: Path) -> str:
    path = largest_data_file(shard)
    with open(path, "r+b") as handle:
        handle.truncate(path.stat().st_size // 2)
    return "changed size"


def missing_file(shard: Path) -> str:
    next((shard / "segments").rglob("segment.json")).unlink()
    return "is missing"


def extra_segment(shard: Path) -> str:
    segment = next((shard / "segments").iterdir())
    shutil.copytree(segment, segment.with_name(segment.name[:-4] + "0000"))
    return "unexpected file"


def unloadable(shard: Path) -> str:
    """Files the manifest vouches for but the engine refuses: its error, not a panic, must surface."""
    next((shard / "segments").rglob("segment.json")).write_text("{garbage")
    marker = shard.with_name(shard.name + ".complete.json")
    data = read_json(marker)
    data["files"] = manifest(shard)
    write_json(marker, data)
    return "Qdrant Edge could not load it"


@pytest.mark.parametrize(
    "damage", [random_bytes, flipped_bits, truncated, missing_file, extra_segment, unloadable]
)
def test_damaged_index_is_rebuilt_with_one_line(crowdflower, tmp_path, capsys, damage) -> None:
    with EdgeEngine(tmp_path) as engine:
        expected = load_bm25(engine, crowdflower)
    reason = damage(tmp_path / "products")
    capsys.readouterr()
    with EdgeEngine(tmp_path) as engine:
        collection = engine.collection("products", FIELDS)
        assert not collection.complete and collection.count() == 0
        said = [line for line in capsys.readouterr().out.splitlines() if "rebuilding" in line]
        assert len(said) == 1 and reason in said[0], said
        assert load_bm25(engine, crowdflower) == expected
    with EdgeEngine(tmp_path) as engine:
        assert engine.collection("products", FIELDS).complete
        assert "rebuilding" not in capsys.readouterr().out


def test_unfinished_index_of_a_killed_build_is_removed(crowdflower, tmp_path) -> None:
    """A process killed while it loads points leaves a shard without marker: the next open deletes it."""
    script = (
        "import os, signal, sys\n"
        "from pathlib import Path\n"
        "from bench.datasets import load\n"
        "from bench.engine import VectorField\n"
        "from bench.engine.edge import EdgeEngine\n"
        "from retrievers.bm25 import BM25\n"
        "corpus = load('crowdflower', split='test').corpus\n"
        "vectors = BM25().encode_documents([corpus[d].contents for d in sorted(corpus)][:2048])\n"
        "engine = EdgeEngine(Path(sys.argv[1]))\n"
        "collection = engine.collection('products', [VectorField('bm25', kind='sparse', idf=True)])\n"
        "collection.upsert(list(range(2048)), {'bm25': vectors})\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    killed = subprocess.run([sys.executable, "-c", script, str(tmp_path)], cwd=REPO, capture_output=True)
    assert killed.returncode == -signal.SIGKILL, killed.stderr.decode()[-2000:]
    assert (tmp_path / "products").is_dir() and not (tmp_path / "products.complete.json").exists()
    removed = subprocess.run(
        [sys.executable, "-c", "import sys; from bench.engine.edge import EdgeEngine; "
         "EdgeEngine(sys.argv[1]).close()", str(tmp_path)],
        cwd=REPO, capture_output=True, text=True,
    )
    assert "removed unfinished index products (left by an interrupted run)" in removed.stdout
    assert not (tmp_path / "products").exists()


@pytest.mark.slow
def test_cli_rebuilds_a_damaged_index_and_gives_the_same_run(tmp_path) -> None:
    """The issue's case through the real command: random bytes, then flipped bits, in the bm25 index."""
    cache, out = tmp_path / "cache", tmp_path / "results"
    args = ["run", "-r", "bm25", "-d", "crowdflower", "--cache-dir", str(cache), "--out", str(out)]
    assert bench(*args).returncode == 0
    run_file = out / "crowdflower" / "runs" / "bm25.trec"
    clean = run_file.read_bytes()
    for damage in (random_bytes, flipped_bits):
        damage(next(p for p in (cache / "qdrant-edge").iterdir() if p.is_dir()))
        result = bench(*args, "--force")
        assert result.returncode == 0, result.stderr[-3000:]
        said = [line for line in result.stdout.splitlines() if "rebuilding it" in line]
        assert len(said) == 1 and "checksum mismatch" in said[0], result.stdout
        assert run_file.read_bytes() == clean


# ---------------------------------------------------------------- full disk (real tmpfs)


@pytest.mark.slow
def test_cache_on_a_full_disk_is_one_line_and_leaves_no_index(small_disk, tmp_path) -> None:
    cache = small_disk("3m")
    result = bench("run", "-r", "bm25", "-d", "crowdflower", "--cache-dir", str(cache),
                   "--out", str(tmp_path / "results"))
    assert result.returncode == 2
    line = one_error_line(result)
    assert line.startswith(f"error: no space left on {cache / 'qdrant-edge'}"), line
    assert line.endswith("free space there or point --cache-dir elsewhere"), line
    assert sorted(p.name for p in (cache / "qdrant-edge").iterdir()) == [".lock"]


@pytest.mark.slow
def test_index_that_fills_the_disk_midway_is_removed(small_disk, tmp_path) -> None:
    """12 MB: the shard is created and takes its first batches, then the next one would not fit."""
    cache = small_disk("12m")
    result = bench("run", "-r", "bm25", "-d", "crowdflower", "--cache-dir", str(cache),
                   "--out", str(tmp_path / "results"))
    assert result.returncode == 2
    assert "point --cache-dir elsewhere" in one_error_line(result)
    assert sorted(p.name for p in (cache / "qdrant-edge").iterdir()) == [".lock"]
    assert not temp_files(cache)
    assert shutil.disk_usage(cache).used < 1 << 20, "the partial index must not keep the disk full"


@pytest.mark.slow
def test_results_on_a_full_disk_are_one_line_and_never_half_written(small_disk, tmp_path) -> None:
    out = small_disk("3m")
    fill(out, leave=120_000)  # the qrels fit, the 200 KB run file does not
    result = bench("run", "-r", "bm25", "-d", "crowdflower", "--cache-dir", str(tmp_path / "cache"),
                   "--out", str(out))
    assert result.returncode == 2
    line = one_error_line(result)
    assert line.startswith(f"error: no space left on {out}"), line
    assert line.endswith("free space there or point --out elsewhere"), line
    assert not temp_files(out)
    for path in out.rglob("*.json"):
        json.loads(path.read_text())  # every file there is whole
    assert not (out / "crowdflower" / "runs" / "bm25.json").exists()


@pytest.mark.slow
def test_encodings_on_a_full_disk_are_one_line(small_disk, tmp_path) -> None:
    """The encodings folder on its own full disk: 658 ESCI titles x 384 floats (1 MB) do not fit."""
    cache = tmp_path / "cache"
    encodings = small_disk("3m", at=cache / "encodings")
    fill(encodings, leave=100_000)
    result = bench("run", "-r", "dense", "-d", "esci", "--cache-dir", str(cache),
                   "--out", str(tmp_path / "results"))
    assert result.returncode == 2
    line = one_error_line(result)
    assert line.startswith(f"error: no space left on {encodings}"), line
    assert line.endswith("point --cache-dir elsewhere"), line
    assert not temp_files(cache)
    assert sorted(p.name for p in (cache / "qdrant-edge").iterdir()) == [".lock"], "no unfinished index"


# ---------------------------------------------------------------- signals and stale files


@pytest.mark.slow
@pytest.mark.parametrize(("sig", "code", "message"), [
    (signal.SIGINT, 130, "interrupted: finished results are kept"),
    (signal.SIGTERM, 143, "terminated (SIGTERM): finished results are kept"),
])
def test_signal_mid_encoding_keeps_the_encoded_texts(tmp_path, sig, code, message) -> None:
    args = ["run", "-r", "splade", "-d", "crowdflower", "--max-seq-length", "32",
            "--cache-dir", str(tmp_path / "cache"), "--out", str(tmp_path / "results")]
    first = start_bench(tmp_path / "first.log", *args)
    done = wait_for(ENCODING, tmp_path / "first.log", first)
    assert 0 < done < CROWDFLOWER_DOCS
    first.send_signal(sig)
    assert first.wait(timeout=300) == code, tail(tmp_path / "first.log")
    assert message in tail(tmp_path / "first.log")
    assert not list((tmp_path / "cache" / "qdrant-edge").glob("splade-*")), "the unfinished index is removed"

    again = start_bench(tmp_path / "again.log", *args)
    cached = wait_for(CACHED, tmp_path / "again.log", again)
    again.send_signal(signal.SIGTERM)
    again.wait(timeout=300)
    assert cached >= done, "every batch encoded before the signal is cached"


@pytest.mark.slow
def test_sigkill_mid_encoding_loses_at_most_the_last_checkpoint(tmp_path) -> None:
    args = ["run", "-r", "splade", "-d", "crowdflower", "--max-seq-length", "32",
            "--cache-dir", str(tmp_path / "cache"), "--out", str(tmp_path / "results")]
    first = start_bench(tmp_path / "first.log", *args)
    wait_for(ENCODING, tmp_path / "first.log", first)
    time.sleep(25)  # past one 20 s checkpoint
    done = max(int(n) for n in ENCODING.findall((tmp_path / "first.log").read_text()))
    first.kill()
    first.wait()

    again = start_bench(tmp_path / "again.log", *args)
    cached = wait_for(CACHED, tmp_path / "again.log", again)
    again.send_signal(signal.SIGTERM)
    again.wait(timeout=300)
    assert cached > 0 and done < CROWDFLOWER_DOCS
    assert "removed unfinished index splade-" in tail(tmp_path / "again.log")


def test_temp_file_of_a_killed_writer_is_removed_on_the_next_run(tmp_path) -> None:
    """A SIGKILL mid-write leaves `.bm25.trec.XXXX.tmp`; the next command removes it, never a live one."""
    runs = tmp_path / "results" / "crowdflower" / "runs"
    writer = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from bench.io import atomic_path\n"
        "with atomic_path(Path(sys.argv[1])) as tmp:\n"
        "    tmp.write_text('q1 Q0 d1 1 1.0 bm25\\n')\n"
        "    print(tmp, flush=True)\n"
        "    time.sleep(600)\n"
    )
    killed = subprocess.Popen([sys.executable, "-c", writer, str(runs / "bm25.trec")], cwd=REPO,
                              stdout=subprocess.PIPE, text=True)
    live = subprocess.Popen([sys.executable, "-c", writer, str(runs / "dense.trec")], cwd=REPO,
                            stdout=subprocess.PIPE, text=True)
    try:
        stale, busy = Path(killed.stdout.readline().strip()), Path(live.stdout.readline().strip())
        killed.kill()
        killed.wait()
        assert stale.name.startswith(".bm25.trec.") and stale.exists() and busy.exists()
        result = bench("leaderboard", "--out", str(tmp_path / "results"))
        assert f"removed 1 temporary file(s) left by an interrupted run in {tmp_path / 'results'}" \
            in result.stdout, result.stdout + result.stderr
        assert not stale.exists() and busy.exists(), "only the dead writer's file goes"
        assert remove_stale_temps(tmp_path) == []
    finally:
        live.kill()
        live.wait()


# ---------------------------------------------------------------- encodings and file modes


def test_encodings_are_checkpointed_and_a_damaged_shard_is_said(crowdflower, tmp_path, capsys) -> None:
    from bench.encoders import EncodingCache, encode_cached

    texts = [doc.contents for doc in list(crowdflower.corpus.values())[:600]]
    encode = BM25().encode_queries  # a real encoder (term counts, one text at a time), fast
    cache = EncodingCache(tmp_path)
    vectors = encode_cached(texts, encode, cache, "document", step=100, checkpoint_seconds=0)
    shards = sorted((tmp_path / "document").glob("*.npz"))
    assert len(shards) == 6, "with checkpoint_seconds=0 every batch is saved as it finishes"

    shards[0].write_bytes(shards[0].read_bytes()[:100])
    capsys.readouterr()
    again = EncodingCache(tmp_path)
    assert encode_cached(texts, encode, again, "document") == vectors
    said = capsys.readouterr().out
    assert f"encodings: dropped damaged shard {shards[0]}" in said
    assert "500 of 600 texts already cached" in said


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o027, 0o640), (0o077, 0o600)])
def test_written_files_follow_the_umask(tmp_path, umask, mode) -> None:
    script = (
        "import os, sys\n"
        f"os.umask({umask})\n"
        "from pathlib import Path\n"
        "from bench.io import write_json\n"
        "from bench.results import write_trec_run\n"
        "write_json(Path(sys.argv[1]) / 'run.json', {'k': 1})\n"
        "write_trec_run(Path(sys.argv[1]) / 'run.trec', {'q1': {'d1': 1.0}}, 'bm25')\n"
    )
    subprocess.run([sys.executable, "-c", script, str(tmp_path)], cwd=REPO, check=True)
    for name in ("run.json", "run.trec"):
        assert (tmp_path / name).stat().st_mode & 0o777 == mode, name


def test_checksum_of_a_sparse_file_is_that_of_its_bytes(tmp_path) -> None:
    """Holes are hashed as zeros without being read: the result must equal hashing every byte."""
    path = tmp_path / "page_0.dat"
    with open(path, "wb") as handle:  # data, a hole, data, a hole up to the end (as Qdrant's files)
        handle.write(os.urandom(70_000))
        handle.seek(9 << 20)
        handle.write(os.urandom(300_000))
        handle.truncate(33 << 20)
    before = xxh3_file(path)
    assert before == xxhash.xxh3_128(path.read_bytes()).hexdigest()
    with open(path, "r+b") as handle:  # one byte written into the hole changes the checksum
        handle.seek(20 << 20)
        handle.write(b"\1")
    assert xxh3_file(path) == xxhash.xxh3_128(path.read_bytes()).hexdigest() != before


def test_failed_write_leaves_the_old_file_and_no_temp(tmp_path) -> None:
    target = tmp_path / "leaderboard.md"
    target.write_text("old\n")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("stopped mid-write")
    assert target.read_text() == "old\n" and not temp_files(tmp_path)
