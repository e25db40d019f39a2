"""`python -m bench perf`: speed and cost of every retriever path beside what a user would pick instead.

>>> python -m bench perf            # 1k, 10k and all Home Depot products -> results/perf.{md,json}
>>> python -m bench perf --quick    # 1k and 10k, 200 queries -> results/perf-quick.{md,json}

What is measured and how: bench/perf/ (its package docstring).
"""

from __future__ import annotations

import argparse

from bench.commands.checks import at_least, writable_dir
from bench.commands.options import add_data_dir
from bench.errors import BenchError


def parse_sizes(text: str) -> list[int | None]:
    """`1000,10000,all` -> [1000, 10000, None]."""
    sizes: list[int | None] = []
    for part in text.split(","):
        part = part.strip().lower().replace("_", "")
        if part == "all":
            sizes.append(None)
        elif part.isdigit() and int(part) > 0:
            sizes.append(int(part))
        else:
            raise BenchError(f"--sizes {text!r}: give positive corpus sizes or 'all', e.g. 1000,10000,all")
    return sizes


def add_command(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "perf", help="measure speed and memory of every retriever path against the alternatives",
        description=__doc__.splitlines()[0],  # the same line as bench/perf/__init__.py's
    )
    parser.add_argument("--quick", action="store_true",
                        help="1k and 10k documents, fewer queries (about two minutes); writes perf-quick.*")
    parser.add_argument("--out", type=writable_dir, default="results",
                        help="results folder (default results/)")
    parser.add_argument("--cache-dir", type=writable_dir, default=None,
                        help="project cache (default .cache/bench or $BENCH_CACHE_DIR): document "
                        "encodings are reused from it; cold measurements use a new temporary folder "
                        "inside it, deleted at the end")
    add_data_dir(parser)
    parser.add_argument("--dataset", default="homedepot",
                        help="dataset whose products are used (default homedepot)")
    parser.add_argument("--sizes", default=None, metavar="N,N,all",
                        help="corpus sizes (default 1000,10000,all; --quick 1000,10000)")
    parser.add_argument("--queries", type=at_least(1), default=None, metavar="N",
                        help="test queries timed (default 1000; --quick 200)")
    parser.add_argument("--model-max", type=at_least(1), default=None, metavar="N",
                        help="run the model steps (encoding, sparse, dense, hybrid) only up to N "
                        "documents; BM25 runs on every size (default: every size)")
    parser.add_argument("--load-products", type=at_least(1), default=None, metavar="N",
                        help="products of the generated BEIR folder whose loading is timed "
                        "(default 1,000,000; --quick 100,000; 0 skips)")
    parser.set_defaults(func=cmd_perf)


def cmd_perf(args: argparse.Namespace) -> int:
    from bench.datasets import NAMES
    from bench.perf import PerfOptions, run_perf  # looked up now: tests replace run_perf

    if args.dataset not in NAMES:
        raise BenchError(f"unknown dataset {args.dataset!r}; choose one of: {', '.join(NAMES)}")
    options = PerfOptions.quick_run() if args.quick else PerfOptions()
    options.out, options.cache_dir, options.data_dir, options.dataset = (
        args.out, args.cache_dir, args.data_dir, args.dataset)
    if args.sizes:
        options.sizes = parse_sizes(args.sizes)
    if args.queries is not None:
        if args.queries < 1:
            raise BenchError(f"--queries {args.queries}: give at least 1")
        options.queries = args.queries
        options.slow_queries = min(options.slow_queries, args.queries)
    if args.model_max is not None:
        if args.model_max < 1:
            raise BenchError(f"--model-max {args.model_max}: give at least 1")
        options.model_max = args.model_max
    if args.load_products is not None:
        if args.load_products < 0:
            raise BenchError(f"--load-products {args.load_products}: give 0 (skip) or more")
        options.load_products = args.load_products
    run_perf(options)
    return 0
