"""Precision from a reviewed sample stratified by score (issue 42): bins, the draw, the weighted
estimates by hand, Wood & Kahl's logistic fit against scikit-learn and a numerical Hessian, and
the degenerate cases (no positive, no negative, separated, one score, an empty bin)."""

import numpy as np
import pandas as pd
import pytest

from anuraflow.evaluate.reviewed_precision import (
    LogisticFit,
    ReviewedSample,
    bin_of,
    bin_weights,
    bootstrap_precision,
    draw_sample,
    fit_logistic,
    plan_reviews,
    precision_at,
    stratify,
    threshold_for,
)


def test_bins_at_score_quantiles_with_repeated_edges_merged():
    scores = np.arange(10) / 10  # 0.0 ... 0.9
    edges = stratify(scores, 2, "uniform")
    assert edges.tolist() == pytest.approx([0.0, 0.45, 0.9])
    # "top": the quantiles 0, 1/2, 3/4, 1 of 0 ... 1.6 (17 scores): 0, 0.8, 1.2, 1.6
    assert stratify(np.arange(17) / 10, 3).tolist() == pytest.approx([0.0, 0.8, 1.2, 1.6])
    with pytest.raises(ValueError, match="spacing must be"):
        stratify(scores, 2, "log")
    assert bin_of(np.array([0.0, 0.44, 0.45, 0.9, 1.0, -1.0]), edges).tolist() == [0, 0, 1, 1, 1, 0]
    # 8 of 10 windows scored 0: the quantiles 0, 0, 0, 0, 1 merge into one bin
    many_zeros = np.r_[np.zeros(8), 0.5, 1.0]
    assert stratify(many_zeros, 4, "uniform").tolist() == [0.0, 1.0]
    assert bin_of(many_zeros, stratify(many_zeros, 4, "uniform")).tolist() == [0] * 10
    with pytest.raises(ValueError, match="no scores"):
        stratify(np.array([]), 3)


def test_the_sample_draws_per_bin_with_a_fixed_seed():
    rng = np.random.default_rng(0)
    windows = pd.DataFrame(
        {
            "window_id": [f"r{i // 10}_{i % 10:02d}" for i in range(100)],
            "recording_id": [f"r{i // 10}" for i in range(100)],
            "score": np.r_[rng.random(97) * 0.9, 0.95, 0.97, 0.99],
        }
    )
    edges = np.array([0.0, 0.3, 0.6, 0.94, 1.0])  # the top bin holds 3 windows
    sample = draw_sample(windows, edges, per_bin=5, seed=7)
    assert sample.groupby("bin").size().tolist() == [5, 5, 5, 3]  # all of a smaller bin
    assert sample["window_id"].is_unique
    assert (bin_of(sample["score"].to_numpy(), edges) == sample["bin"]).all()
    again = draw_sample(windows.sample(frac=1, random_state=1), edges, per_bin=5, seed=7)
    pd.testing.assert_frame_equal(sample, again)  # the archive's row order does not matter
    assert not draw_sample(windows, edges, 5, seed=8)["window_id"].equals(sample["window_id"])


def test_weighted_precision_by_hand():
    """Bin 0 holds 8 archive windows, 2 reviewed (1 present): weight 4 each; bin 1 holds 2,
    both reviewed and present: weight 1 each. Over every detection: (4 + 1 + 1) / (4 + 4 + 1 +
    1) = 0.6, so 6 of the 10 true; at 0.7 only bin 1's reviewed windows: precision 1, of the 2
    archive windows scored >= 0.7."""
    archive = np.r_[np.linspace(0.1, 0.4, 8), 0.8, 0.9]
    edges = np.array([0.0, 0.5, 1.0])
    scores, present = np.array([0.1, 0.3, 0.8, 0.9]), np.array([1, 0, 1, 1])
    weights = bin_weights(bin_of(scores, edges), np.bincount(bin_of(archive, edges), minlength=2))
    assert weights.tolist() == [4, 4, 1, 1]
    curve = precision_at(
        np.array([0.0, 0.2, 0.7, 0.95]), scores, present, weights, np.sort(archive)
    )
    assert curve["detections"].tolist() == [10, 7, 2, 0]
    assert curve["reviewed"].tolist() == [4, 3, 2, 0]
    assert curve["precision"].iloc[0] == pytest.approx(0.6)
    assert curve["true_detections"].iloc[0] == pytest.approx(6.0)
    assert curve["precision"].iloc[1] == pytest.approx(2 / 6)  # (0 + 1 + 1) / (4 + 1 + 1)
    assert curve["precision"].iloc[2] == 1.0 and curve["true_detections"].iloc[2] == 2.0
    assert np.isnan(curve["precision"].iloc[3])  # no reviewed window: no estimate
    none = precision_at(np.array([0.0]), scores, np.zeros(4), weights, np.sort(archive))
    assert none["precision"].tolist() == [0.0] and none["true_detections"].tolist() == [0.0]


