"""Uncertainty that respects recordings: a bootstrap over test recordings, not windows.

Windows of one recording share its site, night, weather and calling bouts, and overlapping
windows share audio; resampling windows as if they were independent gives intervals far too
narrow. Each bootstrap sample draws the test recordings with replacement and keeps every
window of each drawn recording (a recording drawn twice counts twice). Seeded: a report is
reproducible.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np

N_BOOT, LEVEL = 1000, 0.95


def recording_samples(recordings: np.ndarray, n_boot: int, seed: int) -> Iterator[np.ndarray]:
    """Window positions of each bootstrap sample: recordings drawn with replacement (as
    many as there are), all windows of each."""
    names, inverse = np.unique(np.asarray(recordings), return_inverse=True)
    windows_of = [np.flatnonzero(inverse == i) for i in range(len(names))]
    rng = np.random.default_rng(seed)
    for _ in range(n_boot):
        drawn = rng.integers(0, len(names), len(names))
        yield np.concatenate([windows_of[i] for i in drawn]) if len(names) else np.zeros(0, int)


def _interval(values: np.ndarray, level: float) -> tuple[float | None, float | None]:
    values = values[~np.isnan(values)]
    if len(values) == 0:
        return None, None
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(values, [tail, 100 - tail])
    return float(low), float(high)


def bootstrap_interval(
    recordings: np.ndarray,
    statistic: Callable[[np.ndarray], float],
    n_boot: int = N_BOOT,
    seed: int = 0,
    level: float = LEVEL,
) -> dict:
    """Percentile interval of `statistic(window positions)` over recording resamples:
    {estimate (on every window), low, high, level, n_boot, undefined (samples where the
    statistic was NaN, e.g. no positive window at all; left out of the percentiles)}."""
    everything = np.arange(len(recordings))
    values = np.array([statistic(idx) for idx in recording_samples(recordings, n_boot, seed)])
    low, high = _interval(values, level)
    estimate = statistic(everything) if len(everything) else float("nan")
    return {
        "estimate": None if np.isnan(estimate) else float(estimate),
        "low": low,
        "high": high,
        "level": level,
        "n_boot": n_boot,
        "undefined": int(np.isnan(values).sum()),
    }


def paired_difference(
    recordings: np.ndarray,
    statistic_a: Callable[[np.ndarray], float],
    statistic_b: Callable[[np.ndarray], float],
    n_boot: int = N_BOOT,
    seed: int = 0,
    level: float = LEVEL,
) -> dict:
    """Interval of statistic_a - statistic_b over the same recording resamples (two
    configurations scored on the same test windows), as `bootstrap_interval`."""
    return bootstrap_interval(
        recordings, lambda idx: statistic_a(idx) - statistic_b(idx), n_boot, seed, level
    )
