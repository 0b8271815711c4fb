"""Metrics of the seeds: macro/weighted F1 overall, by frequency group and polyphony (Mix2), mAP,
accuracy and balanced accuracy for single-label tasks (seed 002), and ADD's embedding statistics
(intra/inter-class mean and coefficient of variation of angular distance, seed 001)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from anuraflow.evaluate.ranking import accuracy, auroc, average_precision, balanced_accuracy

CONVENTIONS = ("active", "all")  # macro F1 over active species / over all species


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    return np.divide(num.astype(float), den, out=np.zeros(len(num)), where=den > 0)


def species_counts(y_true: np.ndarray, y_pred: np.ndarray) -> tuple[np.ndarray, ...]:
    """True positives, false positives and false negatives of every column [N, C].

    Counted directly rather than through `precision_recall_fscore_support`: handed a single
    column, scikit-learn sees a binary problem and scores "absent" and "present" as two
    classes, which made a one-species group's macro F1 the mean of two numbers.
    """
    t, p = (np.asarray(a).astype(bool) for a in (y_true, y_pred))
    if t.ndim == 1:  # one species given as a vector
        t, p = t[:, None], p[:, None]
    return (t & p).sum(axis=0), (~t & p).sum(axis=0), (t & ~p).sum(axis=0)


def species_f1(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """F1 of every column as its own binary problem, 2 tp / (2 tp + fp + fn); 0 where the
    column has no positive and no prediction (scikit-learn's zero_division=0)."""
    tp, fp, fn = species_counts(y_true, y_pred)
    return _ratio(2 * tp, 2 * tp + fp + fn)


def per_species_scores(
    y_true: np.ndarray, y_pred: np.ndarray, codes: list[str], y_score: np.ndarray | None = None
) -> dict[str, dict]:
    """Precision, recall, F1 and support (positive windows) per species, 0 where undefined;
    with scores also average precision (null for a species with no positive window) and
    AUROC (null without a positive or without a negative window)."""
    tp, fp, fn = species_counts(y_true, y_pred)
    precision, recall, f1 = _ratio(tp, tp + fp), _ratio(tp, tp + fn), species_f1(y_true, y_pred)
    out = {}
    for i, c in enumerate(codes):
        row = {
            "precision": float(precision[i]),
            "recall": float(recall[i]),
            "f1": float(f1[i]),
            "support": int(tp[i] + fn[i]),
        }
        if y_score is not None:
            row["ap"] = average_precision(y_true[:, i], y_score[:, i])
            row["auroc"] = auroc(y_true[:, i], y_score[:, i])
        out[c] = row
    return out


def macro_f1(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    columns: np.ndarray | None = None,
    over: str = "active",
) -> float:
    """Mean F1 over species (columns).

    `over="active"`: the species with at least one positive window, as the Mix2 paper's text
    says ("the assessment is exclusively conducted on the active classes"); NaN when none is
    active. `over="all"`: every species, an absent one counting F1 = 0, as the authors'
    evaluation code (torchmetrics' macro F1) computed the published numbers; NaN when there
    are no columns.
    """
    if over not in CONVENTIONS:
        raise ValueError(f"over must be one of {CONVENTIONS}, got {over!r}")
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if columns is not None:
        y_true, y_pred = y_true[:, columns], y_pred[:, columns]
    keep = y_true.sum(axis=0) > 0 if over == "active" else np.ones(y_true.shape[1], dtype=bool)
    if not keep.any():
        return float("nan")
    return float(np.mean(species_f1(y_true[:, keep], y_pred[:, keep])))


def group_macro_f1(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    codes: list[str],
    groups: Mapping[str, str],
    over: str = "active",
) -> dict[str, float]:
    """Macro F1 over all species and within each frequency group (Table I of Mix2)."""
    out = {"all": macro_f1(y_true, y_pred, over=over)}
    for group in ("frequent", "common", "rare"):
        cols = np.array([i for i, c in enumerate(codes) if groups.get(c) == group], dtype=int)
        out[group] = macro_f1(y_true, y_pred, cols, over) if len(cols) else float("nan")
    return out


def f1_by_polyphony(y_true: np.ndarray, y_pred: np.ndarray) -> dict[int, float]:
    """Macro F1 over active species among windows with exactly k species active, for each
    k >= 1 (Mix2 Fig. 3). Active species only: a level holds few species, and counting every
    absent one as 0 would measure how many species the level lacks, not the classifier."""
    poly = y_true.sum(axis=1)
    return {
        int(k): macro_f1(y_true[poly == k], y_pred[poly == k]) for k in np.unique(poly) if k > 0
    }


def weighted_f1(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """F1 per class weighted by its support (positive windows); NaN when no class is active."""
    support = y_true.sum(axis=0)
    if support.sum() == 0:
        return float("nan")
    return float(np.sum(species_f1(y_true, y_pred) * support) / support.sum())


def mean_average_precision(y_true: np.ndarray, y_score: np.ndarray) -> float:
    """Mean over active classes of average precision (area under the precision-recall curve)."""
    active = y_true.sum(axis=0) > 0
    if not active.any():
        return float("nan")
    return float(
        np.mean([average_precision(y_true[:, j], y_score[:, j]) for j in np.flatnonzero(active)])
    )


def macro_auroc(y_true: np.ndarray, y_score: np.ndarray) -> float:
    """Mean AUROC over the species with both positive and negative windows (NaN if none)."""
    values = [auroc(y_true[:, j], y_score[:, j]) for j in range(y_true.shape[1])]
    values = [v for v in values if v is not None]
    return float(np.mean(values)) if values else float("nan")


def single_label_scores(true_class: np.ndarray, pred_class: np.ndarray) -> dict[str, float]:
    """Accuracy and balanced accuracy (mean recall over the classes present) of class indices."""
    return {
        "accuracy": accuracy(true_class, pred_class),
        "balanced_accuracy": balanced_accuracy(true_class, pred_class),
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
    """Silhouette coefficient (Euclidean) of penultimate-layer embeddings of one-species
    windows (seed 003): scikit-learn's `silhouette_score`, in NumPy so that a training job does
    not import scikit-learn and SciPy (about 1 s of CPU a job). A window alone in its class
    scores 0, as there."""
    keep = np.flatnonzero(classes >= 0)[:max_windows]
    labels = np.unique(classes[keep], return_inverse=True)[1]
    n_labels = labels.max() + 1 if len(keep) else 0
    if n_labels < 2 or len(keep) <= n_labels:
        return float("nan")
    x = embeddings[keep].astype(np.float64)
    sq = (x * x).sum(axis=1)
    dist = np.sqrt(np.maximum(sq[:, None] + sq[None, :] - 2 * x @ x.T, 0))
    np.fill_diagonal(dist, 0)
    sizes = np.bincount(labels)
    sums = dist @ np.eye(n_labels)[labels]  # [window, class]: summed distances
    own = sizes[labels]
    rows = np.arange(len(keep))
    intra = sums[rows, labels] / np.maximum(own - 1, 1)
    means = sums / sizes
    means[rows, labels] = np.inf
    inter = means.min(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        scores = np.nan_to_num((inter - intra) / np.maximum(intra, inter))
    return float(np.where(own > 1, scores, 0).mean())


def tsne_points(
    embeddings: np.ndarray, classes: np.ndarray, seed: int, max_windows: int = 500
) -> dict:
    """2-D t-SNE of the embeddings of up to `max_windows` one-species windows (seed 003, Fig 2).
    Run by the report for the run it shows of each experiment, not by the training job."""
    from sklearn.manifold import TSNE

    keep = np.flatnonzero(classes >= 0)[:max_windows]
    if len(keep) < 5:
        return {"x": [], "y": [], "class": []}
    xy = TSNE(2, perplexity=min(30.0, (len(keep) - 1) / 3), random_state=seed).fit_transform(
        embeddings[keep]
    )
    return {"x": xy[:, 0].tolist(), "y": xy[:, 1].tolist(), "class": classes[keep].tolist()}


def class_index(labels: np.ndarray) -> np.ndarray:
    """One class per row for rows with exactly one positive label, -1 for the others."""
    one = labels.sum(axis=1) == 1
    return np.where(one, labels.argmax(axis=1), -1)
