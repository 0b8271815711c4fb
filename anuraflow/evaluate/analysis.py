"""What the report computes from the runs' test predictions: recording-bootstrap intervals,
paired differences between configurations, per-site metrics and the co-detection matrix."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from anuraflow.evaluate.bootstrap import bootstrap_interval, paired_difference
from anuraflow.evaluate.scoring import decide


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
        """Macro F1 over the species active among windows `idx` (repeats count), as
        `metrics.macro_f1` on those rows, from per-window counts (no copy of the rows)."""
        w = np.bincount(idx, minlength=len(self.true)).astype(float)
        tp, fp, pos = (w @ m for m in self._counts)
        active = pos > 0
        if not active.any():
            return float("nan")
        fn = pos - tp
        den = 2 * tp + fp + fn
        f1 = np.divide(2 * tp, den, out=np.zeros_like(tp), where=den > 0)
        return float(f1[active].mean())

    def macro_ap(self, idx: np.ndarray) -> float:
        """Mean AP over the species active among windows `idx` (repeats count), as
        `metrics.mean_average_precision` on those rows, in O(windows) per species."""
        return self._ap.macro(np.bincount(idx, minlength=len(self.true)))

    @cached_property
    def _counts(self) -> list[np.ndarray]:
        """Per window and species: true positive, false positive, positive (0/1)."""
        t, d = self.true > 0, self.pred > 0
        return [(t & d).astype(float), (~t & d).astype(float), t.astype(float)]

    @cached_property
    def _ap(self) -> WeightedAP:
        return WeightedAP(self.true, self.prob)


class WeightedAP:
    """Average precision of every species with each window counted `weights` times: the
    bootstrap's resamples without re-sorting (1000 resamples x 42 species with scikit-learn
    took minutes per run). Equal to scikit-learn's `average_precision_score` on the repeated
    rows (tested): AP = sum over positive windows of their weight times the precision at the
    lowest score tied with theirs, over the weighted positives."""

    def __init__(self, true: np.ndarray, prob: np.ndarray):
        # per species (rows), windows by decreasing score
        self.order = np.argsort(prob.T, axis=1, kind="mergesort")[:, ::-1]
        scores = np.take_along_axis(prob.T, self.order, axis=1)
        self.labels = np.take_along_axis(true.T, self.order, axis=1).astype(float)
        n = scores.shape[1]
        # the last position of each position's tie group
        is_end = np.concatenate(
            [scores[:, 1:] != scores[:, :-1], np.ones((len(scores), 1), bool)], 1
        )
        ends = np.where(is_end, np.arange(n), n)
        group_end = np.minimum.accumulate(ends[:, ::-1], axis=1)[:, ::-1]
        self.rows, self.cols = np.nonzero(self.labels)  # the positive windows
        self.ends = group_end[self.rows, self.cols]

    def per_species(self, weights: np.ndarray) -> list[float | None]:
        w = weights[self.order].astype(float)
        called = np.cumsum(w, axis=1)
        tp = np.cumsum(w * self.labels, axis=1)
        at = (self.rows, self.ends)
        safe = np.maximum(called[at], 1e-300)
        mass = w[self.rows, self.cols] * tp[at] / safe
        num = np.bincount(self.rows, weights=mass, minlength=len(w))
        positives = tp[:, -1] if tp.shape[1] else np.zeros(len(w))
        return [float(a / p) if p > 0 else None for a, p in zip(num, positives, strict=True)]

    def macro(self, weights: np.ndarray) -> float:
        values = [v for v in self.per_species(weights) if v is not None]
        return float(np.mean(values)) if values else float("nan")


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
    macro AP; with the number of test recordings."""
    recordings = p.windows["recording_id"].to_numpy()
    out = {
        "test_recordings": int(len(np.unique(recordings))),
        "macro_f1": bootstrap_interval(recordings, p.macro_f1, n_boot, seed),
    }
    if p.multilabel:
        out["macro_ap"] = bootstrap_interval(recordings, p.macro_ap, n_boot, seed)
    return out


def write_run_intervals(
    metrics_path: str, predictions_path: str, out_path: str, n_boot: int, seed: int
) -> dict:
    """Rule run_intervals: one run's intervals as JSON (a job per run: at AnuraSet scale a
    run's 1000 resamples take seconds, the report would add them up)."""
    import json
    from pathlib import Path

    from anuraflow.core.fileio import write_json

    run = json.loads(Path(metrics_path).read_text())
    out = run_intervals(run_predictions(run, predictions_path), n_boot, seed)
    write_json({"n_boot": n_boot, "seed": seed, **out}, out_path)
    return out


def intervals_job(
    metrics_path: str, predictions_path: str, out_path: str, log_path: str, n_boot: int, seed: int
) -> dict:
    """Rule run_intervals, shaped for Snakemake's `run:` directive: a thread of Snakemake's
    own process (a process per run would cost more start-up than its bootstrap; see
    `anuraflow.data.jobs`), so it writes its own log instead of redirecting sys.stdout."""
    from anuraflow.core.fileio import job_log

    with job_log(log_path) as say:
        out = write_run_intervals(metrics_path, predictions_path, out_path, n_boot, seed)
        f1 = out["macro_f1"]
        say(f"{out['test_recordings']} test recordings, {n_boot} resamples: macro F1 {f1}")
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
