import math

import numpy as np

from anuraflow.metrics import f1_by_polyphony, group_macro_f1, macro_f1, per_species_scores

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
