"""What a leaderboard table shows beyond its means, computed on plain dicts and rendered as cells.

>>> found = analyse(qrels, {"bm25": run_a, "bm25-rank": run_b, "splade": run_c}, relevant_grade=2)
>>> found["systems"], found["checks"]["bm25-rank"]["queries_differing"]
(['bm25', 'splade'], 0)
>>> found["versus_baseline"]["splade"]    # nDCG@10 vs bm25: bootstrap CI, W/T/L, t-test (Holm, raw)
{'delta': 0.021, 'ci95_low': 0.004, 'ci95_high': 0.039, 'wins': 120, 'ties': 60, 'losses': 80,
 'p': 0.012, 'p_raw': 0.012}
>>> found["significance"]["family_size"], found["all_pairs"]["family_size"]   # vs bm25; every pair
(1, 1)

Per table: its systems (a correctness twin of another run, `bench.twins.CHECKS`, is a check
instead), every run's means and pool diagnostics, the t-tests of every system against the
baseline (the main table's family), the t-tests of every pair (the all-pairs table, a family
of its own), and each system's nDCG@10 difference to the baseline with its bootstrap interval
and wins/ties/losses.
"""

from __future__ import annotations

from typing import Any

from bench.data import Qrels, Run
from bench.leaderboard.cells import Cell, p_text, round6, round_p
from bench.leaderboard.page import Section
from bench.metrics import (
    ALPHA,
    BASELINE,
    METRICS,
    POOL,
    POOL_DEPTH,
    POOL_LABELS,
    PRIMARY,
    TEST_NAME,
    mean,
    per_query_scores,
    pool_scores,
    significance,
)
from bench.twins import CHECKS, agreement, sentence, split_checks
from bench.uncertainty import CONFIDENCE, RESAMPLES, SEED, versus_baseline

VERSUS = f"vs {BASELINE}"
DELTA, P_VALUE, WTL = f"Δ nDCG@10 {VERSUS} [95% CI]", f"p {VERSUS}", f"W/T/L {VERSUS}"  # column headers


def analyse(qrels: Qrels, runs: dict[str, Run], relevant_grade: int, baseline: str = BASELINE,
            checks: dict[str, str] = CHECKS) -> dict[str, Any]:
    """Everything one table shows, as plain dicts (see the module docstring)."""
    per_system = {name: per_query_scores(qrels, run, relevant_grade) | pool_scores(qrels, run, relevant_grade)
                  for name, run in runs.items()}
    systems, twins = split_checks(list(runs), checks)
    tested = {name: per_system[name] for name in systems}
    main = significance(tested, METRICS, baseline=baseline) if baseline in systems else None
    versus = {}
    if main:
        versus = versus_baseline({name: scores[PRIMARY] for name, scores in tested.items()}, baseline)
        tests = main["metrics"][PRIMARY]
        for name, row in versus.items():
            row.update(p=tests["p_values"][name][baseline], p_raw=tests["p_values_raw"][name][baseline])
    return {
        "queries": len(per_system[next(iter(runs))][PRIMARY]),
        "systems": systems,
        "scores": {metric: {name: mean(scores[metric]) for name, scores in per_system.items()}
                   for metric in [*METRICS, *POOL]},
        "significance": main,
        "all_pairs": significance(tested, METRICS) if len(systems) > 1 else None,
        "versus_baseline": versus,
        "checks": {twin: {"reference": reference, **agreement(
            per_system[reference][PRIMARY], per_system[twin][PRIMARY], runs[reference], runs[twin])}
            for twin, reference in twins.items()},
    }


# ------------------------------------------------------------------ cells of the main table


def pool_header() -> list[Cell]:
    return [
        Cell(POOL_LABELS[POOL[0]], note=f"share of the top {POOL_DEPTH} that is judged (graded in the "
             f"qrels of that query, grade 0 included), out of {POOL_DEPTH} even when fewer were returned; "
             "mean over the scored queries. Unjudged products count as irrelevant: a low value makes this "
             "row's metrics a lower bound"),
        Cell(POOL_LABELS[POOL[1]], note=f"nDCG@{POOL_DEPTH} of the condensed list (Sakai): unjudged products "
             f"removed before cutting at {POOL_DEPTH}, graded gains; the check of pool bias"),
    ]


def pool_cells(found: dict[str, Any], name: str) -> list[Cell]:
    values = [found["scores"][key][name] for key in POOL]
    return [Cell(f"{value:.3f}", sort=round6(value)) for value in values]