def test_the_threshold_is_the_lowest_whose_precision_and_every_higher_reach_the_target():
    curve = pd.DataFrame(
        {"threshold": [0.1, 0.3, 0.5, 0.7, 0.9], "precision": [0.5, 0.95, 0.8, 0.92, 1.0]}
    )
    assert threshold_for(curve, 0.9) == 0.7  # 0.3 reaches it, but 0.5 below does not
    assert threshold_for(curve, 0.5) == 0.1
    assert threshold_for(curve.assign(precision=[0.1, 0.2, 0.3, 0.4, 0.5]), 0.9) is None
    nan_top = curve.assign(precision=[0.5, 0.95, 0.8, 0.92, np.nan])
    assert threshold_for(nan_top, 0.9) == 0.7  # a threshold without a review is no evidence
    # one false window at the very top: the walk starts where the target is first reached
    dip = curve.assign(precision=[0.5, 0.95, 0.93, 0.92, 0.0])
    assert threshold_for(dip, 0.9) == 0.3
    # the lower bound's column: the same walk on it
    bounds = curve.assign(precision_low=[0.4, 0.91, 0.85, 0.9, 0.3])
    assert threshold_for(bounds, 0.9, "precision_low") == 0.7
    assert threshold_for(bounds, 0.95, "precision_low") is None


def one_bin(present_above: int, reviewed_above: int, archive: int = 100) -> ReviewedSample:
    """One bin over `archive` windows scored evenly in (0, 1); the reviews are 20 windows, the
    `reviewed_above` of them at or above 0.5 with `present_above` present."""
    scores = (np.arange(archive) + 0.5) / archive
    picked = np.r_[np.linspace(0.01, 0.49, 20 - reviewed_above),
                   np.linspace(0.51, 0.99, reviewed_above)]  # fmt: skip
    present = np.r_[np.zeros(20 - reviewed_above), np.ones(present_above),
                    np.zeros(reviewed_above - present_above)]  # fmt: skip
    reviewed = pd.DataFrame({"recording_id": "r", "score": picked, "present": present})
    return ReviewedSample(reviewed, scores, np.array([0.0, 1.0]))


def test_the_review_plan_in_one_bin_has_a_closed_form():
    """One bin: V(d) = v / (m + f d), scaled so that V(0) gives today's lower bound `low`, so
    the bound reaches the target when m + f d >= m ((e - low) / (e - target))^2, whatever v
    and z: d = m ((e - low)^2 / (e - target)^2 - 1) / f. Here m = 10 reviews above 0.5, f =
    50 / 100 windows of the bin above it, e = 1, low = 0.7, target 0.8: 10 x 1.25 / 0.5 = 25."""
    sample = one_bin(present_above=10, reviewed_above=10)
    plan = plan_reviews(sample, 0.5, estimate=1.0, low=0.7, target=0.8, level=0.9)
    assert plan.draws == {0: 25} and plan.total == 25 and plan.note is None
    assert plan.describe() == "25 more reviews (bin 1: 25) at threshold 0.5"
    # the same at another level: z cancels
    assert plan_reviews(sample, 0.5, 1.0, 0.7, 0.8, level=0.5).draws == {0: 25}
    # a bound already at the target, an estimate not above it, no threshold: no plan
    assert plan_reviews(sample, 0.5, 1.0, 0.85, 0.8).note == (
        "the lower bound there already reaches the target"
    )
    assert plan_reviews(sample, 0.5, 0.8, 0.6, 0.8).note == (
        "the estimate there does not exceed the target"
    )
    assert plan_reviews(sample, None, np.nan, np.nan, 0.8).total is None


