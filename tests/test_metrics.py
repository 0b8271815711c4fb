import math

import numpy as np
import pytest

from anuraflow.metrics import (
    embedding_statistics,
    f1_by_polyphony,
    group_macro_f1,
    macro_f1,
    mean_average_precision,
    per_species_scores,
    single_label_scores,
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
