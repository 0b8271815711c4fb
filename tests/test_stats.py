"""The paired t-test against scipy.stats.ttest_rel and a hand computation."""

import math

import numpy as np
import pytest
from scipy.stats import ttest_rel

from anuraflow.evaluate.stats import paired_ttest


def test_hand_computation():
    # d = [1, 2, 3]: mean 2, sd 1, t = 2 / (1 / sqrt 3) = 2 sqrt 3, df 2
    out = paired_ttest([2, 4, 6], [1, 2, 3])
    assert out["t"] == pytest.approx(2 * math.sqrt(3)) and out["df"] == 2
    # two-tailed p for t = 2 sqrt 3 with 2 df: 1 - t / sqrt(t^2 + 2) = 1 - sqrt(12 / 14)
    assert out["p"] == pytest.approx(1 - math.sqrt(12 / 14))


@pytest.mark.parametrize("seed", range(5))
def test_agrees_with_scipy(seed):
    rng = np.random.default_rng(seed)
    a = rng.normal(0.7, 0.05, 5)
    b = a - rng.normal(0.02, 0.03, 5)
    ours, ref = paired_ttest(a, b), ttest_rel(a, b)
    assert ours["t"] == pytest.approx(ref.statistic, rel=1e-10)
    assert ours["p"] == pytest.approx(ref.pvalue, rel=1e-8)


def test_identical_and_too_few():
    assert paired_ttest([0.5, 0.6], [0.5, 0.6])["p"] == 1.0
    with pytest.raises(ValueError, match="at least 2 pairs"):
        paired_ttest([1.0], [0.5])
