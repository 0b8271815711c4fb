"""The recording bootstrap: intervals over test recordings, checked by hand."""

import numpy as np
import pytest

from anuraflow.evaluate.bootstrap import bootstrap_interval, paired_difference, recording_samples
from anuraflow.evaluate.metrics import macro_f1


def test_samples_draw_whole_recordings():
    recs = np.array(["a", "a", "b", "c", "c", "c"])
    for idx in recording_samples(recs, 20, seed=1):
        drawn = recs[idx]
        for r in "abc":  # a recording comes with all its windows, or none, k times
            assert (drawn == r).sum() % (recs == r).sum() == 0
        assert len(np.unique(np.flatnonzero(np.isin(recs, drawn)))) >= 1


def test_identical_windows_give_the_recording_level_bootstrap():
    """Every window of a recording identical: the interval equals a bootstrap over one row per
    recording, computed by hand with the same draws (macro F1 is a ratio of counts)."""
    rng = np.random.default_rng(0)
    n_rec, per_rec = 12, 4
    rec_true = (rng.random((n_rec, 3)) < 0.5).astype(int)
    rec_pred = (rng.random((n_rec, 3)) < 0.5).astype(int)
    recordings = np.repeat([f"r{i:02d}" for i in range(n_rec)], per_rec)
    true, pred = np.repeat(rec_true, per_rec, axis=0), np.repeat(rec_pred, per_rec, axis=0)
    got = bootstrap_interval(recordings, lambda i: macro_f1(true[i], pred[i]), 500, seed=3)
    by_hand = []
    draws = np.random.default_rng(3)
    for _ in range(500):
        rows = draws.integers(0, n_rec, n_rec)
        by_hand.append(macro_f1(rec_true[rows], rec_pred[rows]))
    by_hand = np.array(by_hand)
    by_hand = by_hand[~np.isnan(by_hand)]
    assert got["low"] == pytest.approx(np.percentile(by_hand, 2.5))
    assert got["high"] == pytest.approx(np.percentile(by_hand, 97.5))
    assert got["estimate"] == pytest.approx(macro_f1(rec_true, rec_pred))
    assert got["low"] <= got["estimate"] <= got["high"]


def test_degenerate_cases():
    recs = np.array(["a", "a", "b"])
    no_positive = np.zeros((3, 2), int)
    out = bootstrap_interval(recs, lambda i: macro_f1(no_positive[i], no_positive[i]), 50)
    assert out["estimate"] is None and out["low"] is None and out["undefined"] == 50
    one = bootstrap_interval(np.array(["a"] * 4), lambda i: float(len(i)), 30)
    assert one["low"] == one["high"] == one["estimate"] == 4.0  # one recording: no spread
    empty = bootstrap_interval(np.array([], dtype=str), lambda i: float("nan"), 10)
    assert empty["estimate"] is None and empty["low"] is None


def test_paired_difference_of_a_configuration_with_itself_is_zero():
    rng = np.random.default_rng(1)
    recs = np.repeat(np.arange(10), 3)
    true = (rng.random((30, 2)) < 0.4).astype(int)
    pred = (rng.random((30, 2)) < 0.4).astype(int)

    def stat(i):
        return macro_f1(true[i], pred[i])

    same = paired_difference(recs, stat, stat, 100)
    assert same["low"] == same["high"] == same["estimate"] == 0.0
    better = paired_difference(recs, lambda i: macro_f1(true[i], true[i]), stat, 100)
    assert better["low"] >= 0
