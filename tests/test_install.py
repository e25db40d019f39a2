"""A real, non-editable `pip install .` into a fresh virtual environment, run from a temp directory:
the shipped datasets come with the package, and Hugging Face's `datasets` is not shadowed."""

from __future__ import annotations

import os
import shutil
import site
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_pip_install_runs_from_any_directory(tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    venv_site = Path(subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                                    capture_output=True, text=True, check=True).stdout.strip())
    # torch, pandas, pip, setuptools... come from this interpreter's site-packages, listed as a plain
    # path: its .pth files (this checkout's editable install among them) are not executed there.
    (venv_site / "base.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "BENCH_DATA_DIR")}
    env["PIP_NO_INDEX"] = "1"  # offline: nothing may be fetched
    source = tmp_path / "source"  # pip builds in-tree: build a copy, keep the checkout clean
    source.mkdir()
    for name in ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md"):
        shutil.copy(REPO / name, source / name)
    for name in ("bench", "retrievers", "datasets"):
        shutil.copytree(REPO / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
    installed = subprocess.run(
        [python, "-m", "pip", "install", "--no-deps", "--no-build-isolation", "--no-cache-dir", str(source)],
        capture_output=True, text=True, env=env, timeout=600, cwd=tmp_path,
    )
    assert installed.returncode == 0, installed.stdout + installed.stderr

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([python, *args], capture_output=True, text=True, env=env, cwd=elsewhere,
                              timeout=600)

    where = run("-c", "import bench, datasets; print(bench.__file__); print(datasets.__file__); "
                "print(hasattr(datasets, 'load_dataset'))")
    assert where.returncode == 0, where.stderr
    bench_file, datasets_file, hugging_face = where.stdout.split()
    assert Path(bench_file).is_relative_to(venv_site)  # the installed copy, not this checkout
    assert not Path(datasets_file).is_relative_to(venv_site) and hugging_face == "True"
    assert not (venv_site / "datasets").exists()

    listed = run("-m", "bench", "list")
    assert listed.returncode == 0, listed.stderr
    shipped = venv_site / "bench" / "shipped_datasets"
    assert f"datasets ({shipped})" in listed.stdout
    for name in ("homedepot", "crowdflower", "esci"):
        assert f"  {name:<24} ready" in listed.stdout, listed.stdout
    stats = run("-m", "bench", "data", "stats", "crowdflower")
    assert stats.returncode == 0, stats.stderr
    assert "crowdflower test: 47 queries, 9913 products" in stats.stdout
    verified = run("-m", "bench", "data", "verify", "homedepot")
    assert verified.returncode == 0 and "homedepot: ok" in verified.stdout, verified.stdout + verified.stderr
    # package data besides the datasets: Qdrant's published numbers, which the leaderboard reads
    reference = run("-c", "from bench.leaderboard.qdrant import REFERENCE_FILE, qdrant_reference; "
                    "print(REFERENCE_FILE); print(sorted(qdrant_reference()['ndcg@10']))")
    assert reference.returncode == 0, reference.stderr
    shipped_file = venv_site / "bench" / "leaderboard" / "qdrant_reference.json"
    assert reference.stdout.splitlines() == [str(shipped_file), "['esci', 'homedepot', 'wands']"]


def test_data_dir_rule(tmp_path, monkeypatch):
    """--data-dir, then $BENCH_DATA_DIR, then ./datasets when it is ours, then the shipped slices."""
    from bench.datasets import data_root, shipped_data_dir

    monkeypatch.delenv("BENCH_DATA_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    assert data_root() == shipped_data_dir() and (shipped_data_dir() / "homedepot" / "SHA256SUMS").is_file()
    (tmp_path / "datasets").mkdir()
    (tmp_path / "datasets" / "__init__.py").write_text("")  # a Python package called datasets: not ours
    (tmp_path / "datasets" / "homedepot").mkdir()
    assert data_root() == shipped_data_dir()
    (tmp_path / "datasets" / "__init__.py").unlink()
    assert data_root() == tmp_path / "datasets"
    monkeypatch.setenv("BENCH_DATA_DIR", str(tmp_path / "elsewhere"))
    assert data_root() == tmp_path / "elsewhere"
    assert data_root(tmp_path / "given") == tmp_path / "given"
