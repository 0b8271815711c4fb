"""The report's evaluation numbers, against scikit-learn and hand-worked cases."""

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import average_precision_score, f1_score

from anuraflow.evaluate.analysis import (
    codetection_matrix,
    paired_intervals,
    per_site_scores,
    run_predictions,
)
from anuraflow.learn.run import epoch_chosen_on_test
from anuraflow.report.evaluation_sections import best_run, optimism_table

CODES = ["A", "B", "C"]


def write_predictions(path, true, prob, sites, recordings):
    table = pd.DataFrame(
        {
            "window_id": [f"w{i}" for i in range(len(true))],
            "recording_id": recordings,
            "site": sites,
            "start_s": 0.0,
            "end_s": 3.0,
            "polyphony": true.sum(1),
        }
    )
    for j, c in enumerate(CODES):
        table[f"true_{c}"] = true[:, j]
        table[f"prob_{c}"] = prob[:, j]
    table.to_parquet(path)
    return {"experiment": "e", "seed": 0, "codes": CODES, "task": "multilabel", "threshold": 0.5}


def test_codetection_hand_case(tmp_path):
    true = np.array([[1, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0]])
    prob = np.array([[0.9, 0.8, 0.1], [0.9, 0.1, 0.1], [0.9, 0.9, 0.1], [0.7, 0.9, 0.1]])
    run = write_predictions(tmp_path / "p.parquet", true, prob, ["s"] * 4, ["r"] * 4)
    m = codetection_matrix(run_predictions(run, tmp_path / "p.parquet"))
    # A present, B absent: windows 0, 1; B predicted in window 0 -> 0.5
    assert m.loc["A", "B"] == 0.5
    # B present, A absent: window 3; A predicted there -> 1.0
    assert m.loc["B", "A"] == 1.0
    assert m.loc["A", "C"] == 0.0  # never predicted
    assert np.isnan(m.loc["C", "A"])  # C never present: undefined
    assert np.isnan(m.loc["A", "A"])


def test_per_site_scores_equal_sklearn(tmp_path):
    rng = np.random.default_rng(2)
    true = (rng.random((40, 3)) < 0.4).astype(int)
    true[:20, 2] = 0  # C absent at site s1: left out of its macro F1 there
    prob = np.clip(true * 0.4 + rng.random((40, 3)) * 0.6, 0, 1)
    sites = np.repeat(["s1", "s2"], 20)
    run = write_predictions(tmp_path / "p.parquet", true, prob, sites, np.repeat(range(8), 5))
    scores = per_site_scores(run_predictions(run, tmp_path / "p.parquet")).set_index("site")
    pred = (prob >= 0.5).astype(int)
    for site, rows in (("s1", slice(0, 20)), ("s2", slice(20, 40))):
        active = [j for j in range(3) if true[rows, j].sum()]
        f1 = np.mean([f1_score(true[rows, j], pred[rows, j], zero_division=0) for j in active])
        ap = np.mean([average_precision_score(true[rows, j], prob[rows, j]) for j in active])
        assert scores.loc[site, "macro_f1"] == pytest.approx(f1)
        assert scores.loc[site, "macro_ap"] == pytest.approx(ap)
        assert scores.loc[site, "windows"] == 20 and scores.loc[site, "recordings"] == 4
    # an empty group: no windows of a third site, so no row for it
    assert set(scores.index) == {"s1", "s2"}


def test_paired_intervals_need_the_same_test_windows(tmp_path):
    rng = np.random.default_rng(0)
    true = (rng.random((12, 3)) < 0.5).astype(int)
    prob = rng.random((12, 3))
    run = write_predictions(tmp_path / "a.parquet", true, prob, ["s"] * 12, np.repeat(range(4), 3))
    a = run_predictions(run, tmp_path / "a.parquet")
    write_predictions(tmp_path / "b.parquet", true[:6], prob[:6], ["s"] * 6, np.repeat(range(2), 3))
    b = run_predictions(run, tmp_path / "b.parquet")
    assert paired_intervals([a], [b], 50, 0) is None
    same = paired_intervals([a], [a], 50, 0)
    assert same["estimate"] == same["low"] == same["high"] == 0.0


def test_selection_on_test_and_best_run():
    history = [
        {"epoch": 1, "test_macro_f1": 0.5},
        {"epoch": 2, "test_macro_f1": 0.8},
        {"epoch": 3, "test_macro_f1": None},
    ]
    assert epoch_chosen_on_test(history) == {"epoch": 2, "macro_f1": 0.8}
    assert epoch_chosen_on_test([{"epoch": 1}]) is None
    runs = [
        {"experiment": "e", "seed": 0, "best_epoch": 1, "macro_f1": {"all": 0.6},
         "test_selected": {"epoch": 2, "macro_f1": 0.8}, "best_val_macro_f1": 0.7},
        {"experiment": "e", "seed": 1, "best_epoch": 2, "macro_f1": {"all": 0.7},
         "test_selected": None, "best_val_macro_f1": 0.9},
    ]  # fmt: skip
    table = optimism_table(runs)
    assert table["rows"][0]["cells"][-1] == "+20.0" and len(table["rows"]) == 1
    assert best_run(runs) == 1  # chosen by validation, not test
    json.dumps(table)


@pytest.mark.parametrize("seed", range(4))
def test_weighted_ap_equals_sklearn_on_the_resampled_rows(seed):
    """The bootstrap's fast AP: windows drawn with replacement (repeats, ties of scores,
    species without a drawn positive) give scikit-learn's numbers on the drawn rows."""
    from anuraflow.evaluate.analysis import WeightedAP
    from anuraflow.evaluate.metrics import mean_average_precision

    rng = np.random.default_rng(seed)
    true = (rng.random((60, 5)) < 0.2).astype(int)
    true[:, 4] = 0
    true[3, 4] = 1  # one positive: often not drawn
    prob = np.round(rng.random((60, 5)), 1)  # many ties
    fast = WeightedAP(true, prob)
    for _ in range(20):
        idx = rng.integers(0, 60, 60)
        weights = np.bincount(idx, minlength=60)
        for j, got in enumerate(fast.per_species(weights)):
            t = true[idx, j]
            if t.sum() == 0:
                assert got is None
            else:
                assert got == pytest.approx(average_precision_score(t, prob[idx, j]))
        expected = mean_average_precision(true[idx], prob[idx])
        assert fast.macro(weights) == pytest.approx(expected, nan_ok=True)


def test_macro_f1_from_counts_equals_the_metric_on_the_resampled_rows(tmp_path):
    from anuraflow.evaluate.metrics import macro_f1

    rng = np.random.default_rng(5)
    true = (rng.random((50, 3)) < 0.3).astype(int)
    prob = rng.random((50, 3))
    run = write_predictions(tmp_path / "p.parquet", true, prob, ["s"] * 50, np.arange(50))
    p = run_predictions(run, tmp_path / "p.parquet")
    pred = (prob >= 0.5).astype(int)
    for _ in range(30):
        idx = rng.integers(0, 50, rng.integers(1, 60))
        assert p.macro_f1(idx) == pytest.approx(macro_f1(true[idx], pred[idx]), nan_ok=True)
