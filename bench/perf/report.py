"""Turn perf measurements into results/perf.md, perf.json and plots/perf_scaling.png.

>>> write_report(recorder.measurements, meta, options)   # -> [Path("results/perf.md"), ...]

Ratios compare time per item (document or query) with our path of the same step, phase and
corpus size: 10x means that path takes ten times as long per item as ours. Growth is the
slope of a least-squares line through log(time) vs log(corpus size): 1 = linear, 0 =
independent of the corpus. Search time is per query, so the slope says how one query's
cost grows; index and encoding time is the whole build.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bench.io import atomic_path, read_json, write_json, write_text
from bench.perf import path_names, training
from bench.perf.measure import Measurement
from bench.perf.workload import PerfOptions

SEARCH_PHASES = ("search", "encode queries")
STEP_ORDER = ["bm25", "sparse search", "dense search", "hybrid", "encoding: splade",
              training.VOCABULARY_ENCODING, "encoding: dense", training.TRAINING]


def step_order(records: list[Measurement]) -> list[str]:
    """Steps in reading order: BM25 and the searches first, encoding last."""
    measured = list(dict.fromkeys(r.step for r in records))
    return [s for s in STEP_ORDER if s in measured] + [s for s in measured if s not in STEP_ORDER]


@dataclass
class Target:
    """A product target and where the measurement stands (`met` None = not measured here)."""

    name: str
    goal: str
    value: float | None
    met: bool | None
    detail: str


@dataclass
class Growth:
    step: str
    path: str
    phase: str
    slope: float
    sizes: list[int]
    values: list[float]
    unit: str


def unit_of(phase: str) -> str:
    if phase == training.TRAIN_PHASE:
        return "texts/s"
    return "queries/s" if phase in SEARCH_PHASES else "docs/s"


def scaled_value(record: Measurement) -> float:
    """What growth is fitted on: ms per query for search phases, total seconds for builds."""
    return record.ms_per_item if record.phase in SEARCH_PHASES else record.seconds


# ---------------------------------------------------------------- analysis


def reference_of(records: list[Measurement], record: Measurement) -> Measurement | None:
    """Our path for the same step, phase and size (the first one measured, e.g. the cold cache)."""
    for other in records:
        if other.ours and (other.step, other.phase, other.size) == (record.step, record.phase, record.size):
            return other
    return None


def time_ratio(records: list[Measurement], record: Measurement) -> float | None:
    reference = reference_of(records, record)
    if reference is None or reference.ms_per_item <= 0:
        return None
    return record.ms_per_item / reference.ms_per_item


def growth(records: list[Measurement]) -> list[Growth]:
    series: dict[tuple[str, str, str], list[Measurement]] = defaultdict(list)
    for record in records:
        series[(record.step, record.path, record.phase)].append(record)
    fitted = []
    order = step_order(records)
    for (step, path, phase), points in sorted(series.items(), key=lambda item: order.index(item[0][0])):
        points = sorted(points, key=lambda r: r.size)
        sizes = [p.size for p in points]
        values = [scaled_value(p) for p in points]
        if len(set(sizes)) < 2 or min(values) <= 0:
            continue
        slope = float(np.polyfit(np.log(sizes), np.log(values), 1)[0])
        fitted.append(Growth(step, path, phase, round(slope, 2), sizes, [round(v, 4) for v in values],
                             "ms/query" if phase in SEARCH_PHASES else "s"))
    return fitted


def _at_largest(records: list[Measurement], step: str, path: str, phase: str) -> Measurement | None:
    found = [r for r in records if (r.step, r.path, r.phase) == (step, path, phase)]
    return max(found, key=lambda r: r.size) if found else None


def targets(records: list[Measurement], stored: dict[str, Any]) -> list[Target]:
    found: list[Target] = []

    adapter = _at_largest(records, "sparse search", path_names.SPARSE_ADAPTER, "search")
    raw = _at_largest(records, "sparse search", path_names.SPARSE_RAW, "search")
    if adapter and raw and raw.size == adapter.size:
        ratio = adapter.ms_per_item / raw.ms_per_item
        found.append(Target(
            "sparse search: adapter overhead vs raw Qdrant Edge", "<= 2x", round(ratio, 2), ratio <= 2,
            f"{adapter.ms_per_item:.3f} vs {raw.ms_per_item:.3f} ms/query at {adapter.size:,} docs",
        ))

    engine = _at_largest(records, "bm25", path_names.BM25_ENGINE, "search")
    # the target names rank-bm25 as users run it; bm25-rank (our postings adapter) stays in the table
    stock = _at_largest(records, "bm25", path_names.BM25_OKAPI, "search")
    if engine and stock:
        ratio = stock.ms_per_item / engine.ms_per_item
        found.append(Target(
            f"bm25 in the engine vs {path_names.BM25_OKAPI} (queries/s, largest corpus)", ">= 100x faster",
            round(ratio, 1), ratio >= 100,
            f"{engine.per_second:,.0f} vs {stock.per_second:,.1f} queries/s at {engine.size:,} docs",
        ))
    bm25s_runs = [record for path in (path_names.BM25S, path_names.BM25S_THREADS)
                  if (record := _at_largest(records, "bm25", path, "search"))]
    if engine and bm25s_runs:
        best = min(bm25s_runs, key=lambda r: r.ms_per_item)
        ratio = best.ms_per_item / engine.ms_per_item
        found.append(Target(
            "bm25 in the engine vs bm25s (queries/s, largest corpus)", ">= 1x (no slower)",
            round(ratio, 2), ratio >= 1,
            f"{engine.per_second:,.0f} vs {best.per_second:,.0f} queries/s ({best.path}) "
            f"at {engine.size:,} docs",
        ))

    for name in path_names.ENCODERS:
        step = f"encoding: {name}"
        for phase, ours_path, raw_path in (
            ("encode documents", path_names.ENCODE_COLD, path_names.ENCODE_RAW_DOCS),
            ("encode queries", path_names.ENCODE_QUERIES, path_names.ENCODE_RAW_QUERIES),
        ):
            raw = _at_largest(records, step, raw_path, phase)
            ours = next((r for r in records if raw and (r.step, r.path, r.phase, r.size)
                         == (step, ours_path, phase, raw.size)), None)
            if raw and ours:
                share = ours.per_second / raw.per_second
                found.append(Target(
                    f"{name} {phase}: adapter vs raw sentence-transformers", ">= 90% of raw throughput",
                    round(share, 3), share >= 0.9,
                    f"{ours.per_second:,.0f} vs {raw.per_second:,.0f} {unit_of(phase)} at {raw.size:,} docs",
                ))

    found.extend(training_targets(records))
    for label, goal_s in (("cold", 600), ("warm", 60)):
        timing = stored.get(label)
        value, met = None, None
        detail = f"no {label} `python -m bench run --all` recorded in run_timings.json yet"
        if timing:
            value, met = timing["seconds"], timing["seconds"] <= goal_s
            trained = ", ".join(timing.get("models_trained") or []) or "none"
            detail = (f"last {label} `python -m bench run --all`: {timing['runs']} runs "
                      f"({timing['reused']} reused), models trained first: {trained}, "
                      f"finished {timing['finished_at']}")
        found.append(Target(f"`run --all` {label}", f"<= {goal_s // 60} min on 2 cores", value, met, detail))
    return found


def training_targets(records: list[Measurement]) -> list[Target]:
    """The default trainer's step against `--vocabulary full` and stock sentence-transformers, and
    the encoding of the model it saves against the full head."""
    found = []
    ours = _at_largest(records, training.TRAINING, training.TRAIN_DATA, training.TRAIN_PHASE)
    for path, goal in ((training.TRAIN_FULL, 1.6), (training.TRAIN_STOCK, 2.5)):
        other = _at_largest(records, training.TRAINING, path, training.TRAIN_PHASE)
        if ours and other:
            ratio = other.seconds / ours.seconds
            found.append(Target(
                f"training step: {training.TRAIN_DATA} vs {path}", f">= {goal}x faster", round(ratio, 2),
                ratio >= goal, f"{ours.seconds:.3f} vs {other.seconds:.3f} s per step of {ours.count} texts",
            ))
    live = _at_largest(records, training.VOCABULARY_ENCODING, training.ENCODE_LIVE, "encode documents")
    full = _at_largest(records, training.VOCABULARY_ENCODING, training.ENCODE_FULL_HEAD, "encode documents")
    if live and full:
        ratio = live.per_second / full.per_second
        found.append(Target(
            "--vocabulary data model encoding: live rows vs the full head", ">= 1.2x throughput",
            round(ratio, 2), ratio >= 1.2,
            f"{live.per_second:,.0f} vs {full.per_second:,.0f} docs/s at {live.size:,} docs",
        ))
    return found


def stored_run_timings(out: Path) -> dict[str, Any]:
    """The last cold and warm `run --all` wall times (written by `bench run`, see record_wall_time)."""
    path = Path(out) / "run_timings.json"
    try:
        return read_json(path) if path.is_file() else {}
    except ValueError:
        return {}


# ---------------------------------------------------------------- output


def output_paths(options: PerfOptions) -> dict[str, Path]:
    out = Path(options.out)
    return {"md": out / f"{options.stem}.md", "json": out / f"{options.stem}.json",
            "png": out / "plots" / f"{options.stem}_scaling.png"}


def write_report(records: list[Measurement], meta: dict[str, Any], options: PerfOptions) -> list[Path]:
    paths = output_paths(options)
    stored = stored_run_timings(options.out)
    found_targets = targets(records, stored)
    fitted = growth(records)
    write_json(paths["json"], {
        **meta,
        "targets": [asdict(t) for t in found_targets],
        "growth": [asdict(g) for g in fitted],
        "run_all_timings": stored,
        "measurements": [
            {**r.to_json(), "time_ratio_vs_ours": _round(time_ratio(records, r))} for r in records
        ],
    })
    plot_scaling(records, paths["png"], meta["label"])
    write_text(paths["md"], markdown(records, meta, found_targets, fitted, paths))
    return list(paths.values())


def _round(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)


def _fmt(value: float, digits: int = 3) -> str:
    if value == 0 or not math.isfinite(value):
        return str(value)
    magnitude = math.floor(math.log10(abs(value)))
    return f"{value:,.{max(digits - 1 - magnitude, 0)}f}"


def _notes(extra: dict[str, Any]) -> str:
    parts = []
    for key, value in extra.items():
        if key == "repeats":
            parts.append(f"best of {value}" if value > 1 else "timed once")
        elif key == "note":
            parts.append(str(value))
        else:
            parts.append(f"{key.replace('_', ' ')}: {value}")
    return "; ".join(parts)


def markdown(records: list[Measurement], meta: dict[str, Any], found_targets: list[Target],
             fitted: list[Growth], paths: dict[str, Path]) -> str:
    lines = [
        f"# Performance: every retriever path beside what a user would pick instead ({meta['label']})",
        "",
        meta["summary"],
        "",
        "## Targets",
        "",
        "| target | goal | measured | met |",
        "|---|---|---|---|",
    ]
    for target in found_targets:
        met = {True: "yes", False: "**no**", None: "not measured here"}[target.met]
        value = "–" if target.value is None else f"{target.value:g}"
        lines.append(f"| {target.name} | {target.goal} | {value} ({target.detail}) | {met} |")

    for step in step_order(records):
        step_records = [r for r in records if r.step == step]
        lines += ["", f"## {step}", "",
                  "| docs | phase | path | items | time (s) | throughput | time/item vs ours "
                  "| peak RSS (MiB) | RSS growth (MiB) | notes |",
                  "|---:|---|---|---:|---:|---:|---:|---:|---:|---|"]
        for record in sorted(step_records, key=lambda r: (r.size, r.phase != "index", r.phase)):
            ratio = time_ratio(records, record)
            ratio_text = "–" if ratio is None else f"{_fmt(ratio)}x"
            if record.ours and ratio == 1:
                ratio_text = "ours"
            notes = _notes(record.extra)
            lines.append(
                f"| {record.size:,} | {record.phase} | {record.path} | {record.count:,} "
                f"| {_fmt(record.seconds)} | {_fmt(record.per_second)} {unit_of(record.phase)} "
                f"| {ratio_text} "
                f"| {record.rss_peak_mib:,.0f} | {record.rss_growth_mib:,.0f} | {notes} |"
            )

    lines += ["", "## Growth with corpus size", "",
              "Slope of log(time) against log(corpus size): 1 = linear, 0 = flat. "
              "Search: ms per query; index and encoding: whole build in seconds.", "",
              "| step | phase | path | slope | time per size |", "|---|---|---|---:|---|"]
    for g in fitted:
        values = ", ".join(f"{size:,}: {_fmt(v)} {g.unit}" for size, v in zip(g.sizes, g.values, strict=True))
        lines.append(f"| {g.step} | {g.phase} | {g.path} | {g.slope:.2f} | {values} |")
    plot = paths["png"].relative_to(paths["md"].parent)
    lines += ["", f"![time against corpus size, log-log]({plot.as_posix()})", "",
              "## How this was measured", ""]
    lines += [f"- {note}" for note in meta["method"]]
    return "\n".join(lines) + "\n"


def plot_scaling(records: list[Measurement], path: Path, label: str) -> None:
    """One row per step: index build / encoding (left) and search (right), log-log, a line per path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    step_names = step_order(records)
    fig, axes = plt.subplots(len(step_names), 2, figsize=(13, 3.1 * len(step_names)), squeeze=False)
    for row, step in enumerate(step_names):
        # one colour per path in both panels of a step
        colors = {path: plt.get_cmap("tab10")(i % 10)
                  for i, path in enumerate(dict.fromkeys(r.path for r in records if r.step == step))}
        for column, search in enumerate((False, True)):
            ax = axes[row][column]
            series: dict[tuple[str, str], list[Measurement]] = defaultdict(list)
            for record in records:
                if record.step == step and (record.phase in SEARCH_PHASES) == search:
                    series[(record.path, record.phase)].append(record)
            if not series:
                ax.set_axis_off()
                continue
            for (name, _), points in series.items():
                points = sorted(points, key=lambda r: r.size)
                ours = points[0].ours
                ax.plot([p.size for p in points], [scaled_value(p) for p in points],
                        marker="o" if ours else "s", linestyle="-" if ours else "--",
                        linewidth=2.2 if ours else 1.3, color=colors[name],
                        label=f"{name}{' (ours)' if ours else ''}")
            ax.set_xscale("log")
            ax.set_yscale("log")
            unit = "ms per query" if search else "seconds, whole corpus"
            ax.set_title(f"{step}: {'search / query encoding' if search else 'index / document encoding'}"
                         f" ({unit})", fontsize=9.5)
            ax.set_xlabel("corpus size (documents)", fontsize=8)
            ax.tick_params(labelsize=8)
            ax.grid(True, which="both", alpha=0.3)
            ax.legend(fontsize=7, loc="best", framealpha=0.8)
    fig.suptitle(f"Time against corpus size, log-log ({label}); solid = ours, dashed = alternatives",
                 fontsize=12)
    fig.tight_layout(rect=(0, 0, 1, 0.985))
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=90, format="png")
    plt.close(fig)
