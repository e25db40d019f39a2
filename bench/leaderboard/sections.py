"""The published leaderboard: tables, significance and plots rebuilt from the stored runs.

>>> build(Path("results"))   # also `python -m bench leaderboard`
[PosixPath('results/leaderboard.md'), PosixPath('results/leaderboard.csv'), ...]
>>> build(Path("merged"), sources=[Path("laptop"), Path("gpu-box")])   # several machines, one page

Every folder holding a dataset.json (`results/<dataset>/`, and `results/<dataset>/variants/<v>/`
for quick runs) is one independent table: its runs are scored and significance-tested against
each other only, on that folder's own queries (every system against the baseline, then every
pair in a table of its own: bench.evidence), and every row says how many queries it was scored
on. A correctness twin (bench.twins) is a check line under its table, not a row. The main
tables hold full-protocol runs; variants get their own section. A run is read only if its file
matches the sha256 in its sidecar (else it is skipped with one line).

Writes leaderboard.md, .csv, .json, .tex (booktabs), index.html (one self-contained page) and
plots/*.png. Everything is computed before the first file is written, each file is written
atomically, and the same inputs give byte-identical files (no timestamps but the runs' own).
"""

from __future__ import annotations

import csv
import io
import json
import string
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import evidence, timings
from bench.data import Qrels, Run
from bench.errors import BenchError
from bench.io import atomic_path, read_json
from bench.metrics import ALPHA, BASELINE, LABELS, METRICS, POOL, POOL_LABELS, PRIMARY, TEST_NAME
from bench.page import Section, render
from bench.results import UnverifiedRun, load_verified_run, read_trec_qrels, result_dirs
from bench.tables import Cell, latex_escape, latex_inline, latex_table, markdown_table, p_text, round6

FORMATS = ("md", "csv", "json", "latex", "html")
PLOT_NAMES = ("ndcg_at_10.png", "quality_vs_latency.png")
TIMING_COLUMNS = [
    "latency_ms_p50", "latency_ms_p95", "qps", "search_seconds", "model_load_seconds", "index_seconds",
    "index_cached", "docs_per_second", "warmup",
]
VERSUS_COLUMNS = {  # CSV column -> key of the row's comparison with the baseline (bench.evidence)
    "delta_ndcg@10": "delta", "ci95_low": "ci95_low", "ci95_high": "ci95_high", "p_vs_baseline": "p",
    "p_vs_baseline_raw": "p_raw", "wins": "wins", "ties": "ties", "losses": "losses",
}
INFO_COLUMNS = ["active_dims_query", "active_dims_doc", "model", "model_sha256", "trained_on"]
CSV_COLUMNS = ["dataset", "variant", "retriever", *METRICS, *POOL, *VERSUS_COLUMNS, "check_of",
               "queries_evaluated", "k", "engine", *TIMING_COLUMNS, *INFO_COLUMNS, "machine", "source",
               "run_sha256"]
METRIC_NOTES = {
    "ndcg@10": "graded gains, gain / log2(rank + 1), top 10",
    "mrr@10": "1 / rank of the first relevant product in the top 10",
    "recall@10": "share of the relevant products found in the top 10",
    "recall@100": "share of the relevant products found in the top 100",
    "map@100": "mean average precision over the top 100",
    "precision@10": "share of relevant products in the top 10",
}

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
    path: Path  # its run file, as read
    source: Path  # the results folder it was read from
    environment: dict[str, Any] | None  # the machine and versions it ran with
    machine: str = ""  # "M1", "M2", ... once the leaderboard has numbered the environments

    @property
    def sha256(self) -> str:
        return str(self.meta["run_sha256"])


@dataclass
class ResultTable:
    """One results folder: a dataset's full-protocol runs, or one variant of it (own queries)."""

    name: str
    variant: str | None
    key: str  # the folder relative to its results folder: "esci", "esci/variants/q200-seed42-k100"
    meta: dict[str, Any]
    qrels: Qrels
    source: Path  # the results folder it was read from
    runs: list[StoredRun] = field(default_factory=list)
    evidence: dict[str, Any] = field(default_factory=dict)  # bench.evidence.analyse of its runs

    @property
    def label(self) -> str:
        return self.name if self.variant is None else f"{self.name} · {self.variant}"

    @property
    def anchor(self) -> str:
        return self.key.replace("/variants/", "--").replace("/", "-")

    @property
    def relevant_grade(self) -> int:
        return int(self.meta["relevant_grade"])

    @property
    def queries(self) -> int:
        """Queries every row of this table was scored on (those with a relevant product)."""
        return int(self.evidence["queries"])

    def has(self, retriever: str) -> bool:
        return any(r.retriever == retriever for r in self.runs)

    def get(self, retriever: str) -> StoredRun | None:
        return next((r for r in self.runs if r.retriever == retriever), None)

    def score(self, retriever: str, metric: str = PRIMARY) -> float:
        return self.evidence["scores"][metric][retriever]

    def systems(self) -> list[StoredRun]:
        """The ranked runs: all but the correctness twins (checks) of another run in this table."""
        return [r for r in self.runs if r.retriever in self.evidence["systems"]]

    def ranked(self) -> list[StoredRun]:
        """Systems by nDCG@10, best first (ties by name)."""
        return sorted(self.systems(), key=lambda r: (-self.score(r.retriever), r.retriever))

    def machines(self) -> list[str]:
        return sorted({r.machine for r in self.runs})


