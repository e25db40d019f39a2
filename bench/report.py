"""The published leaderboard: tables, significance and plots rebuilt from the stored runs.

>>> build(Path("results"))   # also `python -m bench leaderboard`
[PosixPath('results/leaderboard.md'), PosixPath('results/leaderboard.csv'), ...]

Reads every results/<dataset>/ (dataset.json, qrels.trec, runs/<stem>.trec + .json) and
writes leaderboard.md, leaderboard.csv, leaderboard.json and plots/*.png. Everything is
computed before the first file is written, and each file is written atomically, so broken
input raises BenchError and leaves the previous leaderboard as it was. The same inputs give
byte-identical md/csv/json: no timestamps except those stored in the runs.
"""

from __future__ import annotations

import csv
import io
import json
import string
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.data import Qrels, Run
from bench.errors import BenchError
from bench.explain import markdown_table
from bench.io import atomic_path, read_json
from bench.metrics import ALPHA, LABELS, METRICS, PRIMARY, TEST_NAME, compare
from bench.results import read_trec_qrels, read_trec_run

BASELINE = "bm25"
PLOT_NAMES = ("ndcg_at_10.png", "quality_vs_latency.png")
TIMING_COLUMNS = [
    "latency_ms_p50", "latency_ms_p95", "qps", "search_seconds", "index_seconds", "index_cached",
    "docs_per_second",
]
INFO_COLUMNS = ["active_dims_query", "active_dims_doc", "model", "model_sha256", "trained_on"]
CSV_COLUMNS = ["dataset", "retriever", *METRICS, "queries_evaluated", "k", "engine", *TIMING_COLUMNS,
               *INFO_COLUMNS]

# nDCG@10 published by Qdrant, "Fine-Tuning Sparse Embeddings for E-Commerce Search", parts 3 and 4
# (10k products / 2k test queries per dataset; a (low, high) pair where the articles give two figures).
QDRANT_SOURCES = [
    "https://qdrant.tech/articles/sparse-embeddings-ecommerce-part-3/",
    "https://qdrant.tech/articles/sparse-embeddings-ecommerce-part-4/",
]
QDRANT_SYSTEMS = {"bm25": "BM25", "splade": "SPLADE off-the-shelf", "splade-finetuned": "SPLADE fine-tuned"}
QDRANT_REFERENCE: dict[str, dict[str, tuple[float, float]]] = {
    "esci": {"bm25": (0.305, 0.333), "splade": (0.326, 0.362), "splade-finetuned": (0.389, 0.389)},
    "wands": {"bm25": (0.329, 0.329), "splade": (0.341, 0.341), "splade-finetuned": (0.355, 0.355)},
    "homedepot": {"bm25": (0.349, 0.349), "splade": (0.391, 0.391), "splade-finetuned": (0.384, 0.384)},
}


@dataclass
class StoredRun:
    retriever: str
    meta: dict[str, Any]
    run: Run


@dataclass
class DatasetResults:
    name: str
    meta: dict[str, Any]
    qrels: Qrels
    runs: list[StoredRun] = field(default_factory=list)
    significance: dict[str, Any] = field(default_factory=dict)

    @property
    def relevant_grade(self) -> int:
        return int(self.meta["relevant_grade"])

    def has(self, retriever: str) -> bool:
        return any(r.retriever == retriever for r in self.runs)

    def score(self, retriever: str, metric: str = PRIMARY) -> float:
        return self.significance["metrics"][metric]["scores"][retriever]

    def ranked(self) -> list[StoredRun]:
        """Runs by nDCG@10, best first (ties by name)."""
        return sorted(self.runs, key=lambda r: (-self.score(r.retriever), r.retriever))


