"""The leaderboard's plots as PNG bytes: nDCG@10 per dataset, and quality against latency.

>>> png = plot_ndcg(board)            # grouped bars, one group per table (checks left out)
>>> png[:4]
b'\\x89PNG'

matplotlib's Agg canvas, no pyplot state, no timestamp in the file: the same board gives the
same bytes.
"""

from __future__ import annotations

import io
from typing import Any

from bench.leaderboard.store import Leaderboard

PLOT_NAMES = ("ndcg_at_10.png", "quality_vs_latency.png")


def plot_ndcg(board: Leaderboard) -> bytes:
    """Grouped bars: one group per table, one bar per retriever (checks left out)."""
    tables = board.main
    figure, axes = _figure(max(7.0, 1.2 + 0.45 * sum(len(t.systems()) for t in tables)))
    names = sorted({r.retriever for t in tables for r in t.systems()})
    width = 0.8 / len(names)
    colours = _colours(len(names))
    for i, name in enumerate(names):
        xs, ys = [], []
        for x, table in enumerate(tables):
            if name in table.evidence["systems"]:
                xs.append(x - 0.4 + width * (i + 0.5))
                ys.append(table.score(name))
        bars = axes.bar(xs, ys, width * 0.92, label=name, color=colours[i])
        axes.bar_label(bars, fmt="%.3f", fontsize=7, rotation=90, padding=2)
    axes.set_xticks(range(len(tables)), [f"{t.label}\n({t.queries:,} queries)" for t in tables])
    top = max(t.score(r.retriever) for t in tables for r in t.systems())
    axes.set_ylim(0, top * 1.2 + 0.02)  # room for the value labels above the bars
    axes.set_yticks([tick for tick in axes.get_yticks() if 0 <= tick <= 1.0])
    axes.set_ylabel("nDCG@10 (higher is better)")
    axes.set_title("nDCG@10 per dataset and retriever"
                   + (" (quick runs, not the protocol)" if board.quick_only else " (test queries)"))
    axes.legend(title="retriever", fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    axes.grid(axis="y", alpha=0.3)
    return _png(figure)


def plot_quality_vs_latency(board: Leaderboard) -> bytes:
    """nDCG@10 against p50 query latency (log x): colour = dataset, marker = retriever."""
    from matplotlib.lines import Line2D
    from matplotlib.ticker import FuncFormatter

    tables = board.main
    figure, axes = _figure(8.0)
    names = sorted({r.retriever for t in tables for r in t.systems()})
    markers = {name: "osD^vP*Xh<>p"[i % 12] for i, name in enumerate(names)}
    colours = dict(zip((t.label for t in tables), _colours(len(tables)), strict=True))
    for table in tables:
        for stored in table.systems():
            latency = stored.meta.get("latency_ms_p50")
            if latency:
                axes.scatter(latency, table.score(stored.retriever), s=60, color=colours[table.label],
                             marker=markers[stored.retriever], edgecolors="black", linewidths=0.5)
    axes.set_xscale("log")
    axes.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    axes.set_xlabel("p50 query latency, ms (log scale; lower is better)")
    axes.set_ylabel("nDCG@10 (higher is better)")
    axes.set_title("Quality vs. query latency" + (" (quick runs)" if board.quick_only else ""))
    axes.grid(alpha=0.3, which="both")
    dataset_legend = axes.legend(
        handles=[Line2D([], [], marker="o", linestyle="", color=c, label=n) for n, c in colours.items()],
        title="dataset", fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0),
    )
    axes.add_artist(dataset_legend)
    axes.legend(
        handles=[Line2D([], [], marker=markers[n], linestyle="", color="grey", label=n) for n in names],
        title="retriever", fontsize=8, loc="lower left", bbox_to_anchor=(1.01, 0.0),
    )
    return _png(figure)


def _figure(width: float) -> tuple[Any, Any]:
    from matplotlib.figure import Figure  # the Agg canvas, no pyplot state

    figure = Figure(figsize=(width, 4.8), dpi=120, layout="constrained")
    return figure, figure.add_subplot()


def _colours(n: int) -> list[Any]:
    from matplotlib import colormaps

    palette = colormaps["tab10" if n <= 10 else "tab20"]
    return [palette(i % palette.N) for i in range(n)]


def _png(figure: Any) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()