@dataclass
class Leaderboard:
    tables: list[ResultTable]  # full protocol, by dataset name
    variants: list[ResultTable]  # quick runs, each its own table
    letters: dict[str, str]  # retriever -> a, b, c ... (the same in every table)
    machines: dict[str, dict[str, Any] | None]  # "M1" -> environment
    sources: list[Path]

    @property
    def main(self) -> list[ResultTable]:
        """What the plots and the cross-domain matrix show: full-protocol tables, else the quick runs."""
        return self.tables or self.variants

    @property
    def quick_only(self) -> bool:
        return not self.tables


def build(
    out: Path, sources: list[Path] | None = None, prefer: Path | None = None,
    formats: tuple[str, ...] = FORMATS,
) -> list[Path]:
    """Rebuild the leaderboard files in `out` from the runs stored in `sources` (default: `out`)."""
    out = Path(out)
    board = load(sources or [out], prefer)
    md = markdown(board)
    plots = {}  # PNGs: files next to the Markdown, inlined into the page
    if {"md", "html"} & set(formats):
        plots = {out / "plots" / PLOT_NAMES[0]: plot_ndcg(board),
                 out / "plots" / PLOT_NAMES[1]: plot_quality_vs_latency(board)}
    outputs: dict[Path, bytes] = {}
    if "md" in formats:
        outputs[out / "leaderboard.md"] = md.encode()
    if "csv" in formats:
        outputs[out / "leaderboard.csv"] = csv_text(board).encode()
    if "json" in formats:
        outputs[out / "leaderboard.json"] = (json.dumps(json_data(board), indent=2) + "\n").encode()
    if "latex" in formats:
        outputs[out / "leaderboard.tex"] = latex(board).encode()
    if "html" in formats:
        images = {path.name: data for path, data in plots.items()}
        outputs[out / "index.html"] = render(
            "E-commerce retrieval leaderboard", sections(board), images
        ).encode()
    outputs.update(plots)
    for path, content in outputs.items():  # only now, with everything computed
        with atomic_path(path) as tmp:
            tmp.write_bytes(content)
    print_summary(board, list(outputs))
    return list(outputs)


# ------------------------------------------------------------------ reading and merging


def load(sources: list[Path], prefer: Path | None = None) -> Leaderboard:
    """Every table of every source, merged; significance computed; letters and machines numbered.

    The same (dataset, variant, retriever) in two sources is one run when the run files have the
    same sha256. Different files are a conflict: each is named in one line, then an error, unless
    `prefer` names the source whose runs win (the others' are left out, each with one line).
    """
    sources = [Path(s) for s in sources]
    if prefer is not None:
        preferred = [s for s in sources if s.resolve() == Path(prefer).resolve()]
        if not preferred:
            folders = ", ".join(map(str, sources))
            raise BenchError(f"--prefer {prefer}: not one of the --from folders ({folders})")
        prefer = preferred[0]
        sources = [prefer, *(s for s in sources if s != prefer)]  # the preferred runs are read first
    tables: dict[str, ResultTable] = {}
    conflicts: list[str] = []
    for source in sources:
        for table in load_source(source):
            kept = tables.setdefault(table.key, table)
            if kept is table:
                continue
            if kept.qrels != table.qrels or _fingerprint(kept) != _fingerprint(table):
                conflicts.append(f"{table.key}: {kept.source} and {table.source} hold different queries, "
                                 f"judgments or products; its runs from {table.source} are not merged")
                continue
            for stored in table.runs:
                other = kept.get(stored.retriever)
                if other is None:
                    kept.runs.append(stored)
                elif other.sha256 != stored.sha256:  # identical files are the same run: nothing to say
                    conflicts.append(f"{table.key} {stored.retriever}: {other.path} (sha256 "
                                     f"{other.sha256[:12]}) differs from {stored.path} (sha256 "
                                     f"{stored.sha256[:12]})")
    for line in conflicts:
        print(f"conflict: {line}" + (f"; keeping {prefer}'s" if prefer else ""))
    if conflicts and prefer is None:
        raise BenchError(f"{len(conflicts)} conflicting runs in the merged folders (listed above); pass "
                         "--prefer DIR to keep one folder's runs, or merge fewer folders")
    found = [t for t in tables.values() if t.runs]
    if not found:
        where = ", ".join(str(s) for s in sources)
        raise BenchError(f"no finished runs in {where}; run `python -m bench run` first")
    for table in found:
        table.runs.sort(key=lambda r: r.retriever)
        runs = {r.retriever: r.run for r in table.runs}
        table.evidence = evidence.analyse(table.qrels, runs, table.relevant_grade)
    found.sort(key=lambda t: (t.variant is not None, t.name, t.variant or ""))
    return Leaderboard(
        tables=[t for t in found if t.variant is None],
        variants=[t for t in found if t.variant is not None],
        letters=system_letters(found),
        machines=number_machines(found),
        sources=sources,
    )


