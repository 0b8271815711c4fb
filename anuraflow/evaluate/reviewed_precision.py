"""How precise a species' detections are on a new archive, from a reviewed sample stratified by
score (issue 42; DESIGN.md "A season's archive and what it is worth").

The sample: per species, the archive's windows cut into bins at quantiles of their scores, the
same number of windows drawn from each bin (`stratify`, `draw_sample`); by default each bin
holds half the windows of the one below it, so the reviews go to the scores detections have.
A reviewed window of bin b stands for N_b / n_b windows of the archive (N_b the bin's windows,
n_b its decided ones), as in Navine et al. 2024's call density (Perch's
`call_density.estimate_call_density` weighs each bin's positive rate by the bin's share).
From those weights: the precision of the detections at or above any threshold and the number
of true ones among them (`precision_at`, a ratio estimator; `ReviewedSample.curve`),
recording-bootstrap intervals (`bootstrap_precision`), the lowest threshold whose interval's
lower bound (or estimate) reaches a target (`threshold_for`), and how many more reviews in
which bins would get it there where it falls short (`plan_reviews`). Beside it, Wood &
Kahl 2024's curve: a logistic regression of the decisions on the logit of the score,
P(present | score), with a Wald interval (`fit_logistic`)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

EPS = 1e-6  # scores are clipped to [EPS, 1 - EPS] before the logit


def stratify(scores: np.ndarray, n_bins: int, spacing: str = "top") -> np.ndarray:
    """Bin edges at quantiles of `scores` (a species' scores over the whole archive).
    `spacing` "uniform": the quantiles 0, 1/n, ..., 1 (bins of equal size, Navine et al.'s);
    "top": 0, 1/2, 3/4, 7/8, ..., 1 (each bin half of the one below it, so that the reviews
    go where detections are: at the scores of a threshold; benchmarks/science/validate_loop.py
    measured both). Repeated edges (many equal scores) are merged, so there may be fewer bins."""
    if len(scores) == 0:
        raise ValueError("no scores to stratify")
    if spacing == "uniform":
        levels = np.linspace(0, 1, n_bins + 1)
    elif spacing == "top":
        levels = np.r_[1 - 0.5 ** np.arange(n_bins), 1.0]
    else:
        raise ValueError(f"spacing must be 'uniform' or 'top', not {spacing!r}")
    return np.unique(np.quantile(np.asarray(scores, dtype=float), levels))


def bin_of(scores: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """The bin of each score: i for edges[i] <= score < edges[i + 1], the top edge in the last
    bin; scores outside the edges go to the nearest bin."""
    inner = edges[1:-1]
    return np.searchsorted(inner, np.asarray(scores, dtype=float), side="right")


def draw_sample(
    windows: pd.DataFrame, edges: np.ndarray, per_bin: int, seed: int | list[int]
) -> pd.DataFrame:
    """`per_bin` windows of each bin (all of a smaller bin), drawn with a fixed seed, as rows of
    `windows` (columns window_id, recording_id, score) with their `bin` added. The draw is an
    order over the bin's windows sorted by id: the same archive and seed give the same sample."""
    rng = np.random.default_rng(seed)
    table = windows.sort_values("window_id").reset_index(drop=True)
    table["bin"] = bin_of(table["score"].to_numpy(), edges)
    picked = []
    for b in range(len(edges) - 1):
        members = np.flatnonzero(table["bin"].to_numpy() == b)
        picked.append(members[rng.permutation(len(members))[:per_bin]])
    return table.iloc[np.concatenate(picked)].reset_index(drop=True)


def bin_weights(reviewed_bins: np.ndarray, archive_counts: np.ndarray) -> np.ndarray:
    """The weight of each reviewed window: its bin's windows in the archive (`archive_counts`,
    N_b, counted once per species) over its bin's reviewed windows (N_b / n_b)."""
    reviewed = np.bincount(reviewed_bins, minlength=len(archive_counts))
    return archive_counts[reviewed_bins] / reviewed[reviewed_bins]


def precision_at(
    thresholds: np.ndarray,
    scores: np.ndarray,
    present: np.ndarray,
    weights: np.ndarray,
    sorted_archive: np.ndarray,
) -> pd.DataFrame:
    """Per threshold t: `detections` (archive windows scored >= t, counted in the archive's
    scores, sorted: a bootstrap's thousand draws over millions of windows must not sort them
    a thousand times), `reviewed` (the reviewed ones among them), `precision` (sum of weight x
    present over sum of weight, over the reviewed windows scored >= t; NaN with none) and
    `true_detections` (precision x detections)."""
    t = np.asarray(thresholds, dtype=float)[:, None]
    above = np.asarray(scores, dtype=float)[None, :] >= t
    w = np.asarray(weights, dtype=float)
    hits = above @ (w * np.asarray(present, dtype=float))
    total = above @ w
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(total > 0, hits / total, np.nan)
    detections = len(sorted_archive) - np.searchsorted(sorted_archive, t[:, 0], side="left")
    return pd.DataFrame(
        {
            "threshold": t[:, 0],
            "detections": detections,
            "reviewed": above.sum(axis=1),
            "precision": precision,
            "true_detections": precision * detections,
        }
    )


@dataclass(frozen=True, eq=False)
class ReviewedSample:
    """One species' reviewed windows (`reviewed`: recording_id, score, present) and the
    archive they were drawn from: its windows' scores and the draw's bin edges. What every
    estimate below reads; the bins, the archive's order and its counts are found once."""

    reviewed: pd.DataFrame
    archive_scores: np.ndarray
    edges: np.ndarray

    @cached_property
    def bins(self) -> np.ndarray:
        return bin_of(self.reviewed["score"].to_numpy(), self.edges)

    @cached_property
    def archive_bins(self) -> np.ndarray:
        return bin_of(self.archive_scores, self.edges)

    @cached_property
    def archive_counts(self) -> np.ndarray:
        """N_b: the archive's windows in each bin."""
        return np.bincount(self.archive_bins, minlength=len(self.edges) - 1)

    @cached_property
    def sorted_by_bin(self) -> list[np.ndarray]:
        """Each bin's archive scores, sorted: its windows above a threshold by bisection."""
        order = np.argsort(self.archive_bins, kind="stable")
        scores = np.asarray(self.archive_scores, dtype=float)[order]
        cuts = np.cumsum(self.archive_counts)[:-1]
        return [np.sort(part) for part in np.split(scores, cuts)]

    @cached_property
    def sorted_archive(self) -> np.ndarray:
        return np.sort(np.asarray(self.archive_scores, dtype=float))

    def curve(self, thresholds: np.ndarray, rows: np.ndarray | None = None) -> pd.DataFrame:
        """`precision_at` the thresholds from the reviewed windows (or the rows `rows` of
        them, repeats allowed: a bootstrap draw), weighted by their bins."""
        rows = np.arange(len(self.reviewed)) if rows is None else rows
        return precision_at(
            thresholds,
            self.reviewed["score"].to_numpy()[rows],
            self.reviewed["present"].to_numpy()[rows],
            bin_weights(self.bins[rows], self.archive_counts),
            self.sorted_archive,
        )


def bootstrap_precision(
    sample: ReviewedSample,
    thresholds: np.ndarray,
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.9,
) -> pd.DataFrame:
    """Recording-bootstrap intervals of `precision` and `true_detections` at each threshold:
    the reviewed recordings drawn with replacement, every window of a drawn recording kept,
    the bin weights recomputed. A draw that leaves a reviewed bin empty is drawn again (its
    windows would stand for nobody)."""
    rng = np.random.default_rng(seed)
    needed = np.unique(sample.bins)
    recordings, members = np.unique(sample.reviewed["recording_id"].to_numpy(), return_inverse=True)
    rows = [np.flatnonzero(members == r) for r in range(len(recordings))]
    draws: list[pd.DataFrame] = []
    attempts = 0
    while len(draws) < n_boot:
        attempts += 1
        if attempts > 20 * n_boot:
            raise ValueError("too few reviewed recordings per bin for a bootstrap")
        take = np.concatenate([rows[r] for r in rng.integers(0, len(recordings), len(rows))])
        if np.isin(needed, sample.bins[take]).all():
            draws.append(sample.curve(thresholds, take))
    tail = (1 - level) / 2
    out = {"threshold": np.asarray(thresholds, dtype=float)}
    for column in ("precision", "true_detections"):
        values = np.stack([d[column].to_numpy() for d in draws])
        out[f"{column}_low"] = np.nanquantile(values, tail, axis=0)
        out[f"{column}_high"] = np.nanquantile(values, 1 - tail, axis=0)
    return pd.DataFrame(out)


def beta_precision(
    sample: ReviewedSample,
    thresholds: np.ndarray,
    n_draws: int = 4000,
    seed: int = 0,
    level: float = 0.9,
    prior: float = 0.5,
) -> pd.DataFrame:
    """Posterior intervals of `precision` and `true_detections` at each threshold, bin by bin
    as Perch's call density does: within bin b, the share present among its archive windows
    scored >= t is Beta(k + prior, m - k + prior) (k present of the m reviewed windows of b
    scored >= t), and the archive's count of those windows is known exactly, so precision(t)
    is the count-weighted mean of the bins' draws. A bin with such windows but no review
    above t draws from the prior alone (wide, as it should be). Windows are taken as
    independent: calls clustered in recordings make these intervals too narrow."""
    rng = np.random.default_rng(seed)
    t = np.asarray(thresholds, dtype=float)
    n_bins = len(sample.edges) - 1
    bins = sample.bins
    scores = sample.reviewed["score"].to_numpy()
    present = sample.reviewed["present"].to_numpy()
    out = {"threshold": t}
    low, high, tlow, thigh = (np.full(len(t), np.nan) for _ in range(4))
    for i, threshold in enumerate(t):
        counts = np.array([len(b) - np.searchsorted(b, threshold) for b in sample.sorted_by_bin])
        above = scores >= threshold
        m = np.bincount(bins[above], minlength=n_bins)
        k = np.bincount(bins[above], weights=present[above], minlength=n_bins)
        live = counts > 0
        if not live.any():
            continue
        draws = rng.beta(k[live] + prior, m[live] - k[live] + prior, (n_draws, live.sum()))
        true = draws @ counts[live]
        share = true / counts[live].sum()
        tail = (1 - level) / 2
        low[i], high[i] = np.quantile(share, [tail, 1 - tail])
        tlow[i], thigh[i] = np.quantile(true, [tail, 1 - tail])
    out.update(precision_low=low, precision_high=high,
               true_detections_low=tlow, true_detections_high=thigh)  # fmt: skip
    return pd.DataFrame(out)


INTERVALS = ("wider", "bootstrap", "beta")
BOUNDS = ["precision_low", "precision_high", "true_detections_low", "true_detections_high"]


def precision_intervals(
    sample: ReviewedSample,
    thresholds: np.ndarray,
    kind: str = "wider",
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.9,
) -> pd.DataFrame:
    """The intervals `kind` names at each threshold: "bootstrap" (`bootstrap_precision`),
    "beta" (`beta_precision`), or "wider" (default): at each threshold the lower of the two
    lows and the higher of the two highs. The bootstrap is too narrow near a precision of 1,
    the Beta posterior when calls cluster in recordings (benchmarks/science/validate_loop.py); the
    wider of the two covers both, the Beta one alone where no bootstrap is possible."""
    if kind not in INTERVALS:
        raise ValueError(f"interval must be one of {', '.join(INTERVALS)}, not {kind!r}")
    beta = (
        None if kind == "bootstrap" else beta_precision(sample, thresholds, seed=seed, level=level)
    )
    if kind == "beta":
        return beta
    try:
        boot = bootstrap_precision(sample, thresholds, n_boot, seed, level)
    except ValueError:
        if kind == "bootstrap":
            raise
        return beta
    if kind == "bootstrap":
        return boot
    out = boot.copy()
    for column in BOUNDS:
        pick = np.fmin if column.endswith("_low") else np.fmax
        out[column] = pick(boot[column].to_numpy(), beta[column].to_numpy())
    return out


THRESHOLD_RULES = {"lower_bound": "precision_low", "estimate": "precision"}


def threshold_for(curve: pd.DataFrame, target: float, column: str = "precision") -> float | None:
    """The lowest threshold of `curve` at which `column` (the estimate, or "precision_low", the
    interval's lower bound) reaches `target`: walking down from the highest threshold, from the
    first at which it reaches the target, as long as it does. The thresholds above that first
    one rest on a few reviews and are passed over (one false window at the very top must not
    leave a species without a threshold); below it, the first that falls short ends the walk,
    so a lucky rise of the curve further down cannot lower the threshold. None where no
    threshold reaches it; thresholds without a reviewed window above (NaN) are no evidence."""
    ordered = curve.dropna(subset=[column]).sort_values("threshold", ascending=False)
    chosen = None
    for threshold, value in zip(ordered["threshold"], ordered[column], strict=True):
        if value >= target:
            chosen = float(threshold)
        elif chosen is not None:
            break
    return chosen


@dataclass(frozen=True)
class ReviewPlan:
    """How many more windows to draw from each bin (`draws`, by bin index) before the interval's
    lower bound at `threshold` would reach the target, if each bin's share present above the
    threshold stayed as reviewed so far; or why no number of reviews would, or why none is
    needed (`note`)."""

    threshold: float | None
    draws: dict[int, int]
    note: str | None = None

    @property
    def total(self) -> int | None:
        return sum(self.draws.values()) if self.note is None else None

    def describe(self) -> str:
        if self.note is not None:
            return self.note
        bins = ", ".join(f"bin {b + 1}: {n}" for b, n in sorted(self.draws.items()) if n)
        return f"{self.total} more reviews ({bins}) at threshold {self.threshold:.3g}"


def plan_reviews(
    sample: ReviewedSample, threshold: float | None, estimate: float, low: float, target: float,
    level: float = 0.9,
) -> ReviewPlan:  # fmt: skip
    """More reviews per bin that would bring the lower bound at `threshold` (the threshold
    whose `estimate`, the curve's precision there, reaches the target; `low` the interval's
    lower bound there) up to `target`. A normal approximation of the post-stratified
    estimate: within bin b, c_b archive windows scored >= t (weight W_b = c_b / sum c), m_b of
    its reviews there, k_b present, share s_b = (k_b + 0.5) / (m_b + 1) (the Beta(0.5, 0.5)
    prior's mean, so a bin with every review present still has a variance); the variance
    V(d) = sum W_b^2 s_b (1 - s_b) / (m_b + f_b d_b), scaled by k^2 so that today's
    (d = 0) gives today's lower bound (k = (estimate - low) / (z sqrt V(0)), z the normal
    quantile of the interval's one-sided level: the interval in use may be wider than the
    approximation), must fall to ((estimate - target) / z)^2. A draw from bin b lands above t
    with probability f_b = c_b / N_b; the draws d_b that minimise their sum (Lagrange:
    m_b + f_b d_b proportional to W_b sqrt(s_b (1 - s_b) f_b)), rounded up. A projection, not
    a promise: the shares will move as reviews come in."""
    from scipy.stats import norm

    if threshold is None:
        return ReviewPlan(None, {}, "no threshold's estimate reaches the target: more reviews "
                          "cannot be planned from these")  # fmt: skip
    scores = sample.reviewed["score"].to_numpy()
    above = scores >= threshold
    n_bins = len(sample.edges) - 1
    c = np.array([len(b) - np.searchsorted(b, threshold) for b in sample.sorted_by_bin], float)
    m = np.bincount(sample.bins[above], minlength=n_bins).astype(float)
    k = np.bincount(sample.bins[above], weights=sample.reviewed["present"].to_numpy()[above],
                    minlength=n_bins)  # fmt: skip
    live = c > 0
    w = c / c.sum()
    share = (k + 0.5) / (m + 1)
    if not estimate > target:
        return ReviewPlan(threshold, {}, "the estimate there does not exceed the target")
    z = norm.ppf(0.5 + level / 2)
    budget = ((estimate - target) / z) ** 2
    v = share * (1 - share)
    f = c / sample.archive_counts.clip(min=1)
    root = np.where(live, w * np.sqrt(v * f), 0.0)

    def draws(scale: float) -> np.ndarray:
        return np.where(live, np.maximum(0.0, scale * root - m) / np.where(live, f, 1), 0.0)

    def variance(d: np.ndarray) -> float:
        n = (m + f * d)[live]  # a bin with windows above t and no review there: unbounded
        return float(np.inf) if np.any(n == 0) else float(np.sum((w**2 * v)[live] / n))

    today = variance(np.zeros(n_bins))
    if np.isfinite(low) and np.isfinite(today) and low < estimate:
        budget *= today / ((estimate - low) / z) ** 2  # V(d) <= budget / k^2
    if today <= budget:
        return ReviewPlan(threshold, {}, "the lower bound there already reaches the target")
    below, above_ = 0.0, 1.0  # the Lagrange scale, bisected
    while variance(draws(above_)) > budget:
        above_ *= 2
    for _ in range(100):
        mid = (below + above_) / 2
        below, above_ = (mid, above_) if variance(draws(mid)) > budget else (below, mid)
    needed = np.ceil(draws(above_) - 1e-9).astype(int)
    plan = {b: int(n) for b, n in enumerate(needed) if n > 0}
    left = sample.archive_counts - np.bincount(sample.bins, minlength=n_bins)
    short = [b for b, n in plan.items() if n > left[b]]
    if short:
        bins = ", ".join(f"bin {b + 1}: {plan[b]} of {left[b]}" for b in short)
        return ReviewPlan(threshold, plan, f"{sum(plan.values())} more reviews would be needed at "
                          f"threshold {threshold:.3g}, more than the bins have left to draw "
                          f"({bins}): not reachable there")  # fmt: skip
    return ReviewPlan(threshold, plan)


@dataclass(frozen=True)
class LogisticFit:
    """P(present | score) = 1 / (1 + exp(-(intercept + slope * logit(score)))), fitted by
    maximum likelihood; `cov` the inverse of the observed information at the fit."""

    intercept: float
    slope: float
    cov: np.ndarray
    n: int

    def probability(self, scores: np.ndarray, z: float = 0.0) -> np.ndarray:
        """P(present | score); with `z`, the bound of the Wald interval of the linear predictor
        (z = -1.645 and 1.645: a 90 % interval)."""
        x = np.c_[np.ones(len(np.atleast_1d(scores))), _logit(np.atleast_1d(scores))]
        eta = x @ np.array([self.intercept, self.slope])
        se = np.sqrt(np.einsum("ij,jk,ik->i", x, self.cov, x))
        return 1 / (1 + np.exp(-(eta + z * se)))

    def score_for(self, probability: float) -> float | None:
        """The score at which P(present | score) equals `probability` (Wood & Kahl's threshold);
        None when the fitted curve does not rise with the score."""
        if self.slope <= 0:
            return None
        logit_score = (np.log(probability / (1 - probability)) - self.intercept) / self.slope
        return float(1 / (1 + np.exp(-logit_score)))


def _logit(scores: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(scores, dtype=float), EPS, 1 - EPS)
    return np.log(p / (1 - p))


def fit_logistic(scores: np.ndarray, present: np.ndarray, max_iter: int = 50) -> LogisticFit | str:
    """Wood & Kahl 2024's logistic regression of the decisions on logit(score), by Newton's
    method. Returns the fit, or why there is none: no positive or no negative among the
    decisions, or the two apart at every score (separated: the likelihood has no maximum)."""
    y = np.asarray(present, dtype=float)
    if y.sum() == 0:
        return "no window reviewed as present"
    if y.sum() == len(y):
        return "no window reviewed as absent"
    x = np.c_[np.ones(len(y)), _logit(scores)]
    if np.ptp(x[:, 1]) == 0:
        return "every reviewed window has the same score"
    separated = "separated: every window reviewed as present scores above every absent one"
    beta = np.zeros(2)
    with np.errstate(over="ignore"):  # a separated sample drives the linear predictor to inf
        return _newton(x, y, beta, max_iter, separated)


def _newton(x, y, beta, max_iter: int, separated: str) -> LogisticFit | str:
    """Newton's method from `beta` (fit_logistic's loop)."""
    for _ in range(max_iter):
        p = 1 / (1 + np.exp(-(x @ beta)))
        info = x.T @ (x * (p * (1 - p))[:, None])
        try:
            step = np.linalg.solve(info, x.T @ (y - p))
        except np.linalg.LinAlgError:  # every probability at 0 or 1: a separated sample
            return separated
        beta = beta + step
        if np.abs(step).max() < 1e-10:
            break
    else:
        return separated
    if np.abs(beta).max() > 50:
        return separated
    p = 1 / (1 + np.exp(-(x @ beta)))
    cov = np.linalg.inv(x.T @ (x * (p * (1 - p))[:, None]))
    return LogisticFit(float(beta[0]), float(beta[1]), cov, len(y))
