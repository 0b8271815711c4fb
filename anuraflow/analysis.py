"""What the report computes from the runs' test predictions: recording-bootstrap intervals,
paired differences between configurations, per-site metrics and the co-detection matrix."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from anuraflow.bootstrap import bootstrap_interval, paired_difference
from anuraflow.evaluation import decide
from anuraflow.metrics import macro_f1, mean_average_precision


@dataclass
class RunPredictions:
    """One run's test windows: who they are, the truth, the scores and the decisions."""

    experiment: str
    seed: int
    fold: int | None
    windows: pd.DataFrame  # window_id, recording_id, site, start_s, end_s, polyphony
    codes: list[str]
    true: np.ndarray
    prob: np.ndarray
    pred: np.ndarray
    multilabel: bool

    def macro_f1(self, idx: np.ndarray) -> float:
        return macro_f1(self.true[idx], self.pred[idx])

    def macro_ap(self, idx: np.ndarray) -> float:
        return mean_average_precision(self.true[idx], self.prob[idx])


def run_predictions(run: dict, path: str) -> RunPredictions:
    """A run's predictions.parquet with its metrics (codes, task, fixed threshold)."""
    table = pd.read_parquet(path)
    codes = run["codes"]
    true = table[[f"true_{c}" for c in codes]].to_numpy().astype(int)
    prob = table[[f"prob_{c}" for c in codes]].to_numpy()
    return RunPredictions(
        run["experiment"],
        run["seed"],
        run.get("fold"),
        table.drop(columns=[c for c in table if c.startswith(("true_", "prob_"))]),
        codes,
        true,
        prob,
        decide(prob, run["task"], run["threshold"]),
        run["task"] != "multiclass",
    )


def run_intervals(p: RunPredictions, n_boot: int, seed: int) -> dict:
    """95 % recording-bootstrap intervals of macro F1 (active species) and, multi-label,
    macro AP."""
    recordings = p.windows["recording_id"].to_numpy()
    out = {"macro_f1": bootstrap_interval(recordings, p.macro_f1, n_boot, seed)}
    if p.multilabel:
        out["macro_ap"] = bootstrap_interval(recordings, p.macro_ap, n_boot, seed)
    return out


def paired_intervals(
    a: list[RunPredictions], b: list[RunPredictions], n_boot: int, seed: int
) -> dict | None:
    """Difference in macro F1 between two configurations (mean over each one's runs), paired
    by test recording; None when their test windows differ (different splits or tasks)."""
    ids = a[0].windows["window_id"].to_numpy()
    if any(not np.array_equal(r.windows["window_id"].to_numpy(), ids) for r in a + b):
        return None

    def mean_f1(runs):
        return lambda idx: float(np.nanmean([r.macro_f1(idx) for r in runs]))

    recordings = a[0].windows["recording_id"].to_numpy()
    return paired_difference(recordings, mean_f1(a), mean_f1(b), n_boot, seed)


def per_site_scores(p: RunPredictions) -> pd.DataFrame:
    """Per site of the test windows: recordings, windows, macro F1 (active species) and,
    multi-label, macro AP."""
    rows = []
    for site, part in p.windows.groupby("site", sort=True):
        idx = part.index.to_numpy()
        rows.append(
            {
                "experiment": p.experiment,
                "seed": p.seed,
                "fold": p.fold,
                "site": site,
                "recordings": part["recording_id"].nunique(),
                "windows": len(idx),
                "macro_f1": p.macro_f1(idx),
                "macro_ap": p.macro_ap(idx) if p.multilabel else np.nan,
            }
        )
    return pd.DataFrame(rows)


def codetection_matrix(p: RunPredictions) -> pd.DataFrame:
    """[A, B]: share of the windows where A is present and B absent in which B is predicted
    (what A's calls make the model say); NaN where no window has A without B, and on the
    diagonal."""
    t, d = p.true.astype(bool), p.pred.astype(bool)
    k = len(p.codes)
    out = np.full((k, k), np.nan)
    for a in range(k):
        for b in range(k):
            if a == b:
                continue
            mask = t[:, a] & ~t[:, b]
            if mask.any():
                out[a, b] = d[mask, b].mean()
    return pd.DataFrame(out, index=p.codes, columns=p.codes)