def _fingerprint(table: ResultTable) -> Any:
    return table.meta.get("corpus_fingerprint")


def load_source(source: Path) -> list[ResultTable]:
    """The tables of one results folder; runs that cannot be verified are skipped with one line."""
    if not source.is_dir():
        raise BenchError(f"{source} not found; run `python -m bench run --out {source}` first")
    env_path = source / "environment.json"
    environment = _read_json(env_path) if env_path.is_file() else None
    tables = []
    for folder in result_dirs(source):
        meta_path = folder / "dataset.json"
        meta = _read_json(meta_path)
        if not isinstance(meta.get("relevant_grade"), int):
            raise BenchError(f"{meta_path} has no integer relevant_grade; rerun `python -m bench run`")
        qrels = _read(read_trec_qrels, folder / "qrels.trec")
        key = folder.relative_to(source).as_posix()
        name = meta.get("name", key.split("/")[0])
        table = ResultTable(name, meta.get("variant"), key, meta, qrels, source)
        runs_dir = folder / "runs"
        for sidecar in sorted(runs_dir.glob("*.json")):
            try:
                run_meta, run = load_verified_run(sidecar)
            except UnverifiedRun as why:
                print(f"skip {sidecar.with_suffix('.trec')}: {why}; rerun `python -m bench run` to redo it")
                continue
            if not isinstance(run_meta.get("retriever"), str):
                print(f"skip {sidecar}: no retriever name; rerun `python -m bench run --force`")
                continue
            own = run_meta.get("environment")
            table.runs.append(StoredRun(run_meta["retriever"], run_meta, run, sidecar.with_suffix(".trec"),
                                        source, own if isinstance(own, dict) else environment))
        for trec in sorted(runs_dir.glob("*.trec")):
            if not trec.with_suffix(".json").is_file():
                print(f"skip {trec}: no {trec.stem}.json (an interrupted run; rerun to finish it)")
        tables.append(table)
    return tables


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


def system_letters(tables: list[ResultTable]) -> dict[str, str]:
    """One letter per ranked retriever (checks have none), the same in every table: a, b, ... by name."""
    names = sorted({r.retriever for t in tables for r in t.systems()})
    return {name: string.ascii_lowercase[i] if i < 26 else str(i + 1) for i, name in enumerate(names)}


def number_machines(tables: list[ResultTable]) -> dict[str, dict[str, Any] | None]:
    """Label each distinct environment M1, M2, ... (the git commit alone does not make a new machine)."""
    labels: dict[str, str] = {}
    machines: dict[str, dict[str, Any] | None] = {}
    for table in tables:
        for stored in table.runs:
            env = stored.environment
            identity = json.dumps({k: v for k, v in (env or {}).items() if k != "git_commit"}, sort_keys=True)
            if identity not in labels:
                labels[identity] = f"M{len(labels) + 1}"
                machines[labels[identity]] = env
            stored.machine = labels[identity]
    return machines


# ------------------------------------------------------------------ the document (Markdown and the page)


def sections(board: Leaderboard) -> list[Section]:
    """Results first (tables, plots, cross-domain, Qdrant's numbers, quick runs), then how they were made."""
    legend = ", ".join(f"{letter} = `{name}`" for name, letter in board.letters.items())
    parts = [Section("Systems", "systems", text=[
        f"Letters used by the significance marks: {legend}. Each table is one results folder: its rows were "
        f"scored on the same queries and are tested against `{BASELINE}` only; every pair is tested in the "
        "all-pairs table under it. Protocol and machine: at the end."
    ])]
    parts += [part for t in board.tables for part in table_sections(t, board)]
    if board.quick_only:
        parts.append(Section("Full protocol", "full-protocol", text=[
            "No full-protocol run yet (every test query, k = 100, seed 42); the quick runs are below. "
            "Run `python -m bench run --all` for the published protocol."]))
    parts.append(plots_section(board))
    parts.append(cross_domain_section(board))
    parts.append(qdrant_section(board))
    if board.variants:
        parts.append(Section("Quick runs (not the protocol)", "quick-runs", text=[
            "Runs on a query sample, another k or another seed. Each table was scored on its own "
            "queries: its rows are compared only with each other, never with the tables above or "
            "with another quick run."]))
        parts += [part for t in board.variants for part in table_sections(t, board, level=3)]
    parts.append(Section("Protocol", "protocol", bullets=protocol_lines(board)))
    if len(board.machines) > 1:
        parts.append(machines_section(board))
    return parts


