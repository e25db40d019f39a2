"""The stored runs behind a leaderboard: results folders read, verified and merged into tables.

>>> board = read_leaderboard([Path("results")])                     # also several folders, --prefer
>>> [table.label for table in board.tables], board.letters
(['crowdflower', 'esci', 'homedepot'], {'bm25': 'a', 'dense': 'b', ...})
>>> board.tables[0].score("bm25"), board.tables[0].queries       # mean nDCG@10, queries scored
(0.8023..., 47)

Every folder holding a dataset.json (`results/<dataset>/`, and `results/<dataset>/variants/<v>/`
for quick runs) is one `ResultTable`; a run is read only if its file matches the sha256 in its
sidecar (else it is skipped with one line). Each table's evidence (bench.leaderboard.evidence)
is computed here, once, for every format to show.
"""

from __future__ import annotations

import json
import string
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.data import Qrels, Run
from bench.errors import BenchError
from bench.io import read_json
from bench.leaderboard import evidence
from bench.metrics import PRIMARY
from bench.results import UnverifiedRun, load_verified_run, read_trec_qrels, table_dirs


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
    evidence: dict[str, Any] = field(default_factory=dict)  # evidence.analyse of its runs

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


def read_leaderboard(sources: list[Path], prefer: Path | None = None) -> Leaderboard:
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
        for table in read_folder(source):
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


def read_folder(source: Path) -> list[ResultTable]:
    """The tables of one results folder; runs that cannot be verified are skipped with one line."""
    if not source.is_dir():
        raise BenchError(f"{source} not found; run `python -m bench run --out {source}` first")
    env_path = source / "environment.json"
    environment = _read_json(env_path) if env_path.is_file() else None
    tables = []
    for folder in table_dirs(source):
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