def build(results_dir: Path) -> list[Path]:
    """Rebuild leaderboard.{md,csv,json} and plots/*.png in `results_dir`; return their paths."""
    results_dir = Path(results_dir)
    datasets = load_results(results_dir)
    if not any(ds.runs for ds in datasets):
        raise BenchError(f"no finished runs in {results_dir}/*/runs/; run `python -m bench run` first")
    datasets = [ds for ds in datasets if ds.runs]
    for ds in datasets:
        ds.significance = compare(ds.qrels, {r.retriever: r.run for r in ds.runs}, ds.relevant_grade)
    env_path = results_dir / "environment.json"
    environment = _read_json(env_path) if env_path.is_file() else None
    letters = system_letters(datasets)

    outputs: dict[Path, bytes] = {
        results_dir / "leaderboard.md": markdown(datasets, letters, environment).encode(),
        results_dir / "leaderboard.csv": csv_text(datasets).encode(),
        results_dir / "leaderboard.json": (json.dumps(json_data(datasets, letters, environment), indent=2)
                                           + "\n").encode(),
        results_dir / "plots" / PLOT_NAMES[0]: plot_ndcg(datasets),
        results_dir / "plots" / PLOT_NAMES[1]: plot_quality_vs_latency(datasets),
    }
    for path, content in outputs.items():  # only now, with everything computed
        with atomic_path(path) as tmp:
            tmp.write_bytes(content)
    print_summary(datasets, list(outputs))
    return list(outputs)


# ------------------------------------------------------------------ reading


def load_results(results_dir: Path) -> list[DatasetResults]:
    """Every results/<dataset>/ with a dataset.json, in name order."""
    if not results_dir.is_dir():
        raise BenchError(f"{results_dir} not found; run `python -m bench run` first")
    datasets = []
    for folder in sorted(p for p in results_dir.iterdir() if p.is_dir()):
        meta_path = folder / "dataset.json"
        if not meta_path.is_file():
            if (folder / "runs").is_dir():
                raise BenchError(f"{meta_path} is missing; rerun `python -m bench run -d {folder.name}`")
            continue  # plots/ and other folders that hold no dataset
        meta = _read_json(meta_path)
        if not isinstance(meta.get("relevant_grade"), int):
            raise BenchError(f"{meta_path} has no integer relevant_grade; rerun `python -m bench run`")
        qrels = _read(read_trec_qrels, folder / "qrels.trec")
        dataset = DatasetResults(meta.get("name", folder.name), meta, qrels)
        runs_dir = folder / "runs"
        for meta_file in sorted(runs_dir.glob("*.json")):
            run_meta = _read_json(meta_file)
            if not isinstance(run_meta.get("retriever"), str):
                raise BenchError(f"{meta_file} has no retriever name; rerun `python -m bench run --force`")
            run = _read(read_trec_run, meta_file.with_suffix(".trec"))
            dataset.runs.append(StoredRun(run_meta["retriever"], run_meta, run))
        for trec in sorted(runs_dir.glob("*.trec")):
            if not trec.with_suffix(".json").is_file():
                print(f"skip {trec}: no {trec.stem}.json (an interrupted run; rerun to finish it)")
        datasets.append(dataset)
    return datasets


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = read_json(path)
    except (OSError, ValueError) as err:
        raise BenchError(f"{path} is not readable JSON ({err}); rerun `python -m bench run`") from None
    if not isinstance(data, dict):
        raise BenchError(f"{path} should hold a JSON object; rerun `python -m bench run`")
    return data


def _read(reader: Any, path: Path) -> Any:
    try:
        return reader(path)
    except (ValueError, IndexError) as err:  # a number that does not parse
        raise BenchError(f"{path} is malformed ({err}); rerun `python -m bench run --force`") from None


def system_letters(datasets: list[DatasetResults]) -> dict[str, str]:
    """One letter per retriever, the same in every table: a, b, ... by name."""
    names = sorted({r.retriever for ds in datasets for r in ds.runs})
    return {name: string.ascii_lowercase[i] if i < 26 else str(i + 1) for i, name in enumerate(names)}


# ------------------------------------------------------------------ markdown


def markdown(
    datasets: list[DatasetResults], letters: dict[str, str], environment: dict[str, Any] | None
) -> str:
    lines = ["# E-commerce retrieval leaderboard", "", *protocol_lines(datasets, environment), ""]
    lines += ["Systems: " + ", ".join(f"{letter} = `{name}`" for name, letter in letters.items()), ""]
    for ds in datasets:
        lines += dataset_section(ds, letters)
    lines += cross_domain_section(datasets)
    lines += qdrant_section(datasets)
    return "\n".join(lines).rstrip() + "\n"


