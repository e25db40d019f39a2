"""The leaderboard as LaTeX (leaderboard.tex): one booktabs table per results folder, then its pairs.

>>> tex = latex(board)        # needs \\usepackage{booktabs}
>>> tex.count(r"\\begin{table}")
6
"""

from __future__ import annotations

from bench.leaderboard import evidence
from bench.leaderboard.cells import Cell, count_text, latex_escape, latex_inline, latex_table
from bench.leaderboard.rows import leaderboard_rows
from bench.leaderboard.store import Leaderboard, ResultTable
from bench.metrics import ALPHA, BASELINE, LABELS, METRICS, POOL, POOL_LABELS, TEST_NAME


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
        f"{count_text(table.meta.get('documents'))} products, k = {latex_escape(ks)}"
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