def versus_header(family_size: int) -> list[Cell]:
    return [
        Cell(DELTA, note=f"mean per-query nDCG@10 minus {BASELINE}'s; paired bootstrap {CONFIDENCE:.0%} "
             f"interval ({RESAMPLES:,} resamples of the queries, percentiles)"),
        Cell(P_VALUE, note=f"{TEST_NAME} on nDCG@10, Holm-corrected over the {family_size} systems tested "
             f"against {BASELINE}; * = p < {ALPHA}; hover a value for the uncorrected p"),
        Cell(WTL, note=f"queries where nDCG@10 is above / equal to (full precision) / below {BASELINE}'s"),
    ]


def versus_cells(row: dict[str, Any] | None) -> list[Cell]:
    """Δ [CI], p and W/T/L against the baseline; dashes on the baseline's own row."""
    if row is None:
        return [Cell("—", sort=0.0)] * 3
    significant = row["p"] < ALPHA
    low, high = row["ci95_low"], row["ci95_high"]
    return [
        Cell(f"{row['delta']:+.3f} [{low:+.3f}, {high:+.3f}]", sort=round6(row["delta"]),
             note=f"{CONFIDENCE:.0%} interval of the difference: {low:+.4f} to {high:+.4f}"),
        Cell(p_text(row["p"]), sup="*" if significant else "", sort=round_p(row["p"]),
             note=f"uncorrected p = {row['p_raw']:.3g}",
             sup_note=f"significant: Holm-corrected p < {ALPHA}" if significant else ""),
        Cell(f"{row['wins']}/{row['ties']}/{row['losses']}", sort=row["wins"] - row["losses"],
             note=f"{row['wins']} queries above {BASELINE}, {row['ties']} equal, {row['losses']} below"),
    ]


# ------------------------------------------------------------------ checks and the all-pairs table


def checks_line(found: dict[str, Any]) -> list[str]:
    """The table's checks as one paragraph (none without a twin)."""
    lines = [sentence(twin, check["reference"], check) for twin, check in found["checks"].items()]
    if not lines:
        return []
    return ["**Checks** (second implementations of a system, neither ranked nor tested): " + " ".join(lines)]


def pairs_table(ranked: list[str], letters: dict[str, str],
                found: dict[str, Any]) -> tuple[list[Cell], list[list[Cell]]] | None:
    """Every pair's nDCG@10 p-value (Holm over all pairs of `ranked`, best first): an upper triangle."""
    if found["all_pairs"] is None:
        return None
    entry = found["all_pairs"]["metrics"][PRIMARY]
    header = [Cell("", note="letter used by the significance marks"), Cell("Retriever")]
    header += [Cell(letters[name], note=name) for name in ranked[1:]]
    rows = []
    for i, name in enumerate(ranked[:-1]):
        row = [Cell(letters[name]), Cell(name, code=True)]
        row += [_pair_cell(entry, name, other) if j > i else Cell("")
                for j, other in enumerate(ranked[1:], start=1)]
        rows.append(row)
    return header, rows


def pairs_section(title: str, anchor: str, level: int, ranked: list[str], letters: dict[str, str],
                  found: dict[str, Any]) -> Section | None:
    table = pairs_table(ranked, letters, found)
    if table is None:
        return None
    return Section(title, anchor, level=level, text=[
        f"p-values of nDCG@10 for every pair of this table's systems ({TEST_NAME}), Holm-corrected over all "
        f"{found['all_pairs']['family_size']} pairs: a family of its own, apart from the tests against "
        f"{BASELINE} above; checks left out. Rows and columns in the table's order, so each row is ranked "
        f"above its columns; * = the row is significantly better (p < {ALPHA})."], table=table)


def _pair_cell(entry: dict[str, Any], name: str, other: str) -> Cell:
    p_value = entry["p_values"][name][other]
    delta = entry["scores"][name] - entry["scores"][other]
    beats = other in entry["beats"][name]
    return Cell(p_text(p_value), sup="*" if beats else "", sort=round_p(p_value),
                note=f"{name} − {other}: {delta:+.3f} nDCG@10; uncorrected p = "
                     f"{entry['p_values_raw'][name][other]:.3g}",
                sup_note=f"significant: Holm-corrected p < {ALPHA} over all pairs" if beats else "")


# ------------------------------------------------------------------ protocol and JSON