def protocol_lines(datasets: list[DatasetResults], environment: dict[str, Any] | None) -> list[str]:
    ks = sorted({r.meta.get("k") for ds in datasets for r in ds.runs}, key=str)
    engines = sorted({str(r.meta.get("engine")) for ds in datasets for r in ds.runs})
    latency_n = sorted({r.meta.get("latency_queries") for ds in datasets for r in ds.runs}, key=str)
    lines = [
        "## Protocol",
        "",
        f"- **Quality**: {', '.join(LABELS[m] for m in METRICS)} on each dataset's test split, computed with "
        f"ranx {_package(environment, 'ranx')}. nDCG@10 (primary) uses the graded gains "
        "(gain / log2(rank + 1)); MRR, Recall, MAP and P count a product as relevant when its grade is "
        "at least the dataset's relevant grade (stated per dataset).",
        "- **Queries**: those with at least one relevant product. A query a retriever returns nothing for "
        "scores 0; ties in a run are broken by product id.",
        f"- **Significance**: {TEST_NAME} over queries, alpha = {ALPHA}, p-values Holm-corrected over all "
        "pairs of retrievers (per dataset and metric). A superscript lists the retrievers a score beats: "
        f"higher mean and corrected p < {ALPHA}.",
        f"- **k** = {', '.join(map(str, ks))} results per query; engine: {', '.join(engines)}.",
        f"- **Speed**: latency p50/p95 = single-query search calls (query encoding included) on "
        f"{', '.join(map(str, latency_n))} sampled queries after one warm-up; QPS = all test queries in one "
        "batch / wall time; index = seconds to build the index (to open it when marked cached).",
        f"- **Machine**: {machine_line(environment)}",
    ]
    return lines


def machine_line(environment: dict[str, Any] | None) -> str:
    if not environment:
        return "not recorded (no environment.json)."
    cpu = environment.get("cpu") or {}
    packages = environment.get("packages") or {}
    versions = ", ".join(f"{name} {v}" for name, v in packages.items() if v and name != "ranx")
    return (
        f"{cpu.get('model', '?')} ({cpu.get('cores', '?')} cores), "
        f"{environment.get('memory_gib', '?')} GiB RAM, "
        f"GPU: {environment.get('gpu') or 'none'}; Python {environment.get('python', '?')}; {versions}; "
        f"git {environment.get('git_commit') or 'unknown'}."
    )


def dataset_section(ds: DatasetResults, letters: dict[str, str]) -> list[str]:
    meta = ds.meta
    evaluated = ds.significance["queries"]
    lines = [
        f"## {ds.name}",
        "",
        f"{meta.get('split', 'test')} split: {_int(meta.get('queries'))} queries "
        f"({evaluated:,} with a relevant product, evaluated), {_int(meta.get('documents'))} products, "
        f"{_int(meta.get('judgments'))} judgments; "
        f"relevant = grade >= {ds.relevant_grade}.",
        "",
    ]
    lines += [f"- {note}" for note in meta.get("notes", [])]
    if meta.get("notes"):
        lines.append("")

    metrics = ds.significance["metrics"]
    best = {m: max(round(v, 3) for v in metrics[m]["scores"].values()) for m in METRICS}
    speed = {"latency_ms_p50": min, "latency_ms_p95": min, "qps": max}  # which end is best
    best_speed = {}  # compared as displayed, so equal-looking values are bold together
    for key, pick in speed.items():
        values = [_display(r.meta.get(key), key) for r in ds.runs if r.meta.get(key) is not None]
        best_speed[key] = pick(values, key=float) if values else None
    has_baseline = ds.has(BASELINE)

    header = ["", "Retriever", *(LABELS[m] for m in METRICS)]
    if has_baseline:
        header.append(f"Δ nDCG@10 vs {BASELINE} (p)")
    header += ["p50 ms", "p95 ms", "QPS", "Index s", "Active dims q / d"]
    rows = []
    for stored in ds.ranked():
        name = stored.retriever
        row = [letters[name], f"`{name}`"]
        for m in METRICS:
            value = round(metrics[m]["scores"][name], 3)
            cell = f"**{value:.3f}**" if value == best[m] else f"{value:.3f}"
            beaten = "".join(sorted(letters[other] for other in metrics[m]["beats"][name]))
            row.append(f"{cell}<sup>{beaten}</sup>" if beaten else cell)
        if has_baseline:
            row.append(baseline_cell(ds, name))
        for key in speed:
            shown = _display(stored.meta.get(key), key)
            row.append(f"**{shown}**" if shown != "—" and shown == best_speed[key] else shown)
        index = _display(stored.meta.get("index_seconds"), "index_seconds")
        row.append(f"{index} (cached)" if stored.meta.get("index_cached") else index)
        row.append(active_dims(stored.meta.get("info") or {}))
        rows.append(row)
    lines += [markdown_table(header, rows), ""]
    return lines


