"""The leaderboard as one self-contained web page (results/index.html), and its screenshot.

>>> html = render("E-commerce retrieval leaderboard", sections, {"ndcg_at_10.png": png_bytes})
>>> screenshot(Path("results/index.html"), Path("docs/leaderboard.png"))   # headless Chromium

One file, nothing fetched: CSS and the sorting script are inline, plots are base64 PNGs, so the
page opens from disk, from a mail attachment or from any static web server. Click a column
header to sort by it (again to reverse); hover a significance mark to read which retrievers it
beats, with their p-values; hover a column header for what it measures (the pool diagnostics,
the bootstrap interval, what each timing includes), a p-value for its uncorrected value.
"""

from __future__ import annotations

import base64
import html
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from bench.errors import BenchError
from bench.io import atomic_path
from bench.leaderboard.cells import Cell, html_table

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
SCREENSHOT_SIZE = (2150, 1500)  # wide enough for a table with every column (about 2,050 px)


@dataclass
class Section:
    """A titled part of a report; bench/leaderboard/markdown.py renders the same sections as Markdown."""

    title: str
    anchor: str
    level: int = 2
    text: list[str] = field(default_factory=list)  # paragraphs (inline Markdown: **bold**, `code`)
    bullets: list[str] = field(default_factory=list)
    table: tuple[list[Cell], list[list[Cell]]] | None = None
    after: list[str] = field(default_factory=list)  # paragraphs below the table
    after_bullets: list[str] = field(default_factory=list)
    images: list[tuple[str, str]] = field(default_factory=list)  # (alt text, plots/<file>)


def render(title: str, sections: list[Section], images: dict[str, bytes]) -> str:
    """The whole page; `images` maps a file name of `Section.images` to its PNG bytes."""
    contents = "".join(f'<li><a href="#{s.anchor}">{inline(s.title)}</a></li>'
                       for s in sections if s.level == 2)
    body = "\n".join(section_html(s, images) for s in sections)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title>
<link rel="icon" href="data:,">
<style>{CSS}</style>
</head>
<body>
<header><h1>{html.escape(title)}</h1>
<p class="hint">Click a column header to sort (again to reverse). Hover a superscript for the retrievers
a score beats and their p-values, a header for what it measures.</p>
<nav><ul>{contents}</ul></nav></header>
<main>
{body}
</main>
<footer>Written by <code>python -m bench leaderboard</code>; the same numbers are in leaderboard.md,
.csv, .json and .tex next to this page.</footer>
<script>{SCRIPT}</script>
</body>
</html>
"""


def section_html(section: Section, images: dict[str, bytes]) -> str:
    level = section.level
    parts = [f'<section id="{html.escape(section.anchor)}"><h{level}>{inline(section.title)}</h{level}>']
    parts += [f"<p>{inline(text)}</p>" for text in section.text]
    if section.bullets:
        parts.append("<ul>" + "".join(f"<li>{inline(b)}</li>" for b in section.bullets) + "</ul>")
    if section.table:
        parts.append(f'<div class="scroll">{html_table(*section.table)}</div>')
    for alt, path in section.images:
        data = base64.b64encode(images[Path(path).name]).decode("ascii")
        parts.append(f'<figure><img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'
                     f"<figcaption>{html.escape(alt)}</figcaption></figure>")
    parts += [f"<p>{inline(text)}</p>" for text in section.after]
    if section.after_bullets:
        parts.append("<ul>" + "".join(f"<li>{inline(b)}</li>" for b in section.after_bullets) + "</ul>")
    return "\n".join(parts) + "\n</section>"


def inline(text: str) -> str:
    """The inline Markdown the report uses (`code`, **bold**, bare URLs) as HTML, escaped."""
    escaped = html.escape(text, quote=False)
    escaped = re.sub(r"`([^`]+)`", r"<code>\1</code>", escaped)
    escaped = re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", escaped)
    return re.sub(r"(https?://[^\s,;)]+)", r'<a href="\1">\1</a>', escaped)


# ------------------------------------------------------------------ screenshot


def find_browser() -> str | None:
    return next((path for name in BROWSERS if (path := shutil.which(name))), None)


def screenshot(page: Path, png: Path, size: tuple[int, int] = SCREENSHOT_SIZE) -> Path:
    """A PNG of the top of the page, (width, height) pixels, as headless Chromium draws it."""
    browser = find_browser()
    if browser is None:
        raise BenchError("--screenshot needs Chromium; install it (Debian: apt-get install chromium)")
    page = Path(page).resolve()
    if not page.is_file():
        raise BenchError(f"{page} not found; run `python -m bench leaderboard` first")
    command = [browser, "--headless", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
               f"--window-size={size[0]},{size[1]}"]
    if os.geteuid() == 0:  # Chromium refuses to start as root inside its sandbox (CI, containers)
        command.append("--no-sandbox")
    with tempfile.TemporaryDirectory() as profile:
        shot = Path(profile) / "screenshot.png"  # Chromium picks the format from the name
        try:
            subprocess.run([*command, f"--user-data-dir={profile}", f"--screenshot={shot}", page.as_uri()],
                           capture_output=True, timeout=180, check=False)
        except subprocess.TimeoutExpired:
            raise BenchError(f"{browser} took over 180 s to draw {page}") from None
        if not shot.is_file() or not shot.read_bytes().startswith(b"\x89PNG"):
            raise BenchError(f"{browser} wrote no screenshot of {page}; try it by hand: "
                             f"{browser} --headless --screenshot=x.png {page.as_uri()}")
        with atomic_path(png) as tmp:
            tmp.write_bytes(shot.read_bytes())
    return Path(png)


CSS = """
:root { --ink: #1d232b; --muted: #5b6672; --line: #d8dee4; --head: #f3f5f7; --accent: #0b62a4; }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 2200px; padding: 0 24px 48px; color: var(--ink);
       font: 14px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; }
