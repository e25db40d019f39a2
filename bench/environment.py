"""What a result was measured on: package versions, CPU/GPU, git commit. No secrets.

>>> environment()["cpu"]["cores"]
2
"""

from __future__ import annotations

import ctypes
import os
import platform
import subprocess
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

PACKAGES = [
    "ecom-retrieval-bench", "torch", "transformers", "sentence-transformers", "qdrant-edge-py",
    "qdrant-client", "ranx", "rank-bm25", "bm25s", "numpy", "datasets",
]
REPO_ROOT = Path(__file__).resolve().parents[1]


def environment() -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "packages": {name: _version(name) for name in PACKAGES},
        "cpu": {"model": _cpu_model(), "cores": os.cpu_count()},
        "memory_gib": _memory_gib(),
        "gpu": _gpu(),
        "git_commit": _git_commit(),
        "malloc_tuned": MALLOC_TUNED,
    }


MALLOC_TUNED = False
M_TRIM_THRESHOLD, M_MMAP_MAX = -1, -4  # glibc mallopt parameters


def keep_freed_memory() -> bool:
    """Tell glibc malloc to keep freed memory instead of handing it back to the kernel.

    SPLADE builds a (batch, tokens, 30522) tensor per batch; by default each one is mmapped and
    unmapped again, and refaulting those pages cost 1/3 of CPU time (measured: SPLADE-tiny
    encoding 129 -> 216 titles/s, training likewise). Called by the CLI only: a library import
    must not change its host process. Returns False where it does not apply (not glibc).
    """
    global MALLOC_TUNED
    try:
        libc = ctypes.CDLL("libc.so.6")
        MALLOC_TUNED = bool(libc.mallopt(M_MMAP_MAX, 0) and libc.mallopt(M_TRIM_THRESHOLD, 2**31 - 1))
    except (OSError, AttributeError):
        MALLOC_TUNED = False
    return MALLOC_TUNED


def _version(name: str) -> str | None:
    try:
        return version(name)
    except PackageNotFoundError:
        return None


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_gib() -> float | None:
    try:
        import psutil

        return round(psutil.virtual_memory().total / 2**30, 1)
    except ImportError:
        return None


def _gpu() -> str | None:
    try:
        import torch

        return torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    except ImportError:
        return None


def _git_commit() -> str | None:
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=REPO_ROOT, capture_output=True, text=True, check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return f"{commit}{'-dirty' if dirty else ''}"
