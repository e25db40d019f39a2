"""The leaderboard as Markdown (leaderboard.md): the same sections as the web page, in text.

>>> print(markdown(board))
# E-commerce retrieval leaderboard
...
"""

from __future__ import annotations

from bench.leaderboard.cells import markdown_table
from bench.leaderboard.sections import sections
from bench.leaderboard.store import Leaderboard


def markdown(board: Leaderboard) -> str:
    lines = ["# E-commerce retrieval leaderboard", ""]
    for part in sections(board):
        lines += ["#" * part.level + " " + part.title, ""]
        for paragraph in part.text:
            lines += [paragraph, ""]
        if part.bullets:
            lines += [f"- {bullet}" for bullet in part.bullets] + [""]
        if part.table:
            lines += [markdown_table(*part.table), ""]
        for alt, path in part.images:
            lines += [f"![{alt}]({path})", ""]
        for paragraph in part.after:
            lines += [paragraph, ""]
        if part.after_bullets:
            lines += [f"- {bullet}" for bullet in part.after_bullets] + [""]
    return "\n".join(lines).rstrip() + "\n"