def protocol_lines(family_sizes: list[int]) -> list[str]:
    """The leaderboard's protocol bullets on significance, intervals, pool diagnostics and checks."""
    sizes = ", ".join(map(str, sorted(set(family_sizes)))) or "no"
    twins = ", ".join(f"`{twin}` re-implements `{reference}`" for twin, reference in CHECKS.items())
    return [
        f"**Significance**: {TEST_NAME} over queries, alpha = {ALPHA}. The family of the main tables is "
        f"every system against `{BASELINE}` ({sizes} tests per metric), Holm-corrected over that family, "
        "per metric. A superscript lists the retrievers a score beats within it (higher mean and corrected "
        f"p < {ALPHA}): `{BASELINE}`, or on `{BASELINE}`'s row the systems it beats. The all-pairs table "
        "under each table is a separate family: every pair of its systems, Holm-corrected over all of them "
        f"(a table without `{BASELINE}` has only that one). Only rows of the same table (the same queries) "
        "are compared.",
        f"**Uncertainty**: Δ nDCG@10 {VERSUS} with a paired-bootstrap {CONFIDENCE:.0%} interval: the "
        f"queries resampled with replacement {RESAMPLES:,} times (numpy default_rng, seed {SEED}, the same "
        "resamples for every row), percentile interval (2.5th and 97.5th percentile of the resampled mean "
        "differences), one per row, not corrected for the number of rows. W/T/L: queries where the row's "
        "nDCG@10 is above, equal to or below the baseline's, compared at full floating-point precision.",
        f"**Pool**: unjudged products count as irrelevant in every metric. {POOL_LABELS[POOL[0]]} is the "
        f"share of the top {POOL_DEPTH} that is judged (graded in that query's qrels, grade 0 included), out "
        f"of {POOL_DEPTH} even when fewer were returned, averaged over the scored queries. A low value means "
        "the metrics cannot see much of what the system returns: its scores are a lower bound, and a system "
        "unlike the one whose results were judged is penalised most. "
        f"{POOL_LABELS[POOL[1]]} is nDCG@{POOL_DEPTH} on condensed lists (Sakai 2007): unjudged products "
        f"removed from the ranking before cutting at {POOL_DEPTH}, with nDCG@{POOL_DEPTH}'s graded gains and "
        "ideal ranking. It is the check of pool bias: a gap between two systems that shrinks on condensed "
        "lists is partly the pool's.",
        f"**Checks**: {twins}; such a twin is a correctness check shown under its table, neither ranked "
        "nor in any significance family.",
    ]


PROTOCOL = {  # what leaderboard.json's protocol says about these numbers
    "family": f"significance: every system vs {BASELINE}, Holm per metric; all_pairs: every pair, Holm per "
              "metric; checks (twin -> reference) in neither",
    "checks": CHECKS,
    "pool": {POOL[0]: f"share of the top {POOL_DEPTH} judged (in the query's qrels, any grade), out of "
                      f"{POOL_DEPTH}", POOL[1]: "nDCG@10 with unjudged products removed before the cut"},
    "bootstrap": {"resamples": RESAMPLES, "seed": SEED, "confidence": CONFIDENCE,
                  "interval": "percentile (numpy linear interpolation), paired, queries resampled"},
    "wins_ties_losses": f"per-query nDCG@10 vs {BASELINE}, ties at full floating-point precision",
}


def rounded_table(found: dict[str, Any]) -> dict[str, Any]:
    """A table's tests and checks as leaderboard.json writes them."""
    return {"significance": _rounded_tests(found["significance"]),
            "all_pairs": _rounded_tests(found["all_pairs"]),
            "checks": {twin: _rounded(check) for twin, check in found["checks"].items()}}


def rounded(found: dict[str, Any], name: str) -> dict[str, Any]:
    """One run's pool diagnostics, comparison with the baseline and twin relation, as the files write them."""
    row = found["versus_baseline"].get(name)
    return {
        "pool": {key: round6(found["scores"][key][name]) for key in POOL},
        "vs_baseline": None if row is None else _rounded(row),
        "check_of": (found["checks"].get(name) or {}).get("reference"),
    }


def _rounded_tests(tests: dict[str, Any] | None) -> dict[str, Any] | None:
    if tests is None:
        return None
    metrics = {}
    for metric, entry in tests["metrics"].items():
        metrics[metric] = {
            "scores": {name: round6(v) for name, v in entry["scores"].items()},
            **{key: {name: {other: round_p(p) for other, p in sorted(ps.items())}
                     for name, ps in entry[key].items()}
               for key in ("beats", "p_values", "p_values_raw")},
        }
    return {**tests, "metrics": metrics}


def _rounded(values: dict[str, Any]) -> dict[str, Any]:
    """Floats to 6 decimals, p-values (keys p, p_raw) to 4 significant digits; the rest as it is."""
    return {key: (round_p(value) if key in {"p", "p_raw"} else round6(value)) if isinstance(value, float)
            else value for key, value in values.items()}
