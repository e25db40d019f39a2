"""`python -m bench explain`: why does a retriever rank what it ranks, and where do two differ?

    python -m bench explain -d homedepot --query "cordless drill" -r splade -r bm25
    python -m bench explain -d homedepot --query-id 1234 -r splade-finetuned -r splade
    python -m bench explain -d homedepot --runs bm25 splade        # stored runs, per-query nDCG@10

Query mode shows the query's expansion terms (SPLADE: the top-weighted vocabulary terms of
its sparse vector) and each retriever's top-k products side by side, with grades when the
query is judged. Runs mode reads results/<dataset>/runs/ and lists the queries where the two
retrievers differ most on nDCG@10. Both print a report and save it as Markdown under
results/<dataset>/explain/.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Sequence
from pathlib import Path

from bench.checks import at_least, non_empty_text
from bench.data import Dataset, Run
from bench.errors import BenchError
from bench.io import read_json, write_text
from bench.metrics import per_query
from bench.options import add_common_options, parse_models
from bench.results import UnverifiedRun, dataset_dir, load_verified_run, read_trec_qrels, run_path, run_stem
from bench.retriever import Retriever, Settings, default_cache_dir
from bench.tables import markdown_table

TITLE_WIDTH = 48


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
    if args.runs:
        report = compare_runs(args.out, args.dataset, *args.runs, top=args.top, data_dir=args.data_dir)
        path = (
            dataset_dir(args.out, stored_name(args.dataset, args.data_dir))
            / "explain"
            / f"{run_stem(args.runs[0])}_vs_{run_stem(args.runs[1])}.md"
        )
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
    return report, dataset_dir(args.out, dataset.name) / "explain" / f"query-{slug}_{stem}.md"


def pick_query(dataset: Dataset, text: str | None, query_id: str | None) -> tuple[str | None, str]:
    """(query id or None, text). A typed text that is a test query gets its id, so grades show."""
    if query_id is not None:
        if query_id not in dataset.queries:
            examples = ", ".join(sorted(dataset.queries)[:3])
            raise BenchError(f"--query-id {query_id}: not a test query of {dataset.name} (e.g. {examples})")
        return query_id, dataset.queries[query_id]
    assert text is not None
    matches = [qid for qid, q in dataset.queries.items() if q.strip().lower() == text.strip().lower()]
    return (matches[0] if matches else None), text


# ------------------------------------------------------------------ query mode


def explain_query(
    dataset: Dataset,
    text: str,
    query_id: str | None,
    retrievers: Sequence[Retriever],
    k: int = 10,
    terms: int = 20,
) -> str:
    """Markdown: expansion terms, then the top-k of each retriever side by side."""
    grades = dataset.qrels.get(query_id, {}) if query_id else {}
    judged = f" (query {query_id}, {len(grades)} judged products)" if query_id else " (not a judged query)"
    lines = [f"# {dataset.name}: `{text}`{judged}", ""]
    for retriever in retrievers:
        for owner, expansion in expansions(retriever, text, terms):
            lines.append(
                f"**{owner} expansion** ({len(expansion)} top terms): "
                + ", ".join(f"{term} {weight:.2f}" for term, weight in expansion)
            )
            lines.append("")
    runs = [retriever.search({"q": text}, k)["q"] for retriever in retrievers]
    header = ["rank"]
    for retriever in retrievers:
        header += [f"{retriever.name}: product", "score", "grade"]
    rows = []
    ranked = [sorted(run.items(), key=lambda item: (-item[1], item[0])) for run in runs]
    for rank in range(max((len(r) for r in ranked), default=0)):
        row = [str(rank + 1)]
        for hits in ranked:
            if rank < len(hits):
                doc_id, score = hits[rank]
                row += [product_label(dataset, doc_id), f"{score:.3f}", grade_label(grades, doc_id)]
            else:
                row += ["", "", ""]
        rows.append(row)
    lines += [markdown_table(header, rows), ""]
    if grades:
        lines.append(f"grade: judged gain (relevant >= {dataset.relevant_grade}); '-' = not judged")
        if len(runs) == 2:
            shared = len(set(runs[0]) & set(runs[1]))
            lines.append(f"{shared} of the top-{k} products are shared.")
    return "\n".join(lines) + "\n"


def expansions(retriever: Retriever, text: str, terms: int) -> list[tuple[str, list[tuple[str, float]]]]:
    """(name, top terms) for the retriever, or for its components when it is a hybrid."""
    parts = [retriever, *getattr(retriever, "components", [])]
    return [(part.name, part.expand(text, terms)) for part in parts if hasattr(part, "expand")]


def product_label(dataset: Dataset, doc_id: str) -> str:
    doc = dataset.corpus.get(doc_id)
    title = doc.title if doc else "?"
    title = title if len(title) <= TITLE_WIDTH else title[: TITLE_WIDTH - 1] + "…"
    return f"{title} [{doc_id}]"


def grade_label(grades: dict[str, int], doc_id: str) -> str:
    return str(grades[doc_id]) if doc_id in grades else "-"


# ------------------------------------------------------------------ runs mode


def compare_runs(out: Path, dataset: str, a: str, b: str, top: int = 15, data_dir: Path | None = None) -> str:
    """Markdown: per-query nDCG@10 of stored runs `a` and `b`, largest differences first."""
    name = stored_name(dataset, data_dir)
    folder = dataset_dir(out, name)
    qrels = read_trec_qrels(folder / "qrels.trec")
    meta_path = folder / "dataset.json"
    if not meta_path.is_file():
        raise BenchError(f"{meta_path} not found; run `python -m bench run -d {dataset}` first")
    relevant_grade = int(read_json(meta_path)["relevant_grade"])
    run_a, run_b = (stored_run(out, name, retriever) for retriever in (a, b))
    scores_a = per_query(qrels, run_a, relevant_grade, "ndcg@10")
    scores_b = per_query(qrels, run_b, relevant_grade, "ndcg@10")
    texts = query_texts(dataset, data_dir)

    query_ids = sorted(scores_a)  # both: the qrels queries with a relevant product
    deltas = {qid: scores_b[qid] - scores_a[qid] for qid in query_ids}
    b_wins = sorted((q for q in query_ids if deltas[q] > 1e-9), key=lambda q: (-deltas[q], q))
    a_wins = sorted((q for q in query_ids if deltas[q] < -1e-9), key=lambda q: (deltas[q], q))
    ties = len(query_ids) - len(a_wins) - len(b_wins)
    mean_a, mean_b = (sum(scores.values()) / len(scores) for scores in (scores_a, scores_b))

    lines = [
        f"# {dataset}: {a} vs {b}, per-query nDCG@10",
        "",
        f"{len(query_ids)} evaluated queries (with a relevant product): **{b}** better on "
        f"{len(b_wins)}, **{a}** better on {len(a_wins)}, equal on {ties}. "
        f"Mean nDCG@10: {a} {mean_a:.4f}, {b} {mean_b:.4f}.",
        "",
    ]
    for winner, loser, wins in ((b, a, b_wins), (a, b, a_wins)):
        lines += [
            f"## {winner} better than {loser} (largest first, {min(top, len(wins))} of {len(wins)})",
            "",
        ]
        rows = [
            [
                qid,
                texts.get(qid, "?"),
                f"{scores_a[qid]:.3f}",
                f"{scores_b[qid]:.3f}",
                f"{deltas[qid]:+.3f}",
            ]
            for qid in wins[:top]
        ]
        lines += [markdown_table(["query", "text", a, b, "Δ (b - a)"], rows) if rows else "(none)", ""]
    return "\n".join(lines)


def stored_name(dataset: str, data_dir: Path | None) -> str:
    """The results folder name of `-d NAME` or `-d ./path` (what `run` wrote it under)."""
    from bench.datasets import resolve

    return resolve(dataset, data_dir).name


def stored_run(out: Path, dataset: str, retriever: str) -> Run:
    """A stored full-protocol run, only if its file matches the sha256 in its sidecar."""
    try:
        return load_verified_run(run_path(out, dataset, retriever, ".json"))[1]
    except UnverifiedRun as why:
        raise BenchError(f"explain --runs {retriever}: {why}; run `python -m bench run -r {retriever} "
                         f"-d {dataset}` first") from None


def query_texts(dataset: str, data_dir: Path | None) -> dict[str, str]:
    """Texts of the dataset's test queries, or {} when the dataset files are not here."""
    from bench.datasets import load, missing

    if missing(dataset, data_dir):
        return {}
    return load(dataset, split="test", data_dir=data_dir).queries
