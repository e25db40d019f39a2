"""The benchmark loop: dataset -> adapter -> run -> stored run + timings.

>>> run_benchmark(["homedepot"], ["bm25", "dense"], RunOptions(limit_queries=200))
>>> run_benchmark(["homedepot"], ["bm25-tuned"], RunOptions(split="dev"))   # experiments: dev

For each (dataset, retriever), timed apart and in this order:
- model load: `retriever.load()`, the model weights (None for a retriever without a model);
- tuning, for an adapter that `tunes_on_dev`: its settings chosen on the dataset's dev split (or,
  when it has none, the other datasets' dev splits), never on the split being scored;
- index: build the index of the split's corpus (encoding + upserts), or open the cached one;
- batch search: one untimed warm-up batch of all queries, then the same batch timed (QPS, warm);
- latency: `latency_queries` single-query calls after one warm-up call (p50/p95, query
  encoding included).
It writes `results/<dataset>/runs/<retriever>.trec` + `.json` (a quick run with
--limit-queries, another k, seed or split goes to `results/<dataset>/variants/<variant>/`, see
bench/results.py). The run is put in canonical form (bench.results.canonical_run) before it is
written; the JSON sidecar is written last and records the run file's sha256 and the run's key.
A rerun reuses a stored run only when both still match (`bench.results.verify_run`), else
recomputes it and says why.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from bench import registry
from bench.data import Dataset
from bench.engine import Engine, open_engine
from bench.environment import environment
from bench.errors import BenchError
from bench.io import read_json, write_json
from bench.results import (
    PROTOCOL_K,
    PROTOCOL_SEED,
    UnverifiedRun,
    canonical_run,
    run_path,
    table_dir,
    variant_name,
    verify_run,
    write_trec_qrels,
    write_trec_run,
)
from bench.retriever import Retriever, Settings, default_cache_dir


@dataclass
class RunOptions:
    k: int = PROTOCOL_K
    limit_queries: int | None = None
    max_docs: int | None = None  # sample the test corpus (judged products + a seeded fill)
    seed: int = PROTOCOL_SEED
    out: Path = Path("results")
    cache_dir: Path = field(default_factory=default_cache_dir)
    data_dir: Path | None = None
    qdrant_url: str | None = None
    models: dict[str, str] = field(default_factory=dict)
    latency_queries: int = 100
    force: bool = False
    device: str = "cpu"
    batch_size: int = 32
    max_seq_length: int = 256
    trust_remote_code: bool = False
    split: str = "test"  # dev: experiments and choices of settings; test: the published protocol

    @property
    def variant(self) -> str | None:
        """None for the full protocol, else the variant folder these runs go to (never mixed)."""
        return variant_name(self.limit_queries, self.k, self.seed, self.max_docs, self.split)


@dataclass
class Outcome:
    """One (dataset, retriever) pair of a benchmark run."""

    path: Path  # the run's JSON
    reused: bool  # a stored run with the same key was kept
    index_cached: bool = False  # the index (and so the encodings) came from the cache


def run_benchmark(dataset_names: list[str], retriever_names: list[str], options: RunOptions) -> list[Outcome]:
    """Run every retriever on every present dataset; say for each pair what was computed."""
    from bench.datasets import load, missing

    for name in retriever_names:
        registry.load_class(name)  # fail fast on an unknown name, before any work
    write_json(Path(options.out) / "environment.json", environment())
    engine = open_engine(options.qdrant_url, options.cache_dir)
    written: list[Outcome] = []
    try:
        for dataset_name in dataset_names:
            reason = missing(dataset_name, options.data_dir)
            if reason:
                print(f"skip {dataset_name}: {reason}")
                continue
            dataset = load(dataset_name, split=options.split, data_dir=options.data_dir,
                           limit_queries=options.limit_queries, seed=options.seed, max_docs=options.max_docs)
            print(f"\n{dataset}")
            if not dataset.queries:
                print(f"skip {dataset_name}: no {options.split} queries in these files")
                continue
            _write_dataset(dataset, options.out, options.variant)
            dev = DevSets(dataset_name, options)
            for retriever_name in retriever_names:
                written.append(_run_one(dataset, retriever_name, engine, options, dev))
    finally:
        engine.close()
    return written


class DevSets:
    """The dev splits an adapter that `tunes_on_dev` chooses its settings on, loaded once, on demand:
    the dataset's own dev split, else (e.g. the shipped ESCI slice, test queries only) the dev
    splits of the other built-in datasets present, so no setting is ever chosen on a test split."""

    def __init__(self, dataset: str, options: RunOptions) -> None:
        self.dataset, self.options = dataset, options
        self._sets: list[Dataset] | None = None

    def get(self) -> list[Dataset]:
        if self._sets is None:
            from bench.datasets import NAMES, missing

            own = self._load(self.dataset)
            others = [n for n in NAMES if n != self.dataset and missing(n, self.options.data_dir) is None]
            self._sets = [own] if own.queries else [d for d in map(self._load, others) if d.queries]
        return self._sets

    def _load(self, name: str) -> Dataset:
        from bench.datasets import load

        return load(name, split="dev", data_dir=self.options.data_dir, seed=self.options.seed)

    def fingerprint(self) -> str:
        parts = [f"{d.name}:{d.fingerprint}:{json.dumps(d.qrels, sort_keys=True)}" for d in self.get()]
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def _run_one(dataset: Dataset, retriever_name: str, engine: Engine, options: RunOptions,
             dev: DevSets) -> Outcome:
    meta_path = run_path(options.out, dataset.name, retriever_name, ".json", options.variant)
    retriever = registry.create(retriever_name, _settings(retriever_name, options, engine))
    key = _run_key(dataset, retriever_name, options, dev if retriever.tunes_on_dev else None)
    if not options.force:
        try:
            verify_run(meta_path, key)
            print(f"  {retriever_name:<22} done before (same data, k and model; file verified): reused")
            return Outcome(meta_path, reused=True)
        except UnverifiedRun as why:
            if meta_path.exists():  # something was stored but cannot be trusted: say so
                print(f"  {retriever_name}: {why}: recomputing")

    started = time.perf_counter()
    retriever.load()
    has_model = type(retriever).load is not Retriever.load
    model_load_seconds = round(time.perf_counter() - started, 3) if has_model else None
    tune_seconds = None
    if retriever.tunes_on_dev:
        started = time.perf_counter()
        retriever.tune(dev.get())
        tune_seconds = round(time.perf_counter() - started, 3)
        print(f"  {retriever_name}: tuned in {tune_seconds:.1f} s on the dev split of "
              f"{', '.join(d.name for d in dev.get()) or 'no dataset'}: {retriever.info().get('model', '')}")

    started = time.perf_counter()
    retriever.index(dataset.corpus)
    index_seconds = time.perf_counter() - started

    retriever.search(dataset.queries, options.k)  # warm-up: the timed batch below is warm
    started = time.perf_counter()
    run = retriever.search(dataset.queries, options.k)
    search_seconds = time.perf_counter() - started
    run = canonical_run(run, options.k)  # what is written is what is scored, in trec_eval's order
    latencies = _latencies(retriever, dataset.queries, options)

    info = retriever.info()
    index_cached = bool(info.pop("index_cached", False))
    meta: dict[str, Any] = {
        "retriever": retriever_name,
        "dataset": dataset.name,
        "split": dataset.split,
        "variant": options.variant,
        "k": options.k,
        "limit_queries": options.limit_queries,
        "seed": options.seed,
        "queries": len(dataset.queries),
        "documents": len(dataset.corpus),
        "engine": getattr(engine, "kind", type(engine).__name__),
        "model_load_seconds": model_load_seconds,
        "tune_seconds": tune_seconds,
        "index_seconds": round(index_seconds, 3),
        "index_cached": index_cached,
        "docs_per_second": None if index_cached else round(len(dataset.corpus) / max(index_seconds, 1e-9), 1),
        "search_seconds": round(search_seconds, 3),
        "qps": round(len(dataset.queries) / max(search_seconds, 1e-9), 1),
        "warmup": True,  # QPS timed after one untimed batch, latency after one untimed call
        "load_average_1m": round(os.getloadavg()[0], 2),  # other work on the machine while timing
        "latency_ms_p50": round(float(np.percentile(latencies, 50)), 3),
        "latency_ms_p95": round(float(np.percentile(latencies, 95)), 3),
        "latency_ms_mean": round(float(np.mean(latencies)), 3),  # 1000 / mean = single-query throughput
        "latency_queries": len(latencies),
        "info": info,
        "key": key,
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    trec_path = run_path(options.out, dataset.name, retriever_name, ".trec", options.variant)
    meta["run_sha256"] = write_trec_run(trec_path, run, retriever_name)
    write_json(meta_path, meta)  # last: a sidecar matching the run file marks the pair complete
    print(
        f"  {retriever_name:<22} index {index_seconds:7.1f} s{' (cached)' if index_cached else ''}"
        f" · search {meta['qps']:8.1f} q/s · p50 {meta['latency_ms_p50']:.2f} ms"
        f" · p95 {meta['latency_ms_p95']:.2f} ms"
    )
    return Outcome(meta_path, reused=False, index_cached=index_cached)


def record_wall_time(out: Path, outcomes: list[Outcome], seconds: float, trained: list[str],
                     cache_was_empty: bool = False) -> str:
    """Keep the wall time of a whole `run --all` in `out/run_timings.json`, labelled by what it did.

    cold: nothing reused (no stored run, and no index from an earlier run's cache: a hybrid opens
    the indexes its two parts built moments before, which is still cold); warm: every run
    reused; else mixed. `python -m bench perf` reports the last cold and warm ones against the targets.
    """
    from_earlier_cache = not cache_was_empty and any(o.index_cached for o in outcomes)
    if all(o.reused for o in outcomes):
        label = "warm"
    elif not any(o.reused for o in outcomes) and not from_earlier_cache:
        label = "cold"
    else:
        label = "mixed"
    path = Path(out) / "run_timings.json"
    timings = read_json(path) if path.is_file() else {}
    timings[label] = {
        "seconds": round(seconds, 1),
        "runs": len(outcomes),
        "reused": sum(o.reused for o in outcomes),
        "models_trained": trained,
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        # as run_benchmark recorded it at the start of this run (no second git / GPU probe)
        "environment": {k: v for k, v in read_json(Path(out) / "environment.json").items()
                        if k in ("cpu", "gpu", "malloc_tuned")},
    }
    write_json(path, timings)
    return label


def _latencies(retriever: Retriever, queries: dict[str, str], options: RunOptions) -> list[float]:
    """Milliseconds per single-query `search` call on a seeded sample (after one warm-up call)."""
    query_ids = sorted(queries)
    sample = random.Random(options.seed).sample(query_ids, min(options.latency_queries, len(query_ids)))
    if not sample:
        raise BenchError("the dataset has no test queries; check the dataset files or --limit-queries")
    retriever.search({sample[0]: queries[sample[0]]}, options.k)
    timings = []
    for qid in sample:
        started = time.perf_counter()
        retriever.search({qid: queries[qid]}, options.k)
        timings.append((time.perf_counter() - started) * 1000)
    return timings


def _write_dataset(dataset: Dataset, out: Path, variant: str | None) -> None:
    """qrels.trec and dataset.json of the folder these runs go to (only its own queries)."""
    folder = table_dir(out, dataset.name, variant)
    write_trec_qrels(folder / "qrels.trec", dataset.qrels)
    write_json(folder / "dataset.json", {
        "name": dataset.name,
        "split": dataset.split,
        "variant": variant,
        "queries": len(dataset.queries),
        "documents": len(dataset.corpus),
        "judgments": sum(len(grades) for grades in dataset.qrels.values()),
        "relevant_grade": dataset.relevant_grade,
        "gains": dataset.gains,
        "corpus_fingerprint": dataset.fingerprint,
        "notes": dataset.notes,
    })


def _settings(retriever_name: str, options: RunOptions, engine: Engine | None) -> Settings:
    return Settings(
        cache_dir=options.cache_dir, engine=engine, model=options.models.get(retriever_name),
        batch_size=options.batch_size, max_seq_length=options.max_seq_length, device=options.device,
        trust_remote_code=options.trust_remote_code,
        options={"models": dict(options.models)},  # a hybrid's components take their --model too
    )


TIMING_PROTOCOL = "warm-2"
"""Part of every run key: runs timed under an older timing protocol (cold QPS) are recomputed."""


def _run_key(dataset: Dataset, retriever_name: str, options: RunOptions, dev: DevSets | None = None) -> str:
    """What a stored run depends on: corpus, queries (so limit_queries and seed), k, text length,
    the weights of its models, the dev splits it was tuned on and the timing protocol.

    Hashing the weights (not just the model's name) means a model retrained in place is
    benchmarked again instead of being reused.
    """
    weights = {}
    for name in retriever_name.removeprefix("hybrid:").split("+"):
        component = registry.create(name, _settings(name, options, None))  # lazy: loads no model
        identity = getattr(component, "identity", None)
        if isinstance(identity, dict):
            weights[name] = identity.get("model_sha256")
    parts = [dataset.fingerprint, json.dumps(dataset.queries, sort_keys=True), str(options.k),
             str(options.limit_queries), str(options.seed), str(options.max_seq_length), retriever_name,
             json.dumps(weights, sort_keys=True), options.qdrant_url or "edge", TIMING_PROTOCOL,
             dev.fingerprint() if dev is not None else ""]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]
