"""Multi-label metrics as reported by Mix2: macro F1 overall, by frequency group, by polyphony."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from sklearn.metrics import precision_recall_fscore_support


def per_species_scores(y_true: np.ndarray, y_pred: np.ndarray, codes: list[str]) -> dict[str, dict]:
    """Precision, recall, F1 and support (positive windows) per species; 0 where undefined."""
    p, r, f, s = precision_recall_fscore_support(
        y_true, y_pred, average=None, labels=range(len(codes)), zero_division=0
    )
    return {
        c: {
            "precision": float(p[i]),
            "recall": float(r[i]),
            "f1": float(f[i]),
            "support": int(s[i]),
        }
        for i, c in enumerate(codes)
    }


def macro_f1(y_true: np.ndarray, y_pred: np.ndarray, columns: np.ndarray | None = None) -> float:
    """Mean F1 over the species (columns) that have at least one positive window.

    Species absent from the evaluated windows are left out, as in the AnuraSet benchmark's
    assessment on active classes: their F1 is undefined, not zero. NaN when none is active.
    """
    if columns is not None:
        y_true, y_pred = y_true[:, columns], y_pred[:, columns]
    active = y_true.sum(axis=0) > 0
    if not active.any():
        return float("nan")
    _, _, f, _ = precision_recall_fscore_support(
        y_true[:, active], y_pred[:, active], average=None, zero_division=0
    )
    return float(np.mean(f))


def group_macro_f1(
    y_true: np.ndarray, y_pred: np.ndarray, codes: list[str], groups: Mapping[str, str]
) -> dict[str, float]:
    """Macro F1 over all species and within each frequency group (Table I of Mix2)."""
    out = {"all": macro_f1(y_true, y_pred)}
    for group in ("frequent", "common", "rare"):
        cols = np.array([i for i, c in enumerate(codes) if groups.get(c) == group], dtype=int)
        out[group] = macro_f1(y_true, y_pred, cols) if len(cols) else float("nan")
    return out


def f1_by_polyphony(y_true: np.ndarray, y_pred: np.ndarray) -> dict[int, float]:
    """Macro F1 among windows with exactly k species active, for each k >= 1 (Mix2 Fig. 3)."""
    poly = y_true.sum(axis=1)
    return {
        int(k): macro_f1(y_true[poly == k], y_pred[poly == k]) for k in np.unique(poly) if k > 0
    }