def test_the_review_plan_across_bins_is_the_least_total_that_reaches_the_bound():
    """Two bins: the allocation (before rounding up) equals scipy's constrained minimum of the
    total draws, and the projected bound (the normal approximation, scaled to today's) then
    reaches the target."""
    from scipy.optimize import minimize
    from scipy.stats import norm

    archive = np.r_[np.linspace(0.01, 0.49, 60), np.linspace(0.5, 0.99, 40)]
    edges = np.array([0.0, 0.5, 1.0])
    rows = np.r_[np.linspace(0.02, 0.48, 10), np.linspace(0.55, 0.95, 10)]
    present = np.r_[np.zeros(6), np.ones(4), np.ones(9), 0]
    sample = ReviewedSample(pd.DataFrame({"recording_id": "r", "score": rows, "present": present}),
                            archive, edges)  # fmt: skip
    t, target, low = 0.3, 0.7, 0.6
    curve = sample.curve(np.array([t]))
    estimate = float(curve["precision"].iloc[0])
    plan = plan_reviews(sample, t, estimate, low, target, 0.9)
    # the ingredients, by hand: windows above t per bin, reviews above t, present there
    c = np.array([(archive[:60] >= t).sum(), 40.0])
    m = np.array([(rows[:10] >= t).sum(), 10.0])
    k = np.array([present[:10][rows[:10] >= t].sum(), 9.0])
    f = c / np.array([60.0, 40.0])
    w, share = c / c.sum(), (k + 0.5) / (m + 1)
    v = share * (1 - share)
    z = norm.ppf(0.95)

    def variance(d):
        return np.sum(w**2 * v / (m + f * d))

    budget = ((estimate - target) / z) ** 2 * variance(np.zeros(2)) / ((estimate - low) / z) ** 2
    best = minimize(lambda d: d.sum(), x0=np.full(2, 50.0), bounds=[(0, None)] * 2,
                    constraints={"type": "ineq", "fun": lambda d: budget - variance(d)},
                    method="SLSQP", options={"ftol": 1e-10})  # fmt: skip
    assert plan.total == pytest.approx(best.x.sum(), abs=2.5)  # each bin rounded up
    drawn = np.array([plan.draws.get(b, 0) for b in range(2)])
    assert drawn == pytest.approx(best.x, abs=1.5)
    assert variance(drawn) <= budget


def _logit(s):
    return np.log(s / (1 - s))


def test_the_logistic_fit_equals_scikit_learns_and_its_covariance_the_inverse_hessian():
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(2)
    scores = rng.uniform(0.05, 0.99, 300)
    present = (rng.random(300) < 1 / (1 + np.exp(-(-0.5 + 1.3 * _logit(scores))))).astype(int)
    fit = fit_logistic(scores, present)
    assert isinstance(fit, LogisticFit) and fit.n == 300
    ref = LogisticRegression(penalty=None, tol=1e-12, max_iter=10_000)
    ref.fit(_logit(scores)[:, None], present)
    assert fit.intercept == pytest.approx(ref.intercept_[0], abs=1e-5)
    assert fit.slope == pytest.approx(ref.coef_[0, 0], abs=1e-5)

    def loglik(b):
        eta = b[0] + b[1] * _logit(scores)
        return np.sum(present * eta - np.log1p(np.exp(eta)))

    b, h = np.array([fit.intercept, fit.slope]), 1e-4
    hessian = np.array(
        [
            [
                (
                    loglik(b + h * (np.eye(2)[i] + np.eye(2)[j]))
                    - loglik(b + h * (np.eye(2)[i] - np.eye(2)[j]))
                    - loglik(b - h * (np.eye(2)[i] - np.eye(2)[j]))
                    + loglik(b - h * (np.eye(2)[i] + np.eye(2)[j]))
                )
                / (4 * h * h)
                for j in range(2)
            ]
            for i in range(2)
        ]
    )
    np.testing.assert_allclose(fit.cov, np.linalg.inv(-hessian), rtol=1e-4)
    p = fit.probability(np.array([0.2, 0.5, 0.9]))
    low, high = (
        fit.probability(np.array([0.2, 0.5, 0.9]), -1.645),
        fit.probability(np.array([0.2, 0.5, 0.9]), 1.645),
    )
    assert (low < p).all() and (p < high).all()
    assert fit.probability(np.array([fit.score_for(0.9)]))[0] == pytest.approx(0.9)


def test_the_logistic_fit_says_why_there_is_none():
    s = np.array([0.2, 0.4, 0.6, 0.8])
    assert fit_logistic(s, np.zeros(4)) == "no window reviewed as present"
    assert fit_logistic(s, np.ones(4)) == "no window reviewed as absent"
    assert fit_logistic(s, np.array([0, 0, 1, 1])).startswith("separated")
    assert fit_logistic(np.full(4, 0.5), np.array([0, 1, 0, 1])) == (
        "every reviewed window has the same score"
    )
    falling = fit_logistic(s, np.array([1, 0, 1, 0]))  # present more often at low scores
    assert isinstance(falling, LogisticFit) and falling.score_for(0.9) is None


def _reviewed_archive(seed=0, n_recordings=30):
    """An archive of 30 recordings x 40 windows; the truth: present with probability = score."""
    rng = np.random.default_rng(seed)
    archive = pd.DataFrame(
        {
            "window_id": [f"r{i // 40:02d}_{i % 40:02d}" for i in range(40 * n_recordings)],
            "recording_id": [f"r{i // 40:02d}" for i in range(40 * n_recordings)],
            "score": rng.beta(0.5, 2, 40 * n_recordings),
        }
    )
    edges = stratify(archive["score"].to_numpy(), 4)
    sample = draw_sample(archive, edges, per_bin=25, seed=1)
    sample["present"] = (rng.random(len(sample)) < sample["score"]).astype(int)
    return archive, edges, sample