def baseline_cell(ds: DatasetResults, name: str) -> str:
    if name == BASELINE:
        return "—"
    primary = ds.significance["metrics"][PRIMARY]
    delta = primary["scores"][name] - primary["scores"][BASELINE]
    p_value = primary["p_values"][name][BASELINE]
    mark = "*" if p_value < ALPHA else ""
    return f"{delta:+.3f} ({_p(p_value)}){mark}"


def active_dims(info: dict[str, Any]) -> str:
    query, doc = info.get("active_dims_query"), info.get("active_dims_doc")
    if query is None and doc is None:
        return "—"
    return f"{_display(query, 'dims')} / {_display(doc, 'dims')}"


def cross_domain_section(datasets: list[DatasetResults]) -> list[str]:
    lines = ["## Cross-domain", ""]
    matrix = cross_domain(datasets)
    if not matrix["rows"]:
        return [*lines, "No run of a fine-tuned model (run info `trained_on`) yet.", ""]
    columns = matrix["columns"]
    rows = []
    for row in matrix["rows"]:
        cells = []
        for column in columns:
            value = row["ndcg@10"].get(column)
            in_domain = column in row["trained_on"]
            cells.append("—" if value is None else f"{value:.3f}{' †' if in_domain else ''}")
        rows.append([row["label"], *cells])
    lines += [
        "nDCG@10 of models trained on the dataset(s) of the row (train split), evaluated on the test split "
        f"of each column; † = in-domain. `{BASELINE}` (no training) for reference.",
        "",
        markdown_table(["trained on → evaluated on", *columns], rows),
        "",
    ]
    return lines


def cross_domain(datasets: list[DatasetResults]) -> dict[str, Any]:
    """Rows: one per (retriever, trained_on) plus the untrained baseline; columns: datasets."""
    rows: dict[tuple[str, tuple[str, ...]], dict[str, float]] = {}
    for ds in datasets:
        for stored in ds.runs:
            trained_on = (stored.meta.get("info") or {}).get("trained_on")
            if trained_on:
                key = (stored.retriever, tuple(sorted(trained_on)))
                rows.setdefault(key, {})[ds.name] = ds.score(stored.retriever)
    if not rows:
        return {"columns": [ds.name for ds in datasets], "rows": []}
    result = [
        {"retriever": name, "trained_on": list(trained_on), "label": f"{'+'.join(trained_on)} (`{name}`)",
         "ndcg@10": scores}
        for (name, trained_on), scores in sorted(rows.items())
    ]
    baseline = {ds.name: ds.score(BASELINE) for ds in datasets if ds.has(BASELINE)}
    if baseline:
        result.append({"retriever": BASELINE, "trained_on": [], "label": f"none (`{BASELINE}`)",
                       "ndcg@10": baseline})
    return {"columns": [ds.name for ds in datasets], "rows": result}


def qdrant_section(datasets: list[DatasetResults]) -> list[str]:
    ours = {ds.name: ds for ds in datasets}
    header = ["Dataset"]
    for system, label in QDRANT_SYSTEMS.items():
        header += [f"Qdrant {label}", f"ours `{system}`"]
    rows = []
    for dataset, reference in QDRANT_REFERENCE.items():
        row = [dataset]
        for system in QDRANT_SYSTEMS:
            low, high = reference[system]
            row.append(f"{low:.3f}" if low == high else f"{low:.3f}–{high:.3f}")
            ds = ours.get(dataset)
            row.append(f"{ds.score(system):.3f}" if ds and ds.has(system) else "—")
        rows.append(row)
    models = sorted({
        f"`{r.retriever}`: {(r.meta.get('info') or {}).get('model')}"
        for ds in datasets for r in ds.runs
        if r.retriever in QDRANT_SYSTEMS and (r.meta.get("info") or {}).get("model")
    })
    return [
        "## Compared with Qdrant's published numbers",
        "",
        "nDCG@10 from Qdrant's article series on fine-tuning sparse embeddings for e-commerce "
        f"({', '.join(QDRANT_SOURCES)}); a range where Qdrant reports more than one figure.",
        "",
        markdown_table(header, rows),
        "",
        "Where our protocol differs, so compare the gaps between systems more than the absolute numbers:",
        "",
        "- **Data slices**: Qdrant used 10k products and 2k test queries per dataset; ours are our own "
        "seeded test slices (the dataset notes above say how they are drawn and how grades map to "
        "gains), so the queries, the products and the distractors differ.",
        "- **Models**: our off-the-shelf SPLADE is the small model we ship for offline runs, not the larger "
        "SPLADE Qdrant used; our fine-tuned SPLADE starts from it. "
        + (f"Models here: {'; '.join(models)}." if models else ""),
        "- **Training data**: Qdrant's fine-tuned model was trained on ESCI only, so its WANDS and "
        "Home Depot figures are cross-domain; see the cross-domain section for what ours were trained on.",
        "- **Relevance**: binary metrics use each dataset's relevant grade; nDCG uses our gain mapping.",
        "",
    ]