h1 { margin: 24px 0 4px; font-size: 26px; }
h2 { margin: 36px 0 8px; padding-bottom: 4px; border-bottom: 2px solid var(--line); font-size: 20px; }
h3 { margin: 28px 0 6px; font-size: 16px; }
p, li { max-width: 1100px; }
.hint { color: var(--muted); margin: 0 0 8px; }
nav ul { display: flex; flex-wrap: wrap; gap: 4px 16px; list-style: none; padding: 0; margin: 8px 0 0; }
a { color: var(--accent); }
code { font: 12.5px ui-monospace, "DejaVu Sans Mono", monospace; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; margin: 8px 0; font-variant-numeric: tabular-nums; }
th, td { padding: 4px 7px; border-bottom: 1px solid var(--line); text-align: right; white-space: nowrap; }
th:nth-child(-n+2), td:nth-child(-n+2) { text-align: left; }
thead th { position: sticky; top: 0; background: var(--head); cursor: pointer; user-select: none; }
thead th:hover { background: #e6ebf0; }
thead th[aria-sort="descending"]::after { content: " \\25BC"; font-size: 10px; }
thead th[aria-sort="ascending"]::after { content: " \\25B2"; font-size: 10px; }
tbody tr:nth-child(even) { background: #fafbfc; }
tbody tr:hover { background: #eef5fb; }
sup { color: var(--accent); font-size: 10px; margin-left: 1px; cursor: help; }
td[title] { cursor: help; }
figure { margin: 12px 0; }
img { max-width: 100%; border: 1px solid var(--line); }
figcaption { color: var(--muted); font-size: 12px; }
footer { margin-top: 40px; color: var(--muted); font-size: 12px; }
"""

# Sorts a table by the clicked column: data-sort when a cell has it (raw numbers), else its text.
# Numbers go high to low first, text A to Z; empty cells ("—") always last; ties keep their order.
SCRIPT = """
(function () {
  "use strict";
  function value(row, column) {
    var cell = row.cells[column];
    if (!cell) return "";
    var raw = cell.getAttribute("data-sort");
    return raw !== null ? raw : cell.textContent.trim();
  }
  function missing(v) { return v === "" || v === "\\u2014"; }
  function sortBy(table, header, column) {
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    var values = rows.map(function (row) { return value(row, column); });
    var present = values.filter(function (v) { return !missing(v); });
    var numeric = present.length > 0 && present.every(function (v) { return !isNaN(Number(v)); });
    var previous = header.getAttribute("aria-sort");
    var direction = previous === "descending" ? "ascending"
      : previous === "ascending" ? "descending" : (numeric ? "descending" : "ascending");
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (h) { h.removeAttribute("aria-sort"); });
    header.setAttribute("aria-sort", direction);
    var sign = direction === "ascending" ? 1 : -1;
    var order = rows.map(function (row, i) { return { row: row, i: i, v: values[i] }; });
    order.sort(function (a, b) {
      if (missing(a.v) !== missing(b.v)) return missing(a.v) ? 1 : -1;
      var c = missing(a.v) ? 0 : numeric ? Number(a.v) - Number(b.v) : a.v.localeCompare(b.v);
      return c * sign || a.i - b.i;
    });
    order.forEach(function (o) { body.appendChild(o.row); });
  }
  Array.prototype.forEach.call(document.querySelectorAll("table.sortable"), function (table) {
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (header, column) {
      header.tabIndex = 0;
      header.addEventListener("click", function () { sortBy(table, header, column); });
      header.addEventListener("keydown", function (event) {
        if (event.key !== "Enter" && event.key !== " ") return;
        event.preventDefault();
        sortBy(table, header, column);
      });
    });
  });
})();
"""
