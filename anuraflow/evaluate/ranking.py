"""Threshold-free scores of one species, and single-label accuracies, in numpy: average
precision, area under the ROC curve, accuracy and balanced accuracy. They follow scikit-learn's
definitions (its functions are the tests' independent reference); computing them here keeps
scikit-learn, and the SciPy it imports, out of every training job (0.6 s each;
benchmarks/speed/job_imports.py)."""

from __future__ import annotations

import numpy as np


def _thresholds(y_true: np.ndarray, y_score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cumulative true and false positives at each distinct score, from the highest down:
    calling every window scored at least that high (tied windows are called together)."""
    order = np.argsort(-np.asarray(y_score, dtype=float), kind="mergesort")
    scores = np.asarray(y_score, dtype=float)[order]
    labels = np.asarray(y_true).astype(bool)[order]
    last_of_tie = np.r_[np.flatnonzero(np.diff(scores) != 0), len(scores) - 1]
    tp = np.cumsum(labels)[last_of_tie].astype(float)
    return tp, (last_of_tie + 1) - tp


def average_precision(y_true: np.ndarray, y_score: np.ndarray) -> float | None:
    """Area under the precision-recall curve as a step sum, sum_n (R_n - R_n-1) P_n over the
    distinct scores (scikit-learn's `average_precision_score`); None with no positive."""
    if np.asarray(y_true).sum() == 0:
        return None
    tp, fp = _thresholds(y_true, y_score)
    precision, recall = tp / (tp + fp), tp / tp[-1]
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def precision_recall_points(
    y_true: np.ndarray, y_score: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The precision-recall curve's points, precision and recall, from the lowest threshold to
    the highest, ending at (1, 0), as scikit-learn's `precision_recall_curve` returns them (for
    the report's figure); a species needs a positive window."""
    tp, fp = _thresholds(y_true, y_score)
    return np.r_[(tp / (tp + fp))[::-1], 1.0], np.r_[(tp / tp[-1])[::-1], 0.0]


def auroc(y_true: np.ndarray, y_score: np.ndarray) -> float | None:
    """Area under the ROC curve by the trapezoid rule over the distinct scores (ties count
    half, as in scikit-learn's `roc_auc_score`); None when the windows are all of one kind."""
    y_true = np.asarray(y_true)
    positives = int(y_true.astype(bool).sum())
    if positives == 0 or positives == len(y_true):
        return None
    tp, fp = _thresholds(y_true, y_score)
    tpr, fpr = np.r_[0.0, tp / tp[-1]], np.r_[0.0, fp / fp[-1]]
    return float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))


def accuracy(true_class: np.ndarray, pred_class: np.ndarray) -> float:
    """Share of windows whose class is predicted; NaN with no window."""
    true_class = np.asarray(true_class)
    if len(true_class) == 0:
        return float("nan")
    return float(np.mean(true_class == np.asarray(pred_class)))


def balanced_accuracy(true_class: np.ndarray, pred_class: np.ndarray) -> float:
    """Mean recall over the classes present in `true_class` (a class only predicted counts
    nowhere, as in scikit-learn's `balanced_accuracy_score`); NaN with no window."""
    true_class, pred_class = np.asarray(true_class), np.asarray(pred_class)
    if len(true_class) == 0:
        return float("nan")
    recalls = [np.mean(pred_class[true_class == c] == c) for c in np.unique(true_class)]
    return float(np.mean(recalls))
