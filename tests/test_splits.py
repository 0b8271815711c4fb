import numpy as np
import pandas as pd
import pytest

from anuraflow.splits import recording_labels, split_recordings


def make_windows(n_recordings=30, codes=("A", "B", "C", "D"), seed=0):
    rng = np.random.default_rng(seed)
    rows = []
    for r in range(n_recordings):
        present = rng.random(len(codes)) < [0.7, 0.4, 0.2, 0.1]
        for w in range(5):
            rows.append(
                {
                    "recording_id": f"rec{r:02d}",
                    "start_s": w,
                    **{
                        c: int(p and rng.random() < 0.6)
                        for c, p in zip(codes, present, strict=True)
                    },
                }
            )
    return pd.DataFrame(rows), list(codes)


def test_no_recording_in_two_subsets():
    windows, codes = make_windows()
    ids, y = recording_labels(windows, codes)
    splits = split_recordings(ids, y, test_fraction=1 / 3, val_fraction=0.2, seed=3)
    assert splits["recording_id"].is_unique
    assert set(splits["recording_id"]) == set(windows["recording_id"])
    assert set(splits["subset"]) == {"train", "val", "test"}
    groups = {s: set(g["recording_id"]) for s, g in splits.groupby("subset")}
    assert not groups["train"] & groups["val"]
    assert not groups["train"] & groups["test"]
    assert not groups["val"] & groups["test"]
    assert len(groups["test"]) == 10  # 1/3 of 30 recordings
    assert len(groups["val"]) == 4  # 20 % of the 20 training recordings


def test_split_is_deterministic():
    windows, codes = make_windows()
    ids, y = recording_labels(windows, codes)
    a = split_recordings(ids, y, seed=1)
    b = split_recordings(ids, y, seed=1)
    assert a.equals(b)


def test_recording_labels_presence():
    windows = pd.DataFrame({"recording_id": ["r1", "r1", "r2"], "A": [0, 1, 0], "B": [0, 0, 0]})
    ids, y = recording_labels(windows, ["A", "B"])
    assert ids.tolist() == ["r1", "r2"] and y.tolist() == [[1, 0], [0, 0]]


def test_too_few_recordings():
    with pytest.raises(ValueError, match="at least 3 recordings"):
        split_recordings(np.array(["a", "b"]), np.zeros((2, 1), int))


@pytest.mark.parametrize("n", [3, 4, 5, 8])
def test_every_subset_exists_for_few_recordings(n):
    windows, codes = make_windows(n_recordings=n)
    ids, y = recording_labels(windows, codes)
    for seed in range(5):
        splits = split_recordings(ids, y, seed=seed)
        assert set(splits["subset"]) == {"train", "val", "test"}
        assert splits["recording_id"].is_unique and len(splits) == n