def markdown(board: Leaderboard) -> str:
    lines = ["# E-commerce retrieval leaderboard", ""]
    for part in sections(board):
        lines += ["#" * part.level + " " + part.title, ""]
        for paragraph in part.text:
            lines += [paragraph, ""]
        if part.bullets:
            lines += [f"- {bullet}" for bullet in part.bullets] + [""]
        if part.table:
            lines += [markdown_table(*part.table), ""]
        for alt, path in part.images:
            lines += [f"![{alt}]({path})", ""]
        for paragraph in part.after:
            lines += [paragraph, ""]
        if part.after_bullets:
            lines += [f"- {bullet}" for bullet in part.after_bullets] + [""]
    return "\n".join(lines).rstrip() + "\n"


def protocol_lines(board: Leaderboard) -> list[str]:
    tables = [*board.tables, *board.variants]
    runs = [r for t in tables for r in t.runs]
    ks = sorted({r.meta.get("k") for r in runs}, key=str)
    engines = sorted({str(r.meta.get("engine")) for r in runs})
    environments = list(board.machines.values())
    lines = [
        f"**Quality**: {', '.join(LABELS[m] for m in METRICS)} on each dataset's test split, computed with "
        f"ranx {_package(environments[0] if environments else None, 'ranx')}. nDCG@10 (primary) uses the "
        "graded gains (gain / log2(rank + 1)); MRR, Recall, MAP and P count a product as relevant when its "
        "grade is at least the dataset's relevant grade (stated per dataset).",
        "**Queries**: those with at least one relevant product; every row says how many it was scored on. "
        "A query a retriever returns nothing for scores 0.",
        "**Ties**: trec_eval's convention. Scores are rounded to the 6 decimals written in the run file; "
        "within a query, products rank by that score descending, then by product id descending (string "
        "order), so the run files give these numbers with trec_eval.",
        *evidence.protocol_lines([t.evidence["significance"]["family_size"] for t in tables
                                  if t.evidence["significance"]]),
        f"**Protocol runs**: every test query, k = 100, seed 42. **k** in these results: "
        f"{', '.join(map(str, ks))}; engine: {', '.join(engines)}.",
    ]
    lines += timings.protocol_lines([(r.retriever, r.meta) for r in runs])
    if len(board.machines) == 1:
        lines.append(f"**Machine**: {machine_line(environments[0])}")
    else:
        lines.append(f"**Machines**: {len(board.machines)} (M1 ... M{len(board.machines)}); each row names "
                     "its machine, described in the Machines section.")
    if len(board.sources) > 1:
        lines.append("**Merged from**: " + ", ".join(f"`{s}`" for s in board.sources) + ".")
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


def machine_short(environment: dict[str, Any] | None) -> str:
    if not environment:
        return "not recorded"
    cpu = environment.get("cpu") or {}
    return f"{cpu.get('model', '?')} ×{cpu.get('cores', '?')}, GPU: {environment.get('gpu') or 'none'}"


def machines_section(board: Leaderboard) -> Section:
    sources: dict[str, set[str]] = {}
    for table in [*board.tables, *board.variants]:
        for stored in table.runs:
            sources.setdefault(stored.machine, set()).add(str(stored.source))
    rows = [[Cell(label), Cell(machine_line(env)), Cell(", ".join(sorted(sources.get(label, ()))), code=True)]
            for label, env in board.machines.items()]
    return Section("Machines", "machines", text=["Each row of the tables names the machine it ran on."],
                   table=([Cell("Machine"), Cell("Environment"), Cell("Results folder")], rows))


def table_sections(table: ResultTable, board: Leaderboard, level: int = 2) -> list[Section]:
    """The table (with its checks below it), then its all-pairs p-values one level down."""
    meta = table.meta
    line = (f"{meta.get('split', 'test')} split: {_int(meta.get('queries'))} queries "
            f"({table.queries:,} with a relevant product, scored), {_int(meta.get('documents'))} products, "
            f"{_int(meta.get('judgments'))} judgments; relevant = grade >= {table.relevant_grade}.")
    if table.variant is not None:
        line = f"Quick run `{table.variant}`, not the protocol: " + line
    main = Section(table.label, table.anchor, level=level, text=[line], bullets=list(meta.get("notes", [])),
                   table=leaderboard_rows(table, board), after=evidence.checks_line(table.evidence))
    ranked = [r.retriever for r in table.ranked()]
    pairs = evidence.pairs_section(f"{table.label}: all pairs", f"{table.anchor}-pairs", level + 1, ranked,
                                   board.letters, table.evidence)
    return [main] if pairs is None else [main, pairs]


