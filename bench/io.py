"""Atomic writes, checksums and a cache-directory lock, so an interrupted run never leaves half a file.

>>> write_text(Path("results/x.md"), "# hello\\n")   # temp file + rename, mode 0644 under umask 022
>>> files = manifest(Path(".cache/bench/qdrant-edge/bm25-..."))   # {relative path: [size, xxh3]}
>>> manifest_problem(Path(".cache/bench/qdrant-edge/bm25-..."), files)   # None: every file intact

A temporary file is `.<name>.<random>.tmp` beside its target and stays locked (flock) while
it is written, so `remove_stale_temps` deletes only those a killed process left behind.
A full disk becomes `NoSpaceError`, whose message names the folder.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import xxhash

from bench.errors import BenchError

TEMP_NAME = re.compile(r"^\..+\.[a-z0-9_]{8}\.tmp$")
"""What `atomic_path` names its temporary files (tempfile.mkstemp's 8 random characters)."""


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


FILE_MODE = 0o666 & ~_umask()
"""Mode of every file we write: what `open()` would give under the user's umask (0644 for 022)."""


class NoSpaceError(BenchError):
    """The disk (or quota) holding `path` is full. The CLI adds which option moves the folder."""

    def __init__(self, path: Path, needed: int | None = None, free: int | None = None) -> None:
        self.path = Path(path)
        sizes = f" (needs about {megabytes(needed)}, {megabytes(free)} free)" if needed is not None else ""
        super().__init__(f"no space left on {self.path}{sizes}")


def megabytes(size: int | None) -> str:
    return f"{(size or 0) / 1e6:,.1f} MB"


def is_no_space(err: BaseException) -> bool:
    """A full disk or quota, as Python (errno) or a Rust library ("os error 28") reports it."""
    if isinstance(err, OSError) and err.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    text = str(err)
    return "No space left on device" in text or "os error 28" in text


def check_free_space(directory: Path, needed: int) -> None:
    """Raise NoSpaceError unless the disk holding `directory` has `needed` bytes free."""
    free = shutil.disk_usage(directory).free
    if free < needed:
        raise NoSpaceError(directory, needed, free)


def disk_usage(path: Path) -> int:
    """Bytes a directory really occupies (allocated blocks: sparse files count what they hold)."""
    return sum(p.stat().st_blocks * 512 for p in Path(path).rglob("*") if p.is_file())


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside `path`; rename it over `path` only if the block succeeds.

    The temporary file is locked until it is renamed or removed (see `remove_stale_temps`),
    and gets the user's umask, not mkstemp's private 0600.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_path = _locked_temp(path)
    except OSError as err:
        if is_no_space(err):
            raise NoSpaceError(path.parent) from None
        raise
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    except OSError as err:
        if is_no_space(err):
            raise NoSpaceError(path.parent) from None
        raise
    finally:
        tmp_path.unlink(missing_ok=True)
        os.close(fd)  # releases the lock


def _locked_temp(path: Path) -> tuple[int, Path]:
    """A new temporary file beside `path`, locked, with the user's file mode."""
    while True:
        fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        fcntl.flock(fd, fcntl.LOCK_EX)
        with contextlib.suppress(FileNotFoundError):
            # a cleaner may have taken it for stale between mkstemp and flock: then make another
            if os.path.samestat(os.fstat(fd), os.stat(name)):
                os.fchmod(fd, FILE_MODE)
                return fd, Path(name)
        os.close(fd)


def remove_stale_temps(directory: Path) -> list[Path]:
    """Delete the temporary files of `atomic_path` under `directory` that no live process holds.

    A process killed with SIGKILL (or a crash) cannot remove its temporary file; its lock
    died with it, so a file we can lock is stale. Files of other programs are never touched.
    """
    removed: list[Path] = []
    if not Path(directory).is_dir():
        return removed
    for folder, _, names in os.walk(directory):
        for name in names:
            if not TEMP_NAME.match(name):
                continue
            path = Path(folder) / name
            try:
                with open(path, "rb") as handle:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    path.unlink()
                removed.append(path)
            except (BlockingIOError, FileNotFoundError):
                continue  # being written right now, or already gone
    return removed


def write_text(path: Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json(path: Path, data: Any) -> None:
    write_text(path, json.dumps(data, indent=2, sort_keys=False, default=str) + "\n")


def read_json(path: Path) -> Any:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def xxh3_file(path: Path, chunk: int = 1 << 22) -> str:
    """A fast (non-cryptographic) 128-bit checksum, for large caches checked on every open.

    The same as hashing every byte read, but the holes of a sparse file (Qdrant preallocates
    32 MB files that hold a few MB) are hashed as the zeros they read as, without reading them:
    on Home Depot's BM25 index that is 6 MB read instead of 138 MB.
    """
    digest = xxhash.xxh3_128()
    view = memoryview(bytearray(chunk))
    with open(path, "rb", buffering=0) as handle:
        size = os.fstat(handle.fileno()).st_size
        position = 0
        while position < size:
            start, stop = _data_region(handle.fileno(), position, size)
            _hash_zeros(digest, start - position)
            handle.seek(start)
            while start < stop and (count := handle.readinto(view[: min(chunk, stop - start)])):
                digest.update(view[:count])
                start += count
            position = stop
    return digest.hexdigest()


_ZEROS = memoryview(bytes(1 << 22))


def _hash_zeros(digest: Any, count: int) -> None:
    while count > 0:
        digest.update(_ZEROS[: min(count, len(_ZEROS))])
        count -= len(_ZEROS)


def _data_region(fd: int, position: int, size: int) -> tuple[int, int]:
    """(start, stop) of the next region at or after `position` that holds data ((size, size): none)."""
    if not hasattr(os, "SEEK_DATA"):  # no sparse-file support: everything is data
        return position, size
    try:
        start = os.lseek(fd, position, os.SEEK_DATA)
    except OSError as err:
        if err.errno == errno.ENXIO:  # only a hole is left
            return size, size
        raise
    return start, min(os.lseek(fd, start, os.SEEK_HOLE), size)


def manifest(directory: Path) -> dict[str, list[Any]]:
    """Every file under `directory`: relative path -> [size in bytes, xxh3-128]."""
    directory = Path(directory)
    return {
        path.relative_to(directory).as_posix(): [path.stat().st_size, xxh3_file(path)]
        for path in sorted(directory.rglob("*"))
        if path.is_file()
    }


def manifest_problem(directory: Path, expected: dict[str, list[Any]]) -> str | None:
    """Why `directory` no longer holds exactly the files of `expected` (None when it does)."""
    directory = Path(directory)
    present = {p.relative_to(directory).as_posix() for p in directory.rglob("*") if p.is_file()}
    if missing := sorted(set(expected) - present):
        return f"file {missing[0]} is missing"
    if extra := sorted(present - set(expected)):
        return f"unexpected file {extra[0]}"
    for name, (size, _) in expected.items():  # sizes first: cheap, and catch truncation
        if (directory / name).stat().st_size != size:
            return f"file {name} changed size"
    for name, (_, checksum) in expected.items():
        if xxh3_file(directory / name) != checksum:
            return f"file {name} changed (checksum mismatch)"
    return None


@contextlib.contextmanager
def exclusive_lock(directory: Path, what: str = "this cache directory") -> Iterator[None]:
    """Hold a non-blocking lock on `directory`; a second process gets a one-line error.

    A Qdrant Edge shard can be open in one process only, so two runs sharing a cache
    must not interleave.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    lock_file = directory / ".lock"
    with open(lock_file, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BenchError(
                f"{directory} is in use by another bench process ({what}); wait for it to finish "
                "or pass a different --cache-dir"
            ) from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
