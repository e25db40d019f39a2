"""Tables as Markdown, LaTeX (booktabs) and HTML from one list of rows: the single home of table layout.

>>> rows = [[Cell("bm25", code=True), "0.506"], [Cell("dense", code=True), Cell("0.575", bold=True, sup="a")]]
>>> print(markdown_table(["retriever", "nDCG@10"], rows))
| retriever | nDCG@10               |
| --------- | --------------------- |
| `bm25`    | 0.506                 |
| `dense`   | **0.575**<sup>a</sup> |

A cell is a plain string or a `Cell`: its text plus what each format shows in its own way
(bold, a superscript, a monospace name, a hover note, a sort key for the HTML page).
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Cell:
    text: str
    bold: bool = False
    sup: str = ""  # e.g. the letters of the systems a score beats
    code: bool = False  # a name: `bm25` in Markdown, \texttt in LaTeX, <code> in HTML
    note: str = ""  # what a reader sees on hover in HTML (the title attribute)
    sort: float | str | None = None  # the HTML sort key; default: the text
    sup_note: str = ""  # hover text of the superscript alone


CellLike = Cell | str
Row = Sequence[CellLike]


def _cell(value: CellLike) -> Cell:
    return value if isinstance(value, Cell) else Cell(value)


def p_text(p_value: float) -> str:
    """A p-value as the tables print it: 3 decimals, or <0.001."""
    return "<0.001" if p_value < 0.001 else f"{p_value:.3f}"


def count_text(value: object) -> str:
    """A count as the tables print it, 12,052; "?" when the results folder did not record it."""
    return f"{value:,}" if isinstance(value, int) else "?"


def round6(value: float) -> float:
    """A score as the CSV and JSON files write it."""
    return round(float(value), 6)


def round_p(p_value: float) -> float:
    """A p-value as the JSON file writes it: 4 significant digits."""
    return float(f"{p_value:.4g}")


# ------------------------------------------------------------------ markdown


def markdown_cell(value: CellLike) -> str:
    cell = _cell(value)
    text = f"`{cell.text}`" if cell.code else cell.text
    text = f"**{text}**" if cell.bold else text
    return f"{text}<sup>{cell.sup}</sup>" if cell.sup else text


def markdown_table(header: Row, rows: Sequence[Row]) -> str:
    """A Markdown table padded into aligned columns, so it also reads well in a terminal."""
    cells = [[markdown_cell(cell).replace("|", "/") for cell in row] for row in [header, *rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]

    def line(row: list[str]) -> str:
        return "| " + " | ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)) + " |"

    return "\n".join([line(cells[0]), line(["-" * w for w in widths]), *map(line, cells[1:])])


# ------------------------------------------------------------------ latex

LATEX_SPECIAL = {
    "\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
    "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
    "—": "---", "–": "--", "Δ": r"$\Delta$", "†": r"\dag{}", "→": r"$\to$", "<": r"$<$", ">": r"$>$",
    "·": r"\textperiodcentered{}", "×": r"$\times$",
}


def latex_escape(text: str) -> str:
    return "".join(LATEX_SPECIAL.get(char, char) for char in text)


def latex_inline(text: str) -> str:
    """A sentence with the report's inline Markdown (`code`, **bold**) as LaTeX."""
    parts = text.split("`")
    out = "".join(rf"\texttt{{{latex_escape(part)}}}" if i % 2 else latex_escape(part)
                  for i, part in enumerate(parts))
    return re.sub(r"\*\*([^*]+)\*\*", r"\\textbf{\1}", out)


def latex_cell(value: CellLike) -> str:
    cell = _cell(value)
    text = latex_escape(cell.text)
    text = rf"\texttt{{{text}}}" if cell.code else text
    text = rf"\textbf{{{text}}}" if cell.bold else text
    return rf"{text}\textsuperscript{{{latex_escape(cell.sup)}}}" if cell.sup else text


def latex_table(header: Row, rows: Sequence[Row], align: str) -> str:
    """A booktabs `tabular` (needs \\usepackage{booktabs}); `align` like "llrrr"."""
    lines = [rf"\begin{{tabular}}{{{align}}}", r"\toprule",
             " & ".join(latex_cell(cell) for cell in header) + r" \\", r"\midrule"]
    lines += [" & ".join(latex_cell(cell) for cell in row) + r" \\" for row in rows]
    lines += [r"\bottomrule", r"\end{tabular}"]
    return "\n".join(lines)


# ------------------------------------------------------------------ html


def html_cell(value: CellLike, tag: str = "td") -> str:
    cell = _cell(value)
    text = html.escape(cell.text)
    text = f"<code>{text}</code>" if cell.code else text
    text = f"<strong>{text}</strong>" if cell.bold else text
    if cell.sup:
        note = f' title="{html.escape(cell.sup_note)}"' if cell.sup_note else ""
        text += f"<sup{note}>{html.escape(cell.sup)}</sup>"
    attributes = ""
    if cell.note:
        attributes += f' title="{html.escape(cell.note)}"'
    if cell.sort is not None:
        attributes += f' data-sort="{html.escape(str(cell.sort))}"'
    return f"<{tag}{attributes}>{text}</{tag}>"


def html_table(header: Row, rows: Sequence[Row], css_class: str = "sortable") -> str:
    """A <table> whose header cells sort it when clicked (the page's script reads data-sort)."""
    head = "".join(html_cell(cell, "th") for cell in header)
    body = "\n".join("<tr>" + "".join(html_cell(cell) for cell in row) + "</tr>" for row in rows)
    return f'<table class="{css_class}">\n<thead><tr>{head}</tr></thead>\n<tbody>\n{body}\n</tbody>\n</table>'