def leaderboard_rows(table: ResultTable, board: Leaderboard) -> tuple[list[Cell], list[list[Cell]]]:
    """Header and rows of one table: letter, retriever, queries, metrics, pool, vs BM25, speed, sparsity."""
    letters = board.letters
    found = table.evidence
    scores = found["scores"]
    beats = found["significance"]["metrics"] if found["significance"] else None
    systems = table.systems()
    best = {m: max(round(scores[m][r.retriever], 3) for r in systems) for m in METRICS}
    fastest = timings.fastest([r.meta for r in systems]) if len(table.machines()) == 1 else {}
    sig_note = (f"superscript: the retrievers (letters) this score beats, {TEST_NAME} against {BASELINE}, "
                f"Holm-corrected p < {ALPHA}")

    header = [Cell("", note="letter used by the significance marks"),
              Cell("Retriever", note="the adapter's name (`python -m bench list`)"),
              Cell("Queries", note="queries this row was scored on (with a relevant product)")]
    header += [Cell(LABELS[m], note=f"{METRIC_NOTES[m]}; {sig_note}") for m in METRICS]
    header += evidence.pool_header()
    if found["versus_baseline"]:
        header += evidence.versus_header(found["significance"]["family_size"])
    header += [*timings.speed_header(),
               Cell("Active dims q / d", note="mean non-zero dimensions of query / document vectors")]
    if len(board.machines) > 1:
        header.append(Cell("Machine", note="where this row ran; see Machines"))
    rows = []
    for stored in table.ranked():
        name = stored.retriever
        row = [Cell(letters[name]), Cell(name, code=True), Cell(f"{table.queries:,}", sort=table.queries)]
        for m in METRICS:
            score = scores[m][name]
            beaten = beats[m]["beats"][name] if beats else {}
            order = sorted(beaten, key=letters.__getitem__)
            explained = "; ".join(f"{other} (p={p_text(beaten[other])})" for other in order)
            row.append(Cell(f"{round(score, 3):.3f}", bold=round(score, 3) == best[m],
                            sup="".join(letters[other] for other in order),
                            sort=round(score, 6),
                            sup_note=f"significantly better than {explained}" if beaten else ""))
        row += evidence.pool_cells(found, name)
        if found["versus_baseline"]:
            row += evidence.versus_cells(found["versus_baseline"].get(name))
        row += timings.speed_cells(stored.meta, fastest)
        info = stored.meta.get("info") or {}
        row.append(Cell(active_dims(info), sort=info.get("active_dims_query")))
        if len(board.machines) > 1:
            row.append(Cell(stored.machine, note=machine_short(stored.environment)))
        rows.append(row)
    return header, rows


def active_dims(info: dict[str, Any]) -> str:
    query, doc = info.get("active_dims_query"), info.get("active_dims_doc")
    if query is None and doc is None:
        return "—"
    return f"{timings.display(query, 'dims')} / {timings.display(doc, 'dims')}"


def plots_section(board: Leaderboard) -> Section:
    which = "quick runs (no full-protocol run yet)" if board.quick_only else "full-protocol runs"
    return Section("Plots", "plots", text=[f"nDCG@10 and quality against latency, {which}."],
                   images=[("nDCG@10 per dataset and retriever", f"plots/{PLOT_NAMES[0]}"),
                           ("nDCG@10 against p50 latency", f"plots/{PLOT_NAMES[1]}")])


def cross_domain_section(board: Leaderboard) -> Section:
    part = Section("Cross-domain", "cross-domain")
    matrix = cross_domain(board.main)
    if not matrix["rows"]:
        part.text = ["No run of a fine-tuned model (run info `trained_on`) yet."]
        return part
    columns = matrix["columns"]
    rows = []
    for row in matrix["rows"]:
        cells = [Cell(row["label"])]
        for column in columns:
            value = row["ndcg@10"].get(column)
            in_domain = column in row["trained_on"]
            cells.append(Cell("—") if value is None else
                         Cell(f"{value:.3f}{' †' if in_domain else ''}", sort=round(value, 6),
                              note="in-domain: trained on this dataset's train split" if in_domain else ""))
        rows.append(cells)
    part.text = ["nDCG@10 of models trained on the dataset(s) of the row (train split), evaluated on the "
                 f"test split of each column; † = in-domain. `{BASELINE}` (no training) for reference."
                 + (" Quick runs: each column on its own query sample." if board.quick_only else "")]
    part.table = ([Cell("trained on → evaluated on"), *(Cell(c) for c in columns)], rows)
    return part


