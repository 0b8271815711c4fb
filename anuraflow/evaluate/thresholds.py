"""Per-species decision thresholds, chosen on the validation windows only.

A single threshold (0.5) suits frequent species and misses rare ones, whose scores rarely
reach it. Each species gets the threshold that maximises its F1 on validation; a species
without a validation positive keeps the experiment's fixed threshold. The test split never
chooses anything: test metrics are reported at the fixed and at the tuned thresholds.
"""

from __future__ import annotations

import numpy as np


def best_f1_threshold(true: np.ndarray, prob: np.ndarray) -> tuple[float, float] | None:
    """(threshold, F1) maximising F1 of `prob >= threshold` against 0/1 `true`; None when
    `true` has no positive.

    The best cut is found over the scores that occur (among equal F1s the highest cut, the
    fewest detections); the threshold is then the midpoint of the gap between the lowest
    score called positive and the highest score called negative, not the lowest positive
    score itself, which a new recording's call scoring a hair lower would miss (saturated
    sigmoids make validation positives score exactly 1.0). No score below the cut: the cut.
    """
    true = np.asarray(true).astype(bool)
    prob = np.asarray(prob, dtype=np.float64)
    n_pos = int(true.sum())
    if n_pos == 0:
        return None
    order = np.argsort(-prob, kind="stable")
    p, t = prob[order], true[order]
    # cutting after each distinct score: everything at or above it is called positive
    last_of_value = np.r_[p[1:] != p[:-1], True]
    tp = np.cumsum(t)[last_of_value]
    called = np.flatnonzero(last_of_value) + 1
    f1 = 2 * tp / (called + n_pos)
    best = int(np.argmax(f1))  # first maximum = highest cut
    values = p[last_of_value]
    cut = values[best]
    threshold = (cut + values[best + 1]) / 2 if best + 1 < len(values) else cut
    return float(threshold), float(f1[best])


def tune_thresholds(
    true: np.ndarray, prob: np.ndarray, codes: list[str], fallback: float
) -> dict[str, dict]:
    """code -> {threshold, val_f1, source}: "validation" where the species has validation
    positives, else "fallback" (the fixed `fallback` threshold, val_f1 None)."""
    out = {}
    for j, code in enumerate(codes):
        best = best_f1_threshold(true[:, j], prob[:, j])
        if best is None:
            out[code] = {"threshold": float(fallback), "val_f1": None, "source": "fallback"}
        else:
            out[code] = {"threshold": best[0], "val_f1": best[1], "source": "validation"}
    return out


def threshold_vector(thresholds: dict[str, dict] | float, codes: list[str]) -> np.ndarray:
    """[n_species] thresholds in `codes` order, from a tuned table or one number."""
    if isinstance(thresholds, int | float):
        return np.full(len(codes), float(thresholds))
    missing = [c for c in codes if c not in thresholds]
    if missing:
        raise KeyError(f"no threshold for species {', '.join(missing)}")
    return np.array([thresholds[c]["threshold"] for c in codes], dtype=np.float64)
