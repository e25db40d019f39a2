"""Timing and peak-memory records: one `Measurement` per (step, path, phase, corpus size).

>>> recorder = Recorder()
>>> with recorder.measure("bm25", "bm25s", "search", size=1000, count=200) as m:
...     model.retrieve(tokens, k=100)
>>> m.seconds, m.per_second, m.rss_peak_mib, m.rss_growth_mib

Memory is the resident set size (RSS) of this process, sampled by a thread every 5 ms
while the block runs: `rss_peak_mib` is the highest value seen (everything the process
holds: Python, libraries, models, earlier steps' leftovers), `rss_growth_mib` the peak minus
the RSS when the block started, i.e. what this step added on top. A spike shorter than
the sampling interval can be missed, and memory an earlier step freed may still be held
by the allocator, so growth is a lower bound of what the step needs on its own.
"""

from __future__ import annotations

import contextlib
import gc
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any, TypeVar

import psutil

T = TypeVar("T")

MIB = 1024 * 1024


@dataclass
class Measurement:
    """One timed block. `count` = items processed (documents indexed or encoded, queries searched)."""

    step: str
    path: str
    phase: str
    size: int
    count: int
    seconds: float = 0.0
    rss_start_mib: float = 0.0
    rss_peak_mib: float = 0.0
    ours: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def per_second(self) -> float:
        return self.count / self.seconds if self.seconds > 0 else float("inf")

    @property
    def ms_per_item(self) -> float:
        return 1000 * self.seconds / max(self.count, 1)

    @property
    def rss_growth_mib(self) -> float:
        return max(self.rss_peak_mib - self.rss_start_mib, 0.0)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.update(per_second=round(self.per_second, 2), ms_per_item=round(self.ms_per_item, 4),
                    rss_growth_mib=round(self.rss_growth_mib, 1))
        for key in ("seconds",):
            data[key] = round(data[key], 6)
        for key in ("rss_start_mib", "rss_peak_mib"):
            data[key] = round(data[key], 1)
        return data


class PeakRss:
    """Highest RSS of this process while the `with` block runs (sampled in a thread)."""

    def __init__(self, interval: float = 0.005) -> None:
        self.interval = interval
        self.process = psutil.Process()
        self.start = self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(self.interval):
            self.peak = max(self.peak, self.process.memory_info().rss)

    def __enter__(self) -> PeakRss:
        self.start = self.peak = self.process.memory_info().rss
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.process.memory_info().rss)


class Recorder:
    """Collects every measurement of a perf run, in the order taken."""

    def __init__(self) -> None:
        self.measurements: list[Measurement] = []

    @contextlib.contextmanager
    def measure(
        self, step: str, path: str, phase: str, size: int, count: int, ours: bool = False
    ) -> Iterator[Measurement]:
        """Time the block and its peak RSS; the yielded record may get `extra` facts or a new `count`."""
        record = Measurement(step, path, phase, size, count, ours=ours)
        gc.collect()  # so garbage from the previous block is not charged to this one
        with PeakRss() as rss:
            started = time.perf_counter()
            yield record
            record.seconds = time.perf_counter() - started
        record.rss_start_mib, record.rss_peak_mib = rss.start / MIB, rss.peak / MIB
        self.measurements.append(record)

    def best_of(
        self, repeat: int, step: str, path: str, phase: str, size: int, count: int, work: Callable[[], T],
        ours: bool = False,
    ) -> tuple[T, Measurement]:
        """Run `work` `repeat` times; keep the fastest time (the least disturbed by other processes).

        Peak RSS is the highest over all repeats. Returns the last result and the record.
        """
        with self.measure(step, path, phase, size, count, ours=ours) as record:
            timings = []
            for _ in range(max(repeat, 1)):
                started = time.perf_counter()
                result = work()
                timings.append(time.perf_counter() - started)
        record.seconds = min(timings)
        record.extra["repeats"] = len(timings)
        return result, record

    def turn_about(self, repeat: int, jobs: list[tuple[Measurement, Callable[[], Any]]]) -> list[Measurement]:
        """Time several paths in turn (A, B, A, B, ...) and keep each one's fastest run.

        A slow spell of a shared machine then falls on both sides of a comparison, not on one.
        `jobs` pairs an empty record (step, path, phase, size, count, ours) with its work.
        """
        runs: list[list[Measurement]] = [[] for _ in jobs]
        for _ in range(max(repeat, 1)):
            for (spec, work), done in zip(jobs, runs, strict=True):
                with self.measure(spec.step, spec.path, spec.phase, spec.size, spec.count,
                                  ours=spec.ours) as record:
                    work()
                self.measurements.remove(record)
                done.append(record)
        best = []
        for done in runs:
            fastest = min(done, key=lambda r: r.seconds)
            fastest.rss_peak_mib = max(r.rss_peak_mib for r in done)
            fastest.extra["repeats"] = len(done)
            self.measurements.append(fastest)
            best.append(fastest)
        return best