def cross_domain(tables: list[ResultTable]) -> dict[str, Any]:
    """Rows: one per (retriever, trained_on) plus the untrained baseline; columns: tables."""
    rows: dict[tuple[str, tuple[str, ...]], dict[str, float]] = {}
    for table in tables:
        for stored in table.runs:
            trained_on = (stored.meta.get("info") or {}).get("trained_on")
            if trained_on:
                key = (stored.retriever, tuple(sorted(trained_on)))
                rows.setdefault(key, {})[table.label] = table.score(stored.retriever)
    columns = [t.label for t in tables]
    if not rows:
        return {"columns": columns, "rows": []}
    result = [
        {"retriever": name, "trained_on": list(trained_on), "label": f"{'+'.join(trained_on)} (`{name}`)",
         "ndcg@10": scores}
        for (name, trained_on), scores in sorted(rows.items())
    ]
    baseline = {t.label: t.score(BASELINE) for t in tables if t.has(BASELINE)}
    if baseline:
        result.append({"retriever": BASELINE, "trained_on": [], "label": f"none (`{BASELINE}`)",
                       "ndcg@10": baseline})
    return {"columns": columns, "rows": result}


def qdrant_section(board: Leaderboard) -> Section:
    ours = {t.name: t for t in board.tables}  # full protocol only: the articles used every test query
    header = [Cell("Dataset")]
    for system, label in QDRANT_SYSTEMS.items():
        header += [Cell(f"Qdrant {label}"), Cell(f"ours `{system}`")]
    rows = []
    for dataset, reference in QDRANT_REFERENCE.items():
        row = [Cell(dataset)]
        for system in QDRANT_SYSTEMS:
            low, high = reference[system]
            row.append(Cell(f"{low:.3f}" if low == high else f"{low:.3f}–{high:.3f}", sort=low))
            table = ours.get(dataset)
            row.append(Cell(f"{table.score(system):.3f}", sort=round(table.score(system), 6))
                       if table and table.has(system) else Cell("—"))
        rows.append(row)
    models = sorted({
        f"`{r.retriever}`: {(r.meta.get('info') or {}).get('model')}"
        for t in board.tables for r in t.runs
        if r.retriever in QDRANT_SYSTEMS and (r.meta.get("info") or {}).get("model")
    })
    return Section(
        "Compared with Qdrant's published numbers", "qdrant",
        text=["nDCG@10 from Qdrant's article series on fine-tuning sparse embeddings for e-commerce "
              f"({', '.join(QDRANT_SOURCES)}); a range where Qdrant reports more than one figure. "
              "Ours: full-protocol runs only."],
        table=(header, rows),
        after=["Where our protocol differs, so compare the gaps between systems more than the absolute "
               "numbers:"],
        after_bullets=[
            "**Data slices**: Qdrant used 10k products and 2k test queries per dataset; ours are our own "
            "seeded test slices (the dataset notes above say how they are drawn and how grades map to "
            "gains), so the queries, the products and the distractors differ.",
            "**Models**: our off-the-shelf SPLADE is the small model we ship for offline runs, not the "
            "larger SPLADE Qdrant used; our fine-tuned SPLADE starts from it. "
            + (f"Models here: {'; '.join(models)}." if models else ""),
            "**Training data**: Qdrant's fine-tuned model was trained on ESCI only, so its WANDS and "
            "Home Depot figures are cross-domain; see the cross-domain section for what ours were "
            "trained on.",
            "**Relevance**: binary metrics use each dataset's relevant grade; nDCG uses our gain mapping.",
        ],
    )


# ------------------------------------------------------------------ latex


def latex(board: Leaderboard) -> str:
    """One booktabs table per results folder, full-protocol first, each followed by its all-pairs
    p-values (needs \\usepackage{booktabs})."""
    legend = ", ".join(f"{letter} = \\texttt{{{latex_escape(name)}}}"
                       for name, letter in board.letters.items())
    lines = [
        "% E-commerce retrieval leaderboard, written by `python -m bench leaderboard`.",
        "% Needs \\usepackage{booktabs}. Bold: best in its column. Superscripts: the retrievers (letters)",
        f"% a score beats, {TEST_NAME} against {BASELINE}, Holm-corrected over those tests, p < {ALPHA};",
        f"% * on p: significant vs {BASELINE}. The all-pairs tables: Holm over every pair of a table.",
        "",
    ]
    for table in [*board.tables, *board.variants]:
        lines += [latex_main(table, board, legend), ""]
        pairs = evidence.pairs_table([r.retriever for r in table.ranked()], board.letters, table.evidence)
        if pairs:
            caption = (f"{latex_escape(table.label)}, every pair: {TEST_NAME} p-values of nDCG@10, "
                       "Holm-corrected over all pairs; * = the row is significantly better than the column "
                       f"($p<{ALPHA}$).")
            body = [latex_table(*pairs, _align(pairs[0]))]
            lines += [latex_float(caption, f"tab:{table.anchor}-pairs", body), ""]
    return "\n".join(lines)


