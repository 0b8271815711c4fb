"""Dataset variants (AnuraSet-36N / -36) and the single-label task."""

import numpy as np
import pandas as pd

from anuraflow.evaluate.metrics import class_index
from anuraflow.learn.tasks import prepare_task, single_subset_species

CODES = ["A", "B", "C", "D"]
WINDOWS = pd.DataFrame(
    {
        "window_id": range(6),
        "subset": ["train", "train", "val", "test", "test", "test"],
        "A": [1, 0, 1, 1, 0, 0],  # in training and test
        "B": [0, 1, 0, 0, 0, 0],  # training only
        "C": [0, 0, 0, 0, 1, 0],  # test only
        "D": [0, 0, 0, 1, 0, 0],  # test only
    }
)


def test_single_subset_species():
    assert single_subset_species(WINDOWS, CODES) == ["B", "C", "D"]


def test_36n_drops_species_but_keeps_every_window():
    data = prepare_task(WINDOWS, CODES, drop_single_subset_species=True)
    assert data.codes == ["A"] and len(data.windows) == 6
    assert "B" not in data.windows.columns
    assert data.summary()["dropped_species"] == ["B", "C", "D"]


def test_36_also_drops_windows_that_had_no_species():
    data = prepare_task(WINDOWS, CODES, drop_single_subset_species=True, drop_empty_windows=True)
    # window 5 had no species; windows 1 and 4 keep (no species left among the kept ones)
    assert data.windows["window_id"].tolist() == [0, 1, 2, 3, 4]
    assert data.dropped_windows == {"empty": 1}


def test_36_with_the_authors_rule_drops_windows_empty_over_the_kept_species():
    data = prepare_task(
        WINDOWS,
        CODES,
        drop_single_subset_species=True,
        drop_empty_windows=True,
        empty_over="kept_species",
    )
    # windows 1 (only B) and 4 (only C) hold no kept species either: dropped with window 5
    assert data.windows["window_id"].tolist() == [0, 2, 3]
    assert data.dropped_windows == {"empty": 3}


def test_multiclass_keeps_windows_with_exactly_one_species():
    data = prepare_task(WINDOWS, CODES, task="multiclass")
    assert data.windows["window_id"].tolist() == [0, 1, 2, 4]
    assert data.dropped_windows == {"not_exactly_one_species": 2}
    assert class_index(data.windows[CODES].to_numpy()).tolist() == [0, 1, 0, 2]
    assert class_index(np.array([[1, 1], [0, 0]])).tolist() == [-1, -1]
