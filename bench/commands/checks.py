"""Checks for the values users type, run once at the CLI boundary (argparse `type=`).

>>> parser.add_argument("--k", type=at_least(1), default=100)
>>> parser.add_argument("--out", type=writable_dir, default=Path("results"))

A bad value ends in one line, `error: argument --k: must be an integer >= 1, got '-5'`, and
exit 2, before any work starts, instead of a traceback (or a silently empty result) later.
"""

from __future__ import annotations

import argparse
import math
import tempfile
from collections.abc import Callable
from pathlib import Path


def at_least(minimum: int, maximum: int | None = None) -> Callable[[str], int]:
    """An integer in [minimum, maximum]."""
    bound = f">= {minimum}" if maximum is None else f"between {minimum} and {maximum}"

    def check(value: str) -> int:
        try:
            number = int(value)
        except ValueError:
            number = None
        if number is None or number < minimum or (maximum is not None and number > maximum):
            raise argparse.ArgumentTypeError(f"must be an integer {bound}, got {value!r}")
        return number

    check.__name__ = "integer"  # argparse names the type in its own messages
    return check


def positive_float(value: str) -> float:
    """A finite number > 0 (learning rates, epochs)."""
    return _float(value, strictly_positive=True)


def non_negative_float(value: str) -> float:
    """A finite number >= 0 (regulariser weights)."""
    return _float(value, strictly_positive=False)


def _float(value: str, strictly_positive: bool) -> float:
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not math.isfinite(number) or number < 0 or (strictly_positive and number == 0):
        bound = "> 0" if strictly_positive else ">= 0"
        raise argparse.ArgumentTypeError(f"must be a number {bound}, got {value!r}")
    return number


def non_empty_text(value: str) -> str:
    if not value.strip():
        raise argparse.ArgumentTypeError("is empty; type the query text, e.g. --query \"cordless drill\"")
    return value


def writable_dir(value: str) -> Path:
    """A folder we can write into: an existing writable directory, or one we can create."""
    path = Path(value).expanduser()
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(f"{value} is a file, not a folder; pass a folder path")
    existing = path
    while not existing.exists():  # the nearest existing parent decides whether we can create it
        existing = existing.parent
    if not existing.is_dir():
        raise argparse.ArgumentTypeError(f"{value}: {existing} is a file, not a folder; pass a folder path")
    try:  # really write: access() says yes to root on /proc or a read-only bind mount
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as err:
        raise argparse.ArgumentTypeError(
            f"{value}: cannot write in {existing} ({err.strerror}); pass a folder you can write to"
        ) from None
    return path


def existing_dir(value: str) -> Path:
    path = Path(value).expanduser()
    if not path.is_dir():
        raise argparse.ArgumentTypeError(f"{value} is not a folder; pass an existing folder")
    return path


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors (`error: ...`, exit 2) instead of usage + message."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"error: {message} (see `{self.prog} --help`)\n")