LATEX_SHORT = {"Recall@10": "R@10", "Recall@100": "R@100", POOL_LABELS[POOL[0]]: "J@10",
               POOL_LABELS[POOL[1]]: "cond.", evidence.DELTA: f"Δ {evidence.VERSUS} [95% CI]",
               evidence.P_VALUE: "p", evidence.WTL: "W/T/L"}
LATEX_COLUMNS = ["", "Retriever", *(LABELS[m] for m in METRICS), *(POOL_LABELS[key] for key in POOL),
                 evidence.DELTA, evidence.P_VALUE, evidence.WTL, "p50 ms"]


def latex_main(table: ResultTable, board: Leaderboard, legend: str) -> str:
    header, rows = leaderboard_rows(table, board)
    keep = [i for i, cell in enumerate(header) if cell.text in LATEX_COLUMNS]
    head = [Cell(LATEX_SHORT.get(header[i].text, header[i].text)) for i in keep]
    body = [[row[i] for i in keep] for row in rows]
    ks = ", ".join(str(k) for k in sorted({r.meta.get("k") for r in table.runs}, key=str))
    caption = (
        f"{latex_escape(table.label)}: {table.queries:,} test queries with a relevant product, "
        f"{_int(table.meta.get('documents'))} products, k = {latex_escape(ks)}"
        + (". Quick run, not the benchmark protocol" if table.variant else "")
        + f". Bold: best per column; superscripts: retrievers beaten ({TEST_NAME} against "
        f"{BASELINE}, Holm-corrected, $p<{ALPHA}$); J@10: judged share of the top 10; cond.: nDCG@10 on "
        f"condensed lists; systems: {legend}."
    )
    checks = [rf"\par\smallskip{{\footnotesize {latex_inline(line)}}}"
              for line in evidence.checks_line(table.evidence)]
    return latex_float(caption, f"tab:{table.anchor}", [latex_table(head, body, _align(head)), *checks])


def latex_float(caption: str, label: str, body: list[str]) -> str:
    return "\n".join([r"\begin{table}[t]", r"\centering", r"\small", rf"\caption{{{caption}}}",
                      rf"\label{{{label}}}", *body, r"\end{table}"])


def _align(header: list[Cell]) -> str:
    return "cl" + "r" * (len(header) - 2)


# ------------------------------------------------------------------ csv and json


def csv_rows(board: Leaderboard) -> list[dict[str, Any]]:
    rows = []
    for table in [*board.tables, *board.variants]:
        for stored in table.runs:
            info = stored.meta.get("info") or {}
            row: dict[str, Any] = {"dataset": table.name, "variant": table.variant,
                                   "retriever": stored.retriever}
            row.update({m: round6(table.score(stored.retriever, m)) for m in METRICS})
            extra = evidence.rounded(table.evidence, stored.retriever)
            versus = extra["vs_baseline"] or {}
            row.update(extra["pool"])
            row.update({column: versus.get(key) for column, key in VERSUS_COLUMNS.items()})
            row.update(check_of=extra["check_of"], queries_evaluated=table.queries, k=stored.meta.get("k"),
                       engine=stored.meta.get("engine"))
            row.update({key: stored.meta.get(key) for key in TIMING_COLUMNS})
            row.update({key: info.get(key) for key in INFO_COLUMNS})
            if isinstance(row["trained_on"], list):
                row["trained_on"] = "+".join(row["trained_on"])
            row.update(machine=stored.machine, source=str(stored.source), run_sha256=stored.sha256)
            rows.append(row)
    return rows


def csv_text(board: Leaderboard) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in csv_rows(board):
        writer.writerow({key: "" if value is None else value for key, value in row.items()})
    return buffer.getvalue()