def test_bootstrap_intervals_hold_the_estimate_and_repeat_with_the_seed():
    archive, edges, sample = _reviewed_archive()
    scores = archive["score"].to_numpy()
    thresholds = np.array([0.0, 0.2, 0.5])
    counts = np.bincount(bin_of(scores, edges), minlength=4)
    weights = bin_weights(bin_of(sample["score"].to_numpy(), edges), counts)
    point = precision_at(thresholds, sample["score"], sample["present"], weights, np.sort(scores))
    reviewed = ReviewedSample(sample, scores, edges)
    pd.testing.assert_frame_equal(reviewed.curve(thresholds), point)
    ci = bootstrap_precision(reviewed, thresholds, n_boot=200, seed=3)
    assert (ci["precision_low"] <= point["precision"]).all()
    assert (point["precision"] <= ci["precision_high"]).all()
    assert (ci["true_detections_low"] <= point["true_detections"]).all()
    assert (ci["precision_low"] < ci["precision_high"]).all()
    pd.testing.assert_frame_equal(ci, bootstrap_precision(reviewed, thresholds, n_boot=200, seed=3))


def test_a_bootstrap_whose_bins_each_lie_in_one_recording_says_so():
    """Eight bins, each reviewed in one recording only: a draw keeps all eight about 2.6 % of
    the time ((1 - 1/e)^8), too rarely to fill the bootstrap; it says so instead of looping."""
    edges = np.linspace(0, 1, 9)
    reviewed = pd.DataFrame(
        {
            "recording_id": np.repeat([f"r{b}" for b in range(8)], 3),
            "score": np.repeat((np.arange(8) + 0.5) / 8, 3),
            "present": np.tile([1, 0, 1], 8),
        }
    )
    archive = np.linspace(0, 1, 200)
    with pytest.raises(ValueError, match="too few reviewed recordings per bin"):
        bootstrap_precision(ReviewedSample(reviewed, archive, edges), np.array([0.0]), n_boot=200)


def test_beta_intervals_by_bin_against_scipys_beta_quantiles():
    """One bin, every reviewed window above the threshold (7 present of 10): the precision's
    interval is the Beta(7.5, 3.5) 5 % and 95 % quantiles (scipy), up to the draws' noise;
    the true detections' interval is that times the 40 archive windows. Two bins, the upper
    one with no review above the threshold: that bin draws from the prior alone."""
    from scipy.stats import beta

    from anuraflow.evaluate.reviewed_precision import beta_precision

    reviewed = pd.DataFrame(
        {
            "recording_id": list("abcdefghij"),
            "score": np.linspace(0.5, 0.9, 10),
            "present": [1, 1, 1, 0, 1, 0, 1, 1, 0, 1],
        }  # fmt: skip
    )
    archive = np.linspace(0.5, 0.9, 40)
    one_bin = ReviewedSample(reviewed, archive, np.array([0.0, 1.0]))
    ci = beta_precision(one_bin, np.array([0.4]), n_draws=40000)
    want = beta(7.5, 3.5).ppf([0.05, 0.95])
    assert ci[["precision_low", "precision_high"]].iloc[0].tolist() == pytest.approx(want, abs=0.01)
    assert ci["true_detections_low"].iloc[0] == pytest.approx(40 * want[0], abs=0.4)
    # bin 1 (scores >= 0.95) holds 10 archive windows and no review: Beta(0.5, 0.5) there
    archive2 = np.r_[archive, np.full(10, 0.97)]
    two_bins = ReviewedSample(reviewed, archive2, np.array([0.0, 0.95, 1.0]))
    wide = beta_precision(two_bins, np.array([0.96]))
    assert wide["precision_low"].iloc[0] < 0.05 and wide["precision_high"].iloc[0] > 0.95
    empty = beta_precision(one_bin, np.array([0.99]))
    assert np.isnan(empty["precision_low"].iloc[0])  # no archive window that high


def test_a_larger_per_bin_keeps_the_windows_already_drawn():
    """docs/detection.md's advice for more reviews: the same seed and a larger `per_bin` draw
    every window of the smaller draw, and more."""
    rng = np.random.default_rng(4)
    windows = pd.DataFrame({"window_id": [f"w{i:03d}" for i in range(200)],
                            "recording_id": [f"r{i // 20}" for i in range(200)],
                            "score": rng.random(200)})  # fmt: skip
    edges = stratify(windows["score"].to_numpy(), 4)
    small = draw_sample(windows, edges, 5, seed=[3, 1])
    large = draw_sample(windows, edges, 12, seed=[3, 1])
    for b in range(len(edges) - 1):
        first = large.loc[large["bin"] == b, "window_id"].tolist()
        assert small.loc[small["bin"] == b, "window_id"].tolist() == first[:5]
    assert len(large) == 4 * 12 > len(small)
