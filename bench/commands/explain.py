"""`python -m bench explain`: a query's expansions and top products side by side, or where two runs differ.

>>> python -m bench explain -d homedepot --query "cordless drill" -r splade -r bm25
>>> python -m bench explain -d homedepot --query-id 1234 -r splade-finetuned -r splade
>>> python -m bench explain -d homedepot --runs bm25 splade        # stored runs, per-query nDCG@10

The reports are built by bench/explain.py; this module reads the options, opens the engine and
the retrievers, and saves the report under results/<dataset>/explain/.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from bench.commands.checks import at_least, non_empty_text
from bench.commands.options import add_common_options, parse_models
from bench.errors import BenchError
from bench.io import write_text
from bench.results import run_stem, table_dir
from bench.retriever import Settings, default_cache_dir


def add_command(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "explain", help="a query's expansions and top products side by side, or per-query wins of two runs"
    )
    parser.add_argument("-d", "--dataset", required=True, metavar="NAME")
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--query", type=non_empty_text, metavar="TEXT", help="any query text")
    what.add_argument("--query-id", metavar="ID", help="a test query of the dataset (grades shown)")
    what.add_argument("--runs", nargs=2, metavar=("A", "B"), help="compare two stored runs per query")
    parser.add_argument(
        "-r",
        "--retriever",
        action="append",
        default=[],
        metavar="NAME",
        help="one or two retrievers (query mode)",
    )
    parser.add_argument("--k", type=at_least(1), default=10, help="products per retriever (default 10)")
    parser.add_argument("--top", type=at_least(1), default=15,
                        help="queries listed each way (runs mode, default 15)")
    parser.add_argument("--terms", type=at_least(1), default=20, help="expansion terms shown (default 20)")
    parser.add_argument(
        "--limit-queries",
        type=at_least(1),
        metavar="N",
        help="the same query sample as `run --limit-queries N` (query mode)",
    )
    parser.add_argument("--model", action="append", default=[], metavar="[RETRIEVER=]MODEL")
    parser.add_argument("--device", default="cpu", help="cpu or cuda (encoders)")
    add_common_options(parser)
    parser.set_defaults(func=cmd_explain)


def cmd_explain(args: argparse.Namespace) -> int:
    from bench.explain import compare_runs, stored_name

    if args.runs:
        a, b = args.runs
        report = compare_runs(args.out, args.dataset, a, b, top=args.top, data_dir=args.data_dir)
        path = (table_dir(args.out, stored_name(args.dataset, args.data_dir))
                / "explain" / f"{run_stem(a)}_vs_{run_stem(b)}.md")
    else:
        report, path = cmd_query(args)
    print(report)
    write_text(path, report)
    print(f"saved {path}")
    return 0


def cmd_query(args: argparse.Namespace) -> tuple[str, Path]:
    from bench import registry
    from bench.datasets import load
    from bench.engine import open_engine
    from bench.explain import explain_query, pick_query

    if not 1 <= len(args.retriever) <= 2:
        raise BenchError("explain: pass one or two retrievers, e.g. -r splade -r bm25")
    dataset = load(args.dataset, split="test", data_dir=args.data_dir, limit_queries=args.limit_queries)
    query_id, text = pick_query(dataset, args.query, args.query_id)
    models = parse_models(args.model, args.retriever)
    engine = open_engine(args.qdrant_url, args.cache_dir or default_cache_dir())
    try:
        retrievers = []
        for name in args.retriever:
            settings = Settings(
                cache_dir=args.cache_dir or default_cache_dir(),
                engine=engine,
                model=models.get(name),
                device=args.device,
            )
            retriever = registry.create(name, settings)
            retriever.index(dataset.corpus)
            retrievers.append(retriever)
        report = explain_query(dataset, text, query_id, retrievers, k=args.k, terms=args.terms)
    finally:
        engine.close()
    slug = query_id or re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40]
    stem = "_vs_".join(run_stem(name) for name in args.retriever)
    return report, table_dir(args.out, dataset.name) / "explain" / f"query-{slug}_{stem}.md"