def json_data(board: Leaderboard) -> dict[str, Any]:
    def entry(table: ResultTable) -> dict[str, Any]:
        return {
            "dataset": table.meta,
            "variant": table.variant,
            "queries_evaluated": table.queries,
            "retrievers": {r.retriever: {
                "metrics": {m: round6(table.score(r.retriever, m)) for m in METRICS},
                **evidence.rounded(table.evidence, r.retriever),
                "machine": r.machine, "source": str(r.source), "run": r.meta,
            } for r in table.runs},
            **evidence.rounded_table(table.evidence),
        }

    return {
        "protocol": {
            "metrics": METRICS, "primary": PRIMARY, "test": TEST_NAME, "alpha": ALPHA,
            "correction": "holm", "baseline": BASELINE,
            **evidence.PROTOCOL,
            "queries": "qrels queries with at least one product graded >= relevant_grade; "
                       "a query without results scores 0",
            "ties": "trec_eval: score (6 decimals) descending, then doc id descending",
            "compared": "only runs of the same table (results folder, so the same queries)",
        },
        "environment": next(iter(board.machines.values())) if len(board.machines) == 1 else None,
        "machines": board.machines,
        "sources": [str(s) for s in board.sources],
        "systems": board.letters,
        "datasets": {t.name: entry(t) for t in board.tables},
        "variants": {t.key: entry(t) for t in board.variants},
        "cross_domain": cross_domain(board.main),
        "qdrant_reference": {"sources": QDRANT_SOURCES, "ndcg@10": {
            dataset: {system: list(bounds) for system, bounds in systems.items()}
            for dataset, systems in QDRANT_REFERENCE.items()
        }},
    }


# ------------------------------------------------------------------ plots


def plot_ndcg(board: Leaderboard) -> bytes:
    """Grouped bars: one group per table, one bar per retriever (checks left out)."""
    tables = board.main
    figure, axes = _figure(max(7.0, 1.2 + 0.45 * sum(len(t.systems()) for t in tables)))
    names = sorted({r.retriever for t in tables for r in t.systems()})
    width = 0.8 / len(names)
    colours = _colours(len(names))
    for i, name in enumerate(names):
        xs, ys = [], []
        for x, table in enumerate(tables):
            if name in table.evidence["systems"]:
                xs.append(x - 0.4 + width * (i + 0.5))
                ys.append(table.score(name))
        bars = axes.bar(xs, ys, width * 0.92, label=name, color=colours[i])
        axes.bar_label(bars, fmt="%.3f", fontsize=7, rotation=90, padding=2)
    axes.set_xticks(range(len(tables)), [f"{t.label}\n({t.queries:,} queries)" for t in tables])
    top = max(t.score(r.retriever) for t in tables for r in t.systems())
    axes.set_ylim(0, top * 1.2 + 0.02)  # room for the value labels above the bars
    axes.set_yticks([tick for tick in axes.get_yticks() if 0 <= tick <= 1.0])
    axes.set_ylabel("nDCG@10 (higher is better)")
    axes.set_title("nDCG@10 per dataset and retriever"
                   + (" (quick runs, not the protocol)" if board.quick_only else " (test queries)"))
    axes.legend(title="retriever", fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    axes.grid(axis="y", alpha=0.3)
    return _png(figure)


def plot_quality_vs_latency(board: Leaderboard) -> bytes:
    """nDCG@10 against p50 query latency (log x): colour = dataset, marker = retriever."""
    from matplotlib.lines import Line2D
    from matplotlib.ticker import FuncFormatter

    tables = board.main
    figure, axes = _figure(8.0)
    names = sorted({r.retriever for t in tables for r in t.systems()})
    markers = {name: "osD^vP*Xh<>p"[i % 12] for i, name in enumerate(names)}
    colours = dict(zip((t.label for t in tables), _colours(len(tables)), strict=True))
    for table in tables:
        for stored in table.systems():
            latency = stored.meta.get("latency_ms_p50")
            if latency:
                axes.scatter(latency, table.score(stored.retriever), s=60, color=colours[table.label],
                             marker=markers[stored.retriever], edgecolors="black", linewidths=0.5)
    axes.set_xscale("log")
    axes.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    axes.set_xlabel("p50 query latency, ms (log scale; lower is better)")
    axes.set_ylabel("nDCG@10 (higher is better)")
    axes.set_title("Quality vs. query latency" + (" (quick runs)" if board.quick_only else ""))
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


def print_summary(board: Leaderboard, paths: list[Path]) -> None:
    for table in [*board.tables, *board.variants]:
        best = table.ranked()[0].retriever
        systems, checks = len(table.systems()), len(table.evidence["checks"])
        print(f"{table.label}: best nDCG@10 {table.score(best):.3f} by {best} ({systems} retrievers, "
              + (f"{checks} check{'s' * (checks > 1)}, " if checks else "") + f"{table.queries} queries)")
    print("wrote " + ", ".join(str(p) for p in paths))


def _package(environment: dict[str, Any] | None, name: str) -> str:
    """A package's version as recorded with the runs, else as installed now."""
    recorded = ((environment or {}).get("packages") or {}).get(name)
    if recorded:
        return recorded
    from importlib.metadata import version

    return version(name)


def _int(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) else "?"
