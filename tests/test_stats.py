"""The paired t-test against scipy.stats.ttest_rel and a hand computation."""

import math

import numpy as np
import pytest
from scipy.stats import ttest_rel, wilcoxon

from anuraflow.evaluate.stats import holm, paired_ttest, wilcoxon_signed_rank


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


def test_wilcoxon_hand_worked_all_positive():
    # d = 1, 2, 3: W+ = 6, the largest of 8 equally likely sign patterns: p = 2 / 8
    out = wilcoxon_signed_rank([2, 4, 6], [1, 2, 3])
    assert out["w_plus"] == 6 and out["n"] == 3 and out["wins"] == 3 and out["losses"] == 0
    assert out["p"] == pytest.approx(0.25)


def test_wilcoxon_hand_worked_one_loss():
    # d = 1, -2, 3, 4: W+ = 8; of the 16 sign patterns 3 reach W+ >= 8 (complement sums 0, 1,
    # 2), so p = 2 * 3 / 16
    out = wilcoxon_signed_rank([1, -2, 3, 4], [0, 0, 0, 0])
    assert out["w_plus"] == 8 and out["wins"] == 3 and out["losses"] == 1
    assert out["p"] == pytest.approx(0.375)
    assert out["median_difference"] == pytest.approx(2.0)


def test_wilcoxon_equals_scipy_exact_without_ties():
    rng = np.random.default_rng(4)
    for n in (5, 12, 20):
        a, b = rng.normal(size=n), rng.normal(0.4, size=n)
        ref = wilcoxon(a, b, method="exact")
        out = wilcoxon_signed_rank(a, b)
        assert out["p"] == pytest.approx(ref.pvalue, rel=1e-9)
        assert min(out["w_plus"], n * (n + 1) / 2 - out["w_plus"]) == pytest.approx(ref.statistic)


def test_wilcoxon_ties_and_zeros():
    # zeros dropped: d = 0, 1, 1, -1 -> n = 3, ranks of |d| all 2 (tied), W+ = 4; the 8 sign
    # patterns give W+ in {0, 2, 2, 2, 4, 4, 4, 6}: P(W+ <= 4) = 7/8, P(W+ >= 4) = 4/8
    out = wilcoxon_signed_rank([1, 2, 2, 0], [1, 1, 1, 1])
    assert out["n"] == 3 and out["w_plus"] == 4
    assert out["p"] == pytest.approx(1.0)
    none = wilcoxon_signed_rank([0.3, 0.3], [0.3, 0.3])
    assert none["n"] == 0 and none["p"] == 1.0 and none["median_difference"] is None


def test_holm_hand_worked():
    # sorted 0.01, 0.02, 0.04 times 3, 2, 1: 0.03, 0.04, 0.04 (monotone), back in input order
    assert holm([0.04, 0.01, 0.02]) == pytest.approx([0.04, 0.03, 0.04])
    assert holm([0.5, 0.6]) == pytest.approx([1.0, 1.0])
    assert holm([]) == []
    assert holm([0.2]) == pytest.approx([0.2])
