"""Evaluating a trained run: decisions, the seeds' metrics, tuned thresholds, prediction tables."""

from __future__ import annotations

import numpy as np
import pandas as pd

from anuraflow.evaluate.metrics import (
    class_index,
    embedding_statistics,
    f1_by_polyphony,
    group_macro_f1,
    macro_auroc,
    mean_average_precision,
    per_species_scores,
    silhouette,
    single_label_scores,
    weighted_f1,
)
from anuraflow.evaluate.thresholds import threshold_vector

PREDICTION_COLUMNS = ["window_id", "recording_id", "site", "start_s", "end_s", "polyphony"]


def decide(prob: np.ndarray, task: str, threshold: float | np.ndarray) -> np.ndarray:
    """0/1 decisions: `prob >= threshold` per species (one number or one per species), or
    the arg-max class for single-label tasks (no threshold)."""
    if task == "multiclass":
        out = np.zeros_like(prob, dtype=int)
        if len(prob):
            out[np.arange(len(prob)), prob.argmax(1)] = 1
        return out
    return (prob >= np.asarray(threshold)).astype(int)


def plain_loss(prob: np.ndarray, true: np.ndarray, task: str) -> float:
    """Unweighted BCE (multi-label) or cross-entropy (single-label) of predictions."""
    import torch  # here: the report and the interval jobs read this module without torch
    from torch import nn

    p = torch.from_numpy(prob).double().clamp(1e-7, 1 - 1e-7)
    t = torch.from_numpy(true).double()
    if task == "multiclass":
        return float(-(t * p.log()).sum(1).mean())
    return float(nn.functional.binary_cross_entropy(p, t))


def decision_metrics(
    true: np.ndarray,
    prob: np.ndarray,
    codes: list[str],
    groups: dict[str, str],
    task: str,
    threshold: float | np.ndarray,
) -> dict:
    """The metrics that depend on the decisions at `threshold`."""
    pred = decide(prob, task, threshold)
    out = {
        "macro_f1": group_macro_f1(true, pred, codes, groups, over="active"),
        "macro_f1_all_species": group_macro_f1(true, pred, codes, groups, over="all"),
        "weighted_f1": weighted_f1(true, pred),
        "per_species": per_species_scores(true, pred, codes, prob),
    }
    if task != "multiclass":
        out["f1_by_polyphony"] = f1_by_polyphony(true, pred)
    return out


def evaluate(
    true: np.ndarray,
    prob: np.ndarray,
    embeddings: np.ndarray,
    codes: list[str],
    groups: dict[str, str],
    settings: dict,
) -> dict:
    """Every metric of the seeds that fits the task, on one subset's windows, at the
    experiment's fixed threshold."""
    task = settings["task"]
    one_species = class_index(true)
    out = {
        **decision_metrics(true, prob, codes, groups, task, settings["threshold"]),
        "embedding_stats": embedding_statistics(embeddings, one_species),
        "silhouette": silhouette(embeddings, one_species),
    }
    if task == "multiclass":
        out.update(single_label_scores(true.argmax(1), prob.argmax(1)))
    else:
        out["map"] = mean_average_precision(true, prob)
        out["macro_auroc"] = macro_auroc(true, prob)
    return out


def tuned_metrics(
    true: np.ndarray,
    prob: np.ndarray,
    codes: list[str],
    groups: dict[str, str],
    thresholds: dict[str, dict] | None,
) -> dict | None:
    """Test metrics at the thresholds tuned on validation (None for single-label tasks,
    which decide by arg-max)."""
    if thresholds is None:
        return None
    return decision_metrics(
        true, prob, codes, groups, "multilabel", threshold_vector(thresholds, codes)
    )


def prediction_table(
    windows: pd.DataFrame, true: np.ndarray, prob: np.ndarray, codes: list[str]
) -> pd.DataFrame:
    """One row per window: its identity, and per species `true_<code>` and `prob_<code>`."""
    out = windows[PREDICTION_COLUMNS].reset_index(drop=True).copy()
    for j, c in enumerate(codes):
        out[f"true_{c}"] = true[:, j].astype(np.uint8)
        out[f"prob_{c}"] = prob[:, j]
    return out


def embedding_sample(
    windows: pd.DataFrame,
    true: np.ndarray,
    embeddings: np.ndarray,
    codes: list[str],
    max_windows: int = 500,
) -> pd.DataFrame:
    """The penultimate-layer embeddings (`e0`, `e1`, ...) of the first `max_windows` windows
    with exactly one species, with that species: what the report's t-SNE maps."""
    classes = class_index(true)
    keep = np.flatnonzero(classes >= 0)[:max_windows]
    out = windows[["window_id"]].iloc[keep].reset_index(drop=True)
    out["species"] = [codes[c] for c in classes[keep]]
    flat = np.asarray(embeddings, dtype=np.float32)
    values = flat.reshape(len(flat), int(np.prod(flat.shape[1:])))[keep]  # none may be kept
    return pd.concat(
        [out, pd.DataFrame(values, columns=[f"e{j}" for j in range(values.shape[1])])], axis=1
    )
