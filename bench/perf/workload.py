"""What every perf step runs on: one dataset's products, nested corpus sizes, test queries, temp dirs.

>>> workload = Workload.load(PerfOptions(sizes=[1000, None]), root=Path("/tmp/perf"))
>>> corpus = workload.corpus(1000)        # the first 1000 products of one seeded shuffle
>>> workload.queries                      # {query_id: text}, the dataset's seeded test sample

The products are every product of the dataset: the loader's `Source` (what
`bench.datasets.load` splits), `loader(name).read(files_dir(name)).documents(product_ids)`.
For Home Depot that is all 54,667 products of train.csv, each judged for some query.
Smaller sizes are prefixes of one seeded shuffle, so each size contains the smaller ones.
"""

from __future__ import annotations

import random
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from bench.data import Corpus
from bench.errors import BenchError

DEFAULT_SIZES: list[int | None] = [1_000, 10_000, None]
"""Corpus sizes of a full run; None = every product of the dataset."""
QUICK_SIZES: list[int | None] = [1_000, 10_000]


@dataclass
class PerfOptions:
    """One perf run. The defaults are the full run; `quick()` the one-minute version."""

    sizes: list[int | None] = field(default_factory=lambda: list(DEFAULT_SIZES))
    queries: int = 1_000
    slow_queries: int = 200
    """Queries timed on rank-bm25 (a Python loop over every document per query)."""
    client_queries: int = 5
    """Queries timed on qdrant-client local mode (seconds per query on a large corpus)."""
    model_max: int | None = None
    """Largest corpus the model steps (encoding, sparse, dense, hybrid) run on; None = every size.
    BM25 runs on every size. For a machine where encoding every product once takes too long."""
    encode_max: int = 500
    """Documents encoded with an empty cache and raw sentence-transformers (once, at the first size)."""
    encode_repeats: int = 2
    """Each encoding comparison (adapter, raw in turn) is timed this often and the fastest kept."""
    train_repeats: int = 5
    """Training steps timed per trainer path (in turn, after a warm-up step); the fastest is kept."""
    search_repeats: int = 3
    """Each search is timed this often and the fastest kept (rank-bm25 and qdrant-client: once)."""
    k: int = 100
    batch_size: int = 32
    seed: int = 42
    dataset: str = "homedepot"
    data_dir: Path | None = None
    cache_dir: Path | None = None
    """The project cache (default .cache/bench or $BENCH_CACHE_DIR): document encodings of the
    search steps are reused from it; cold measurements use a temporary folder inside it."""
    out: Path = Path("results")
    quick: bool = False
    load_products: int = 1_000_000
    """Products of the generated BEIR folder whose loading is timed (0: skip; bench/perf/loading.py)."""

    @classmethod
    def quick_run(cls, **overrides: object) -> PerfOptions:
        options = cls(sizes=list(QUICK_SIZES), queries=200, slow_queries=50, client_queries=3,
                      encode_max=200, encode_repeats=1, train_repeats=2, quick=True, load_products=100_000)
        for name, value in overrides.items():
            setattr(options, name, value)
        return options

    @property
    def label(self) -> str:
        """"full", "quick", or "custom" when --sizes / --queries changed either."""
        default = PerfOptions.quick_run() if self.quick else PerfOptions()
        if (self.sizes, self.queries, self.model_max) != (default.sizes, default.queries, default.model_max):
            return "custom"
        return "quick" if self.quick else "full"

    @property
    def stem(self) -> str:
        """Output file stem: a quick run never overwrites the full run's files."""
        return "perf-quick" if self.quick else "perf"


class Workload:
    """The products (in one seeded order), the timed queries, and fresh directories under `root`."""

    def __init__(self, name: str, products: Corpus, queries: dict[str, str], root: Path, seed: int) -> None:
        self.name = name
        self.products = products
        self.queries = queries
        self.root = Path(root)
        self.order = sorted(products)
        random.Random(seed).shuffle(self.order)

    @classmethod
    def load(cls, options: PerfOptions, root: Path) -> Workload:
        from bench.datasets import files_dir, load, loader, missing

        reason = missing(options.dataset, options.data_dir)
        if reason:
            raise BenchError(f"perf needs the {options.dataset} dataset: {reason}")
        test = load(options.dataset, split="test", data_dir=options.data_dir,
                    limit_queries=options.queries, seed=options.seed)
        source = loader(options.dataset).read(files_dir(options.dataset, options.data_dir))
        products = source.documents(source.product_ids)
        return cls(options.dataset, products, test.queries, root, options.seed)

    def sizes(self, requested: list[int | None]) -> list[int]:
        """Requested sizes capped at the number of products, ascending, without repeats."""
        return sorted({min(size or len(self.order), len(self.order)) for size in requested})

    def corpus(self, size: int) -> Corpus:
        return {doc_id: self.products[doc_id] for doc_id in self.order[:size]}

    def query_sample(self, count: int) -> dict[str, str]:
        """The first `count` timed queries (for the slow paths)."""
        return dict(list(self.queries.items())[:count])

    def fresh_dir(self, label: str) -> Path:
        """A new empty directory: cold measurements never find an earlier step's files."""
        self.root.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=f"{label}-", dir=self.root))
