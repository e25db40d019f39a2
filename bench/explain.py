"""Why does a retriever rank what it ranks, and where do two differ? (`python -m bench explain`)

>>> print(explain_query(dataset, "cordless drill", None, [splade, bm25], k=10))   # query mode
>>> print(compare_runs(Path("results"), "homedepot", "bm25", "splade"))           # runs mode

Query mode shows the query's expansion terms (SPLADE: the top-weighted vocabulary terms of
its sparse vector) and each retriever's top-k products side by side, with grades when the
query is judged. Runs mode reads results/<dataset>/runs/ and lists the queries where the two
retrievers differ most on nDCG@10. Both return a Markdown report; the command
(bench/commands/explain.py) prints it and saves it under results/<dataset>/explain/.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from bench.data import Dataset, Run
from bench.errors import BenchError
from bench.io import read_json
from bench.leaderboard.cells import markdown_table
from bench.metrics import per_query
from bench.results import UnverifiedRun, load_verified_run, read_trec_qrels, run_path, table_dir
from bench.retriever import Retriever

TITLE_WIDTH = 48


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
    folder = table_dir(out, name)
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
