"""`python -m bench perf`: speed and cost of every retriever path beside what a user would pick instead.

    python -m bench perf            # 1k, 10k and all Home Depot products -> results/perf.{md,json}
    python -m bench perf --quick    # 1k and 10k, 200 queries -> results/perf-quick.{md,json}

>>> run_perf(PerfOptions.quick_run(out=Path("results")))   # -> the files written

One process, one machine, one dataset: BM25 (Qdrant Edge vs rank-bm25 vs bm25s), sparse
search (our adapter vs raw Qdrant Edge vs qdrant-client local mode vs scipy), encoding
(adapter vs raw sentence-transformers; a `--vocabulary data` model's live-row head vs its full
head), the trainer's step (`--vocabulary data` vs `full` vs stock sentence-transformers), dense
search (Edge exact / default index vs numpy) and hybrid (the adapter's RRF in Python vs two queries + ranx),
each with time, throughput and peak RSS per corpus size, the ratios against ours, the product
targets and the growth slopes.
Absolute times on a shared machine are noisy: read the ratios.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from bench.perf.measure import Measurement, Recorder
from bench.perf.workload import PerfOptions, Workload

__all__ = ["PerfOptions", "run_perf"]


def run_perf(options: PerfOptions) -> list[Path]:
    """Measure every step at every size; write the report files and return their paths."""
    from bench.environment import environment
    from bench.perf.context import Session, SizeContext
    from bench.perf.lexical import bm25
    from bench.perf.report import write_report
    from bench.perf.steps import STEPS
    from bench.retriever import default_cache_dir

    started = time.perf_counter()
    cache_dir = Path(options.cache_dir or default_cache_dir())
    cache_dir.mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="perf-tmp-", dir=cache_dir))
    recorder = Recorder()
    try:
        workload = Workload.load(options, root)
        session = Session(workload, recorder, options, cache_dir)
        sizes = workload.sizes(options.sizes)
        print(f"perf on {workload.name}: {len(workload.products):,} products, sizes {sizes}, "
              f"{len(workload.queries):,} queries, temporary cache {root}")
        plan = [(size, [s for s in STEPS if s is bm25 or size <= (options.model_max or size)])
                for size in sizes]
        with tqdm(total=sum(len(steps) for _, steps in plan), desc="perf", unit="step") as bar:
            for size, steps in plan:
                context = SizeContext(session, size)
                for step in steps:
                    bar.set_postfix_str(f"{step.__name__} @ {size:,} docs")
                    step(context)
                    bar.update()
                del context
        if options.load_products:
            from bench.perf.loading import dataset_load

            print(f"perf: loading a generated {options.load_products:,}-product BEIR folder")
            dataset_load(recorder, workload, options.load_products, root)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    seconds = time.perf_counter() - started
    meta = describe(options, workload, sizes, seconds, environment())
    paths = write_report(recorder.measurements, meta, options)
    print(summary_lines(recorder.measurements))
    print(f"perf: {len(recorder.measurements)} measurements in {seconds:.0f} s -> "
          + ", ".join(str(p) for p in paths))
    return paths


def describe(options: PerfOptions, workload: Workload, sizes: list[int], seconds: float,
             env: dict[str, Any]) -> dict[str, Any]:
    """The run's configuration and method notes, stored in perf.json and printed in perf.md."""
    label = options.label
    cpu = env["cpu"]
    summary = (
        f"{label.capitalize()} run, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {seconds:.0f} s in all, on "
        f"{cpu['cores']} cores ({cpu['model']}), {env.get('memory_gib')} GiB RAM, no GPU used. "
        f"Dataset {workload.name}: {len(workload.products):,} products in all, corpus sizes "
        f"{', '.join(f'{s:,}' for s in sizes)}; {len(workload.queries):,} test queries, k = {options.k}. "
        "Absolute times on a shared machine are noisy; the ratios (same run, same data) are what to read."
    )
    method = [*([
        f"Model steps (encoding, sparse, dense, hybrid) ran on corpora up to {options.model_max:,} "
        "documents (`--model-max`); BM25 on every size. Encoding every product once with the two "
        "models takes longer than this run could wait on this machine; the search steps need "
        "every product's vectors."] if options.model_max else []),
        "Products: every product of the dataset as its loader reads it "
        f"(`bench.datasets.loader('{workload.name}').read(...)`, the source that `load()` splits; for "
        "Home Depot all products of train.csv, each judged for some query); smaller sizes are prefixes "
        f"of one seeded shuffle (seed {options.seed}), so each contains the smaller ones.",
        "Queries: the dataset's seeded test-query sample (`load(split='test', limit_queries=...)`). "
        f"rank-bm25 is timed on the first {options.slow_queries} of them and qdrant-client local mode on "
        f"the first {options.client_queries} (both are slow per query); ratios are per query.",
        "Caches: every cold measurement (empty encoding cache, every index build) uses a new directory "
        "in a temporary folder inside the cache dir, deleted at the end, so nothing is reused by "
        "accident. The document vectors of the search steps are prepared, untimed, through our "
        "adapters and the persistent encoding cache of the cache dir (`--cache-dir`, default "
        "`.cache/bench`): the first run on a machine encodes every product once, later runs reuse them. "
        "`adapter, cached` rows time `encode_documents` once those encodings are cached. The search "
        "steps index from that cache into a new Qdrant Edge directory (index time = cache read + "
        "upsert + optimize, models loaded beforehand) and search with pre-encoded query vectors "
        "(search alone is timed).",
        "Raw baselines get the same vectors as our adapters: `raw Qdrant Edge` builds one QueryRequest per "
        "query (request building included) and calls `query_batch` on the adapter's own shard; "
        "qdrant-client runs `QdrantClient(':memory:')` with `query_points`; scipy multiplies CSR "
        "matrices (exact); numpy multiplies the normalised dense matrix (exact).",
        "Encoding: our adapter's `encode_documents` (sorts longest first, writes cache shards, converts "
        "to vectors) and `encode_queries` against the same loaded model's `encode_document` / "
        f"`encode_query` at batch size {options.batch_size}, after a warm-up call. The empty-cache and raw "
        f"rows are timed at the first size only, on its first {options.encode_max:,} documents and "
        "on every timed query (encoding speed does not depend on the corpus, and every 1,000 documents take "
        "seconds to minutes per model on 2 CPU cores); the cached row is timed at every size.",
        "Training step (bench/perf/training.py), timed once: one batch of the train split as `run --all` "
        "trains (64 queries + the best graded product of each, 32 tokens, frozen vocabulary, the trainer's "
        "SpladeLoss and an AdamW step, tokenisation outside the timing) through `bench train "
        "--vocabulary data` (the MLM head over the train split's wordpieces only), `--vocabulary full` "
        "(max-first pooling, full head) and stock sentence-transformers (SpladePooling, full head); one "
        f"warm-up step each, then {options.train_repeats} steps per path in turn (A, B, C, A, ...), the "
        "fastest kept. The `--vocabulary data model` encoding rows use SPLADE-tiny with every row outside "
        "that vocabulary silenced (the head `--vocabulary data` saves): the adapter's live-row head vs "
        "the full head vs raw sentence-transformers, on the empty-cache sample, same vectors.",
        "bm25s: `bm25s.BM25(k1, b, method='lucene')` (Lucene IDF, as Qdrant's IDF modifier) on "
        "`bench.text.tokenize` tokens; tokenisation is inside the timed index and search blocks for all "
        "three BM25 paths. bm25s is timed with its default single thread and with n_threads=-1.",
        "Hybrid: the hybrid adapter (each component's own search, RRF in Python) against two "
        "`collection.search` calls of `prefetch_limit` results and `ranx.fuse(method='rrf')` with the "
        "same RRF constant, cut to k; ranx's numba compilation is done before timing. `top10 overlap` "
        "notes compare result sets.",
        "Memory: RSS of this process sampled every 5 ms in a thread. `peak RSS` is everything the "
        "process holds at the step's peak (Python, torch, models, earlier steps' leftovers); `RSS "
        "growth` is that peak minus the RSS when the step started: what the step added. Memory freed "
        "by an earlier step may still be held by the allocator, so growth is a lower bound.",
        f"Repeats: every search is timed {options.search_repeats} times and the fastest kept (the run "
        "least disturbed by other processes); rank-bm25 and qdrant-client once (slow). Document "
        f"and query encoding: adapter and raw timed in turn (A, B, A, B), best of "
        f"{options.encode_repeats} each. "
        "Index builds: once, each in a new directory. Alternatives are timed up to their natural "
        "output (numpy arrays, ScoredPoints); our adapters up to the Run dict ({query: {doc: score}}) "
        "they hand the benchmark.",
        f"Dataset load: a generated {options.load_products:,}-product BEIR folder (the workload's real "
        "titles repeated under new ids, for timing only, never scored) loaded with `bench.datasets.load` "
        "against `pandas.read_json(lines=True)` on its corpus.jsonl (bench/perf/loading.py).",
        "Growth: least-squares slope of log(time) on log(corpus size) per path; fixed costs make "
        "small sizes look flatter than the asymptote.",
        f"Files: a full run writes `{options.out}/perf.md`, `perf.json` and `plots/perf_scaling.png`; "
        "`--quick` writes `perf-quick.*` and `plots/perf-quick_scaling.png`, so it never overwrites "
        "the full run.",
    ]
    return {
        "label": label,
        "quick": options.quick,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "seconds": round(seconds, 1),
        "dataset": workload.name,
        "products": len(workload.products),
        "sizes": sizes,
        "queries": len(workload.queries),
        "slow_queries": options.slow_queries,
        "client_queries": options.client_queries,
        "encode_max": options.encode_max,
        "model_max": options.model_max,
        "k": options.k,
        "batch_size": options.batch_size,
        "environment": env,
        "summary": summary,
        "method": method,
    }


def summary_lines(records: list[Measurement]) -> str:
    return "\n".join(
        f"  {r.step:<18} {r.phase:<16} {r.size:>7,} docs  {r.path:<44} {r.seconds:9.3f} s "
        f"{r.per_second:12,.1f}/s  peak {r.rss_peak_mib:6.0f} MiB"
        for r in records
    )
