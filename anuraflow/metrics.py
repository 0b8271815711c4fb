"""Metrics of the seeds: macro/weighted F1 overall, by frequency group and polyphony (Mix2), mAP,
accuracy and balanced accuracy for single-label tasks (seed 002), and ADD's embedding statistics
(intra/inter-class mean and coefficient of variation of angular distance, seed 001)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    balanced_accuracy_score,
    precision_recall_fscore_support,
    silhouette_score,
)


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


def weighted_f1(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """F1 per class weighted by its support (positive windows); NaN when no class is active."""
    support = y_true.sum(axis=0)
    if support.sum() == 0:
        return float("nan")
    _, _, f, _ = precision_recall_fscore_support(
        y_true, y_pred, average=None, labels=range(y_true.shape[1]), zero_division=0
    )
    return float(np.sum(f * support) / support.sum())


def mean_average_precision(y_true: np.ndarray, y_score: np.ndarray) -> float:
    """Mean over active classes of average precision (area under the precision-recall curve)."""
    active = y_true.sum(axis=0) > 0
    if not active.any():
        return float("nan")
    return float(
        np.mean(
            [average_precision_score(y_true[:, j], y_score[:, j]) for j in np.flatnonzero(active)]
        )
    )


def single_label_scores(true_class: np.ndarray, pred_class: np.ndarray) -> dict[str, float]:
    """Accuracy and balanced accuracy (mean recall over the classes present) of class indices."""
    if len(true_class) == 0:
        return {"accuracy": float("nan"), "balanced_accuracy": float("nan")}
    return {
        "accuracy": float(accuracy_score(true_class, pred_class)),
        "balanced_accuracy": float(balanced_accuracy_score(true_class, pred_class)),
    }


def embedding_statistics(
    embeddings: np.ndarray, classes: np.ndarray, max_per_class: int = 200, seed: int = 0
) -> dict:
    """Seed 001's embedding statistics: mean and coefficient of variation (std / mean) of the
    angular distance d_c = 1 - cos between embeddings, within each class and between each pair
    of classes; summarised as their means over classes (intra) and class pairs (inter).

    `classes` holds one class index per embedding (-1: leave out). At most `max_per_class`
    embeddings per class are drawn, so the cost stays bounded.
    """
    rng = np.random.default_rng(seed)
    members = {}
    for c in np.unique(classes[classes >= 0]):
        idx = np.flatnonzero(classes == c)
        if len(idx) > max_per_class:
            idx = np.sort(rng.choice(idx, max_per_class, replace=False))
        members[int(c)] = idx
    if not members:
        return {"intra_mean": None, "intra_cv": None, "inter_mean": None, "inter_cv": None}
    unit = embeddings / np.maximum(np.linalg.norm(embeddings, axis=1, keepdims=True), 1e-12)

    def mean_cv(d: np.ndarray) -> tuple[float, float]:
        if d.size == 0:
            return float("nan"), float("nan")
        mu = float(d.mean())
        return mu, float(d.std(ddof=1) / mu) if d.size > 1 and mu > 0 else float("nan")

    intra, inter = {}, {}
    keys = sorted(members)
    for a_pos, a in enumerate(keys):
        ea = unit[members[a]]
        d = 1 - ea @ ea.T
        intra[a] = mean_cv(d[np.triu_indices(len(ea), 1)])
        for b in keys[a_pos + 1 :]:
            inter[(a, b)] = mean_cv((1 - ea @ unit[members[b]].T).ravel())

    def avg(values) -> float | None:
        values = [v for v in values if not np.isnan(v)]
        return float(np.mean(values)) if values else None

    return {
        "intra_mean": avg(v[0] for v in intra.values()),
        "intra_cv": avg(v[1] for v in intra.values()),
        "inter_mean": avg(v[0] for v in inter.values()),
        "inter_cv": avg(v[1] for v in inter.values()),
        "n_classes": len(keys),
        "per_class": {str(c): {"mean": m, "cv": v} for c, (m, v) in intra.items()},
    }


def silhouette(embeddings: np.ndarray, classes: np.ndarray, max_windows: int = 2000) -> float:
    """Silhouette coefficient of penultimate-layer embeddings of one-species windows (seed 003)."""
    keep = np.flatnonzero(classes >= 0)[:max_windows]
    if len(set(classes[keep])) < 2 or len(keep) <= len(set(classes[keep])):
        return float("nan")
    return float(silhouette_score(embeddings[keep], classes[keep]))


def tsne_points(
    embeddings: np.ndarray, classes: np.ndarray, seed: int, max_windows: int = 500
) -> dict:
    """2-D t-SNE of the embeddings of up to `max_windows` one-species windows (seed 003, Fig 2)."""
    from sklearn.manifold import TSNE

    keep = np.flatnonzero(classes >= 0)[:max_windows]
    if len(keep) < 5:
        return {"x": [], "y": [], "class": []}
    xy = TSNE(2, perplexity=min(30.0, (len(keep) - 1) / 3), random_state=seed).fit_transform(
        embeddings[keep]
    )
    return {"x": xy[:, 0].tolist(), "y": xy[:, 1].tolist(), "class": classes[keep].tolist()}
