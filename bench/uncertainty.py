"""How sure a difference to the baseline is: paired bootstrap intervals and per-query wins/ties/losses.

>>> system, base = {"q1": 0.5, "q2": 0.9, "q3": 0.1}, {"q1": 0.4, "q2": 0.9, "q3": 0.3}
>>> wins_ties_losses(system, base)
(1, 1, 1)
>>> [round(x, 6) for x in bootstrap_ci(system, base)]   # 95% interval of the mean difference
[-0.2, 0.1]
>>> versus_baseline({"bm25": base, "splade": system}, "bm25")["splade"]
{'delta': -0.0333..., 'ci95_low': -0.19999..., 'ci95_high': 0.09999..., 'wins': 1, 'ties': 1, 'losses': 1}

Protocol (what the leaderboard states):
- Paired bootstrap over queries: `RESAMPLES` samples of the n evaluated queries, drawn with
  replacement, the same samples for every system (numpy's `default_rng(SEED)`, resample r being
  its r-th `integers(0, n, size=n)` draw), so the files are identical run to run; the interval
  is the 2.5th and 97.5th percentile of the resampled mean differences (numpy's linear
  interpolation). One interval per row, not corrected for the number of rows.
- Wins / ties / losses: queries where the system's score is above / equal to / below the
  baseline's, compared at full floating-point precision (not at the 3 decimals shown).
"""

from __future__ import annotations

from typing import Any

import numpy as np

RESAMPLES = 10_000
SEED = 42
CONFIDENCE = 0.95
CHUNK = 250  # resamples drawn at once: CHUNK x queries indices (4 MB for 2,000 queries)


def resampled_means(deltas: np.ndarray, resamples: int = RESAMPLES, seed: int = SEED) -> np.ndarray:
    """Mean of each row of `deltas` (systems x queries) on each bootstrap sample: systems x resamples.

    Row by row, so a system's means do not depend on which other systems are in the table.
    """
    deltas = np.atleast_2d(np.asarray(deltas, dtype=float))
    n = deltas.shape[1]
    rng = np.random.default_rng(seed)
    means = np.empty((deltas.shape[0], resamples))
    for start in range(0, resamples, CHUNK):
        size = min(CHUNK, resamples - start)
        samples = rng.integers(0, n, size=(size, n))  # the same stream as one draw per resample
        for row, values in enumerate(deltas):
            means[row, start:start + size] = values[samples].mean(axis=1)
    return means


def percentile_interval(means: np.ndarray, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """The central `confidence` share of `means`: (2.5th, 97.5th) percentile for 95%."""
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return float(low), float(high)


def bootstrap_ci(system: dict[str, float], baseline: dict[str, float], resamples: int = RESAMPLES,
                 seed: int = SEED) -> tuple[float, float]:
    """Paired-bootstrap interval of mean(system - baseline) over the queries of `baseline`."""
    return percentile_interval(resampled_means(_deltas(system, baseline), resamples, seed)[0])


def wins_ties_losses(system: dict[str, float], baseline: dict[str, float]) -> tuple[int, int, int]:
    """Queries where `system` scores above, exactly equal to, and below `baseline`."""
    deltas = _deltas(system, baseline)
    return int((deltas > 0).sum()), int((deltas == 0).sum()), int((deltas < 0).sum())


def versus_baseline(per_query: dict[str, dict[str, float]], baseline: str, resamples: int = RESAMPLES,
                    seed: int = SEED) -> dict[str, dict[str, Any]]:
    """Every other system against `baseline` (system -> query -> score, all on the same queries):
    system -> {"delta", "ci95_low", "ci95_high", "wins", "ties", "losses"}."""
    others = [name for name in per_query if name != baseline]
    if not others:
        return {}
    deltas = np.stack([_deltas(per_query[name], per_query[baseline]) for name in others])
    means = resampled_means(deltas, resamples, seed)
    result = {}
    for row, name in enumerate(others):
        low, high = percentile_interval(means[row])
        wins, ties, losses = wins_ties_losses(per_query[name], per_query[baseline])
        result[name] = {"delta": float(deltas[row].mean()), "ci95_low": low, "ci95_high": high,
                        "wins": wins, "ties": ties, "losses": losses}
    return result


def _deltas(system: dict[str, float], baseline: dict[str, float]) -> np.ndarray:
    return np.array([system[qid] - baseline[qid] for qid in baseline])
