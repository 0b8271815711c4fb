import math
import warnings

import numpy as np
import pytest
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    balanced_accuracy_score,
    f1_score,
    precision_score,
    recall_score,
    roc_auc_score,
)

from anuraflow.evaluate import ranking
from anuraflow.evaluate.metrics import (
    auroc,
    embedding_statistics,
    f1_by_polyphony,
    group_macro_f1,
    macro_auroc,
    macro_f1,
    mean_average_precision,
    per_species_scores,
    single_label_scores,
    species_f1,
    weighted_f1,
)

Y_TRUE = np.array([[1, 0, 0], [1, 1, 0], [0, 1, 0], [0, 0, 0]])
Y_PRED = np.array([[1, 0, 0], [0, 1, 1], [0, 1, 0], [1, 0, 0]])


def test_macro_f1_over_active_species_only():
    # A: tp1 fp1 fn1 -> F1 0.5; B: tp2 -> 1.0; C has no positive window: left out
    assert macro_f1(Y_TRUE, Y_PRED) == 0.75
    assert math.isnan(macro_f1(Y_TRUE[:, [2]], Y_PRED[:, [2]]))


def test_per_species_scores():
    s = per_species_scores(Y_TRUE, Y_PRED, ["A", "B", "C"])
    assert s["A"] == {"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2}
    assert s["B"]["f1"] == 1.0 and s["C"]["f1"] == 0.0 and s["C"]["support"] == 0


def test_group_macro_f1():
    g = group_macro_f1(Y_TRUE, Y_PRED, ["A", "B", "C"], {"A": "frequent", "B": "rare", "C": "rare"})
    assert g["all"] == 0.75 and g["frequent"] == 0.5 and g["rare"] == 1.0
    assert math.isnan(g["common"])


def test_f1_by_polyphony():
    # polyphony 1: rows 0 and 2 -> A: 1.0, B: 1.0; polyphony 2: row 1 -> A: 0, B: 1
    assert f1_by_polyphony(Y_TRUE, Y_PRED) == {1: 1.0, 2: 0.5}


def test_weighted_f1_weights_by_support():
    # A: F1 .5 (support 2), B: F1 1 (support 2), C: no support
    assert weighted_f1(Y_TRUE, Y_PRED) == 0.75


def test_mean_average_precision_over_active_classes():
    score = np.array([[0.9, 0.1, 0.2], [0.2, 0.8, 0.3], [0.1, 0.7, 0.9], [0.3, 0.2, 0.1]])
    # A: positives rank 1 and 3 -> AP (1 + 2/3) / 2; B: ranks 1, 2 -> AP 1; C inactive
    assert mean_average_precision(Y_TRUE, score) == pytest.approx(((1 + 2 / 3) / 2 + 1) / 2)


def test_single_label_scores():
    s = single_label_scores(np.array([0, 0, 0, 1]), np.array([0, 0, 1, 1]))
    assert s["accuracy"] == 0.75
    assert s["balanced_accuracy"] == pytest.approx((2 / 3 + 1) / 2)


def test_embedding_statistics_by_hand():
    emb = np.array([[1, 0], [0, 1], [-1, 0], [0, -1], [1, 0]], dtype=float)
    classes = np.array([0, 0, 0, 1, 1])
    s = embedding_statistics(emb, classes)
    # class 0 distances 1, 2, 1: mean 4/3, CV sqrt(1/3) / (4/3); class 1 has one pair (no CV)
    assert s["per_class"]["0"]["mean"] == pytest.approx(4 / 3)
    assert s["per_class"]["0"]["cv"] == pytest.approx(math.sqrt(1 / 3) / (4 / 3))
    assert s["intra_mean"] == pytest.approx((4 / 3 + 1) / 2)
    assert s["intra_cv"] == pytest.approx(math.sqrt(1 / 3) / (4 / 3))
    # between the classes: 1, 0, 2, 1, 1, 2
    inter = np.array([1, 0, 2, 1, 1, 2], dtype=float)
    assert s["inter_mean"] == pytest.approx(inter.mean())
    assert s["inter_cv"] == pytest.approx(inter.std(ddof=1) / inter.mean())


# --- independent checks against scikit-learn, one binary problem per species (issue 13) ---


def _sklearn_f1(y_true, y_pred, j):
    return f1_score(y_true[:, j], y_pred[:, j], zero_division=0)


def _random_case(seed=0, n=400, c=9):
    rng = np.random.default_rng(seed)
    y_true = (rng.random((n, c)) < rng.uniform(0.0, 0.3, c)).astype(int)
    y_true[:, 3] = 0  # a species absent from the evaluated windows
    y_pred = ((y_true + (rng.random((n, c)) < 0.15)) % 2).astype(int)
    y_pred[:, 5] = 0  # a species present but never predicted: F1 0
    score = np.clip(y_true * 0.4 + rng.random((n, c)) * 0.6, 0, 1)
    return y_true, y_pred, score


def test_one_species_group_equals_that_species_f1():
    # the reported bug: one active species in a group, scored by scikit-learn as a binary
    # problem, gave the mean of the F1 of "absent" and "present" (85.0 for a species at 76.0)
    y_true = np.array([[1, 0], [1, 0], [0, 0], [0, 0], [1, 0], [0, 0], [0, 0], [0, 0]])
    y_pred = np.array([[1, 0], [0, 0], [1, 0], [0, 0], [1, 0], [0, 0], [0, 0], [0, 0]])
    expected = _sklearn_f1(y_true, y_pred, 0)  # tp 2, fp 1, fn 1: 2/3
    assert expected == pytest.approx(2 / 3)
    groups = {"A": "frequent", "B": "frequent"}
    assert group_macro_f1(y_true, y_pred, ["A", "B"], groups)["frequent"] == expected
    assert macro_f1(y_true[:, [0]], y_pred[:, [0]]) == expected
    # the all-species convention counts the absent B as 0
    g = group_macro_f1(y_true, y_pred, ["A", "B"], groups, over="all")
    assert g["frequent"] == pytest.approx(expected / 2)


def test_never_detected_species_give_zero_not_one_half():
    y_true = np.array([[1], [0], [0], [1], [0]])
    y_pred = np.zeros_like(y_true)
    assert macro_f1(y_true, y_pred) == 0.0
    assert macro_f1(y_true, y_pred, over="all") == 0.0
    g = group_macro_f1(y_true, y_pred, ["A"], {"A": "rare"})
    assert g["rare"] == 0.0 and g["all"] == 0.0
    assert math.isnan(g["frequent"]) and math.isnan(g["common"])  # empty groups


def test_group_of_absent_species_only():
    y_true = np.array([[1, 0], [0, 0], [1, 0]])
    y_pred = np.array([[1, 1], [0, 0], [1, 0]])
    groups = {"A": "frequent", "B": "rare"}
    active = group_macro_f1(y_true, y_pred, ["A", "B"], groups)
    everyone = group_macro_f1(y_true, y_pred, ["A", "B"], groups, over="all")
    assert math.isnan(active["rare"])  # no active species: undefined, not 0
    assert everyone["rare"] == 0.0  # the authors' convention: absent B counts 0
    assert active["all"] == 1.0 and everyone["all"] == 0.5


def test_macro_f1_conventions_equal_sklearn_per_species_mean():
    y_true, y_pred, _ = _random_case()
    per = np.array([_sklearn_f1(y_true, y_pred, j) for j in range(y_true.shape[1])])
    active = y_true.sum(0) > 0
    assert np.allclose(species_f1(y_true, y_pred), per)
    assert macro_f1(y_true, y_pred) == pytest.approx(per[active].mean())
    assert macro_f1(y_true, y_pred, over="all") == pytest.approx(per.mean())
    # scikit-learn's own macro average over all labels is the all-species convention
    assert macro_f1(y_true, y_pred, over="all") == pytest.approx(
        f1_score(y_true, y_pred, average="macro", zero_division=0)
    )
    codes = [f"S{j}" for j in range(y_true.shape[1])]
    groups = dict(zip(codes, ["frequent"] * 2 + ["common"] * 3 + ["rare"] * 4, strict=True))
    for over in ("active", "all"):
        g = group_macro_f1(y_true, y_pred, codes, groups, over=over)
        for name in ("frequent", "common", "rare"):
            cols = [j for j, c in enumerate(codes) if groups[c] == name]
            if over == "active":
                cols = [j for j in cols if active[j]]
            assert g[name] == pytest.approx(per[cols].mean())


def test_polyphony_levels_equal_per_species_mean():
    y_true, y_pred, _ = _random_case(seed=3)
    poly = y_true.sum(1)
    got = f1_by_polyphony(y_true, y_pred)
    assert set(got) == {int(k) for k in np.unique(poly) if k > 0}
    for k, value in got.items():
        rows = poly == k
        cols = np.flatnonzero(y_true[rows].sum(0) > 0)
        expected = np.mean([_sklearn_f1(y_true[rows], y_pred[rows], j) for j in cols])
        assert value == pytest.approx(expected)


def test_per_species_scores_equal_sklearn():
    y_true, y_pred, score = _random_case(seed=5)
    codes = [f"S{j}" for j in range(y_true.shape[1])]
    s = per_species_scores(y_true, y_pred, codes, score)
    for j, c in enumerate(codes):
        t, p = y_true[:, j], y_pred[:, j]
        assert s[c]["precision"] == pytest.approx(precision_score(t, p, zero_division=0))
        assert s[c]["recall"] == pytest.approx(recall_score(t, p, zero_division=0))
        assert s[c]["f1"] == pytest.approx(f1_score(t, p, zero_division=0))
        assert s[c]["support"] == int(t.sum())
        if t.sum():
            assert s[c]["ap"] == pytest.approx(average_precision_score(t, score[:, j]))
            assert s[c]["auroc"] == pytest.approx(roc_auc_score(t, score[:, j]))
        else:
            assert s[c]["ap"] is None and s[c]["auroc"] is None
    # one species alone: the same numbers as inside the table
    one = per_species_scores(y_true[:, [0]], y_pred[:, [0]], ["S0"], score[:, [0]])
    assert one["S0"] == s["S0"]
    assert mean_average_precision(y_true, score) == pytest.approx(
        np.mean([average_precision_score(y_true[:, j], score[:, j]) for j in range(9) if j != 3])
    )


def test_weighted_f1_equals_sklearn():
    y_true, y_pred, _ = _random_case(seed=7)
    assert weighted_f1(y_true, y_pred) == pytest.approx(
        f1_score(y_true, y_pred, average="weighted", zero_division=0)
    )
    assert weighted_f1(y_true[:, [0]], y_pred[:, [0]]) == pytest.approx(
        f1_score(y_true[:, 0], y_pred[:, 0], zero_division=0)
    )


def test_auroc_hand_case_and_degenerate_cases():
    # positives 0.9 and 0.4, negatives 0.5 and 0.1: 3 of 4 pairs ordered -> 0.75
    assert auroc(np.array([1, 0, 1, 0]), np.array([0.9, 0.5, 0.4, 0.1])) == 0.75
    assert auroc(np.zeros(4), np.arange(4)) is None  # no positive
    assert auroc(np.ones(4), np.arange(4)) is None  # no negative
    y_true = np.array([[1, 0, 1], [0, 0, 1], [1, 0, 1], [0, 0, 1]])
    score = np.array([[0.9, 0.1, 0.2], [0.2, 0.8, 0.3], [0.1, 0.7, 0.9], [0.3, 0.2, 0.1]])
    # only species 0 has both kinds of window: its AUROC (2 of 4 pairs) is the macro
    assert macro_auroc(y_true, score) == pytest.approx(roc_auc_score(y_true[:, 0], score[:, 0]))
    assert math.isnan(macro_auroc(y_true[:, [1]], score[:, [1]]))
    assert math.isnan(macro_auroc(np.zeros((0, 2)), np.zeros((0, 2))))


def test_no_windows_at_all():
    empty = np.zeros((0, 3), dtype=int)
    assert math.isnan(macro_f1(empty, empty))
    assert macro_f1(empty, empty, over="all") == 0.0  # every species absent: F1 0
    assert species_f1(np.array([1, 0, 1]), np.array([1, 1, 0])).tolist() == [0.5]
    assert per_species_scores(empty, empty, ["A", "B", "C"])["A"]["support"] == 0


def test_ranking_scores_hand_case():
    """Scores 0.9 (+), 0.8 (-), 0.8 (+), 0.1 (-): the tie is called together.
    AP = 1/2 * 1 + 1/2 * 2/3 = 5/6; AUROC: 3 of 4 pairs ordered, 1 tied (half) = 3.5/4."""
    true, score = np.array([1, 0, 1, 0]), np.array([0.9, 0.8, 0.8, 0.1])
    assert ranking.average_precision(true, score) == pytest.approx(5 / 6, abs=1e-15)
    assert ranking.auroc(true, score) == pytest.approx(3.5 / 4, abs=1e-15)
    assert ranking.accuracy([0, 1, 2], [0, 1, 1]) == pytest.approx(2 / 3)
    # classes 0 (recall 1/2) and 1 (recall 1); class 2 is only predicted: it counts nowhere
    assert ranking.balanced_accuracy([0, 0, 1], [0, 2, 1]) == 0.75


def test_precision_recall_points_equal_scikit_learns():
    """The report's PR curve: the hand case (the tie called together) and random cases with
    ties, one positive, every window positive, against precision_recall_curve."""
    from sklearn.metrics import precision_recall_curve

    precision, recall = ranking.precision_recall_points(
        np.array([1, 0, 1, 0]), np.array([0.9, 0.8, 0.8, 0.1])
    )
    assert precision.tolist() == pytest.approx([0.5, 2 / 3, 1.0, 1.0])
    assert recall.tolist() == [1.0, 1.0, 0.5, 0.0]
    rng = np.random.default_rng(3)
    cases = [(rng.integers(0, 2, 50), rng.integers(0, 8, 50) / 8) for _ in range(5)]
    cases += [(np.eye(1, 20, 7)[0], rng.random(20)), (np.ones(6), rng.random(6))]
    for true, score in cases:
        want_p, want_r, _ = precision_recall_curve(true, score)
        got_p, got_r = ranking.precision_recall_points(true, score)
        np.testing.assert_allclose(got_p, want_p, rtol=0, atol=1e-15)
        np.testing.assert_allclose(got_r, want_r, rtol=0, atol=1e-15)


def test_ranking_scores_degenerate_cases():
    assert ranking.average_precision(np.zeros(3), np.array([0.1, 0.5, 0.9])) is None
    assert ranking.auroc(np.zeros(3), np.array([0.1, 0.5, 0.9])) is None
    assert ranking.auroc(np.ones(3), np.array([0.1, 0.5, 0.9])) is None
    assert ranking.average_precision(np.ones(1), np.array([0.3])) == 1.0  # one window
    # every score tied: one threshold calls all, precision = prevalence
    assert ranking.average_precision(np.array([1, 0, 0, 0]), np.full(4, 0.5)) == 0.25
    assert ranking.auroc(np.array([1, 0, 0, 0]), np.full(4, 0.5)) == 0.5
    assert math.isnan(ranking.accuracy([], [])) and math.isnan(ranking.balanced_accuracy([], []))
    assert ranking.balanced_accuracy([3], [3]) == 1.0  # one class


@pytest.mark.parametrize("seed", range(20))
def test_ranking_scores_equal_sklearn(seed):
    """Random species with heavy ties (scores on a coarse grid) and rare positives."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 300))
    true = (rng.random(n) < rng.uniform(0.02, 0.6)).astype(int)
    score = np.round(rng.random(n) * rng.choice([3, 10, 1000]), 0) / 1000
    if 0 < true.sum():
        assert ranking.average_precision(true, score) == pytest.approx(
            average_precision_score(true, score), abs=1e-12
        )
    if 0 < true.sum() < n:
        assert ranking.auroc(true, score) == pytest.approx(roc_auc_score(true, score), abs=1e-12)
    k = int(rng.integers(1, 6))
    t, p = rng.integers(0, k, n), rng.integers(0, k + 1, n)
    assert ranking.accuracy(t, p) == pytest.approx(accuracy_score(t, p), abs=1e-15)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "y_pred contains classes not in y_true"
        expected = balanced_accuracy_score(t, p)
    assert ranking.balanced_accuracy(t, p) == pytest.approx(expected, abs=1e-12)