# ------------------------------------------------------------------ csv and json


def csv_rows(datasets: list[DatasetResults]) -> list[dict[str, Any]]:
    rows = []
    for ds in datasets:
        for stored in sorted(ds.runs, key=lambda r: r.retriever):
            info = stored.meta.get("info") or {}
            row: dict[str, Any] = {"dataset": ds.name, "retriever": stored.retriever}
            row.update({m: _round(ds.score(stored.retriever, m)) for m in METRICS})
            row.update(queries_evaluated=ds.significance["queries"], k=stored.meta.get("k"),
                       engine=stored.meta.get("engine"))
            row.update({key: stored.meta.get(key) for key in TIMING_COLUMNS})
            row.update({key: info.get(key) for key in INFO_COLUMNS})
            if isinstance(row["trained_on"], list):
                row["trained_on"] = "+".join(row["trained_on"])
            rows.append(row)
    return rows


def csv_text(datasets: list[DatasetResults]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in csv_rows(datasets):
        writer.writerow({key: "" if value is None else value for key, value in row.items()})
    return buffer.getvalue()


def json_data(
    datasets: list[DatasetResults], letters: dict[str, str], environment: dict[str, Any] | None
) -> dict[str, Any]:
    return {
        "protocol": {
            "metrics": METRICS, "primary": PRIMARY, "test": TEST_NAME, "alpha": ALPHA,
            "correction": "holm", "baseline": BASELINE,
            "queries": "qrels queries with at least one product graded >= relevant_grade; "
                       "a query without results scores 0",
        },
        "environment": environment,
        "systems": letters,
        "datasets": {
            ds.name: {
                "dataset": ds.meta,
                "queries_evaluated": ds.significance["queries"],
                "retrievers": {r.retriever: {
                    "metrics": {m: _round(ds.score(r.retriever, m)) for m in METRICS}, "run": r.meta,
                } for r in sorted(ds.runs, key=lambda r: r.retriever)},
                "significance": _rounded_significance(ds.significance),
            }
            for ds in datasets
        },
        "cross_domain": cross_domain(datasets),
        "qdrant_reference": {"sources": QDRANT_SOURCES, "ndcg@10": {
            dataset: {system: list(bounds) for system, bounds in systems.items()}
            for dataset, systems in QDRANT_REFERENCE.items()
        }},
    }


def _rounded_significance(significance: dict[str, Any]) -> dict[str, Any]:
    metrics = {}
    for metric, entry in significance["metrics"].items():
        metrics[metric] = {
            "scores": {name: _round(v) for name, v in entry["scores"].items()},
            **{key: {name: {other: float(f"{p:.4g}") for other, p in sorted(ps.items())}
                     for name, ps in entry[key].items()}
               for key in ("beats", "p_values", "p_values_raw")},
        }
    return {**significance, "metrics": metrics}


# ------------------------------------------------------------------ plots


def plot_ndcg(datasets: list[DatasetResults]) -> bytes:
    """Grouped bars: one group per dataset, one bar per retriever."""
    figure, axes = _figure(max(7.0, 1.2 + 0.45 * sum(len(ds.runs) for ds in datasets)))
    names = sorted({r.retriever for ds in datasets for r in ds.runs})
    width = 0.8 / len(names)
    colours = _colours(len(names))
    for i, name in enumerate(names):
        xs, ys = [], []
        for x, ds in enumerate(datasets):
            if ds.has(name):
                xs.append(x - 0.4 + width * (i + 0.5))
                ys.append(ds.score(name))
        bars = axes.bar(xs, ys, width * 0.92, label=name, color=colours[i])
        axes.bar_label(bars, fmt="%.3f", fontsize=7, rotation=90, padding=2)
    axes.set_xticks(range(len(datasets)), [ds.name for ds in datasets])
    top = max(ds.score(r.retriever) for ds in datasets for r in ds.runs)
    axes.set_ylim(0, top * 1.2 + 0.02)  # room for the value labels above the bars
    axes.set_yticks([tick for tick in axes.get_yticks() if 0 <= tick <= 1.0])
    axes.set_ylabel("nDCG@10 (higher is better)")
    axes.set_title("nDCG@10 per dataset and retriever (test queries)")
    axes.legend(title="retriever", fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    axes.grid(axis="y", alpha=0.3)
    return _png(figure)


def plot_quality_vs_latency(datasets: list[DatasetResults]) -> bytes:
    """nDCG@10 against p50 query latency (log x): colour = dataset, marker = retriever."""
    from matplotlib.lines import Line2D
    from matplotlib.ticker import FuncFormatter

    figure, axes = _figure(8.0)
    names = sorted({r.retriever for ds in datasets for r in ds.runs})
    markers = {name: "osD^vP*Xh<>p"[i % 12] for i, name in enumerate(names)}
    colours = dict(zip((ds.name for ds in datasets), _colours(len(datasets)), strict=True))
    for ds in datasets:
        for stored in ds.runs:
            latency = stored.meta.get("latency_ms_p50")
            if latency:
                axes.scatter(latency, ds.score(stored.retriever), s=60, color=colours[ds.name],
                             marker=markers[stored.retriever], edgecolors="black", linewidths=0.5)
    axes.set_xscale("log")
    axes.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    axes.set_xlabel("p50 query latency, ms (log scale; lower is better)")
    axes.set_ylabel("nDCG@10 (higher is better)")
    axes.set_title("Quality vs. query latency")
    axes.grid(alpha=0.3, which="both")
    dataset_legend = axes.legend(
        handles=[Line2D([], [], marker="o", linestyle="", color=c, label=n) for n, c in colours.items()],
        title="dataset", fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0),
    )
    axes.add_artist(dataset_legend)
    axes.legend(
        handles=[Line2D([], [], marker=markers[n], linestyle="", color="grey", label=n) for n in names],
        title="retriever", fontsize=8, loc="lower left", bbox_to_anchor=(1.01, 0.0),
    )
    return _png(figure)


def _figure(width: float) -> tuple[Any, Any]:
    from matplotlib.figure import Figure  # the Agg canvas, no pyplot state

    figure = Figure(figsize=(width, 4.8), dpi=120, layout="constrained")
    return figure, figure.add_subplot()


def _colours(n: int) -> list[Any]:
    from matplotlib import colormaps

    palette = colormaps["tab10" if n <= 10 else "tab20"]
    return [palette(i % palette.N) for i in range(n)]


def _png(figure: Any) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()


# ------------------------------------------------------------------ helpers


def print_summary(datasets: list[DatasetResults], paths: list[Path]) -> None:
    for ds in datasets:
        best = ds.ranked()[0].retriever
        print(f"{ds.name}: best nDCG@10 {ds.score(best):.3f} by {best} "
              f"({len(ds.runs)} retrievers, {ds.significance['queries']} queries)")
    print("wrote " + ", ".join(str(p) for p in paths))


def _package(environment: dict[str, Any] | None, name: str) -> str:
    """A package's version as recorded with the runs, else as installed now."""
    recorded = ((environment or {}).get("packages") or {}).get(name)
    if recorded:
        return recorded
    from importlib.metadata import version

    return version(name)


def _round(value: float) -> float:
    return round(float(value), 6)


def _p(p_value: float) -> str:
    return "p<0.001" if p_value < 0.001 else f"p={p_value:.3f}"


def _int(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) else "?"


def _display(value: Any, key: str) -> str:
    """How a timing or count reads in the table (bold compares these strings)."""
    if value is None:
        return "—"
    if key in {"latency_ms_p50", "latency_ms_p95"}:
        return f"{value:.2f}" if value < 100 else f"{value:.0f}"
    if key in {"qps", "dims"}:
        return f"{value:.0f}"
    return f"{value:.1f}"

