"""Paired tests between two configurations' runs over the same seeds: Student's t-test
(seed 003, 0.05 level) and the exact Wilcoxon signed-rank test, with Holm's adjustment for a
family of them (one per round of a benchmark)."""

from __future__ import annotations

import math

import numpy as np
from scipy.special import betainc
from scipy.stats import rankdata


def paired_ttest(a: list[float], b: list[float]) -> dict:
    """t = mean(d) / (sd(d) / sqrt(n)) on the paired differences d = a - b, n - 1 degrees of
    freedom; two-tailed p = I_{df / (df + t^2)}(df / 2, 1 / 2) (regularised incomplete beta)."""
    d = np.asarray(a, float) - np.asarray(b, float)
    n = len(d)
    if n < 2:
        raise ValueError(f"a paired t-test needs at least 2 pairs, got {n}")
    df = n - 1
    sd = d.std(ddof=1)
    mean = float(d.mean())
    if sd == 0:
        t = math.copysign(math.inf, mean) if mean else math.nan
        p = 0.0 if mean else 1.0
    else:
        t = mean / (sd / math.sqrt(n))
        p = float(betainc(df / 2, 0.5, df / (df + t * t)))
    return {"n": n, "mean_difference": mean, "t": float(t), "df": df, "p": p}


def wilcoxon_signed_rank(a: list[float], b: list[float]) -> dict:
    """Two-sided exact Wilcoxon signed-rank test on the paired differences d = a - b.

    Zero differences are dropped (Wilcoxon's own rule); tied |d| share their mean rank. The
    null distribution of W+ (the sum of the positive differences' ranks) is enumerated exactly
    over the 2^n sign patterns, with the ranks as they are (ties included), so the p-value is
    exact for any n a benchmark has (tens of seeds): p = min(1, 2 min(P(W+ <= w), P(W+ >= w))).
    No pair left: p = 1."""
    d = np.asarray(a, float) - np.asarray(b, float)
    wins, losses = int((d > 0).sum()), int((d < 0).sum())
    d = d[d != 0]
    out = {"n": len(d), "wins": wins, "losses": losses, "median_difference": None,
           "w_plus": 0.0, "p": 1.0}  # fmt: skip
    if len(d) == 0:
        return out
    doubled = np.rint(2 * rankdata(np.abs(d))).astype(int)  # mean ranks are halves
    counts = np.zeros(doubled.sum() + 1)
    counts[0] = 1.0
    for r in doubled:  # counts[s]: sign patterns whose positive ranks sum to s / 2
        counts[r:] = counts[r:] + counts[:-r].copy()
    w2 = int(doubled[d > 0].sum())
    total = counts.sum()
    p = 2 * min(counts[: w2 + 1].sum(), counts[w2:].sum()) / total
    out.update(median_difference=float(np.median(d)), w_plus=w2 / 2, p=float(min(1.0, p)))
    return out


def holm(p_values: list[float]) -> list[float]:
    """Holm's step-down adjustment of a family of p-values (same order as given): the k-th
    smallest becomes max over j <= k of min(1, (m - j + 1) p_(j))."""
    p = np.asarray(p_values, float)
    order = np.argsort(p, kind="stable")
    scaled = np.minimum(1.0, (len(p) - np.arange(len(p))) * p[order])
    adjusted = np.empty_like(p)
    adjusted[order] = np.maximum.accumulate(scaled)
    return adjusted.tolist()
