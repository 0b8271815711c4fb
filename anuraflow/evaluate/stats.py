"""Paired two-tailed Student's t-test between two configurations' runs (seed 003, 0.05 level)."""

from __future__ import annotations

import math

import numpy as np
from scipy.special import betainc


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
