import numpy as np
import pandas as pd
import pytest

from anuraflow.data.windows import segment_recording, window_labels, window_starts

CODES = ["AAA", "BBB", "CCC"]


def calls(*rows):
    return pd.DataFrame(rows, columns=["start_s", "end_s", "species"])


def test_window_starts_counts():
    assert window_starts(2.5, 3, 1).tolist() == []
    assert window_starts(3.0, 3, 1).tolist() == [0.0]
    assert len(window_starts(60.0, 3, 1)) == 58  # AnuraSet: 58 windows per minute
    assert window_starts(10.0, 3, 1).tolist() == [0, 1, 2, 3, 4, 5, 6, 7]
    assert window_starts(10.0, 3, 2.5).tolist() == [0, 2.5, 5.0]


def test_any_portion_rule_at_window_edges():
    starts = window_starts(10.0, 3, 1)
    labels = window_labels(
        starts,
        3.0,
        calls(
            (2.0, 3.0, "AAA"),  # ends exactly where window [3, 6] starts
            (5.5, 5.6, "BBB"),  # 0.1 s call
            (9.99, 10.0, "CCC"),
        ),  # touches only the last window
        CODES,
    )
    assert labels[:, 0].tolist() == [1, 1, 1, 0, 0, 0, 0, 0]
    assert labels[:, 1].tolist() == [0, 0, 0, 1, 1, 1, 0, 0]
    assert labels[:, 2].tolist() == [0, 0, 0, 0, 0, 0, 0, 1]


def test_call_starting_at_window_end_is_outside():
    labels = window_labels(np.array([0.0]), 3.0, calls((3.0, 4.0, "AAA")), CODES)
    assert labels.tolist() == [[0, 0, 0]]


def test_min_overlap():
    starts = window_starts(10.0, 3, 1)
    labels = window_labels(
        starts, 3.0, calls((2.8, 4.2, "AAA"), (5.5, 5.6, "BBB")), CODES, min_overlap_s=0.5
    )
    # [0,3] overlaps 0.2 s and [4,7] 0.2 s: below 0.5 s
    assert labels[:, 0].tolist() == [0, 1, 1, 1, 0, 0, 0, 0]
    # a call shorter than the threshold counts where it lies wholly inside
    assert labels[:, 1].tolist() == [0, 0, 0, 1, 1, 1, 0, 0]


def test_segment_recording_table():
    df = segment_recording(
        "SITE_20190101_000000", 5.0, calls((0.5, 1.0, "AAA"), (3.5, 4.0, "CCC")), CODES
    )
    assert df["window_id"].tolist() == [
        "SITE_20190101_000000_0_3",
        "SITE_20190101_000000_1_4",
        "SITE_20190101_000000_2_5",
    ]
    assert df["AAA"].tolist() == [1, 0, 0]
    assert df["CCC"].tolist() == [0, 1, 1]
    assert df["polyphony"].tolist() == [1, 1, 1]
    assert df["empty"].tolist() == [False, False, False]
    empty = segment_recording("r", 4.0, calls(), CODES)
    assert empty["empty"].tolist() == [True, True]
    assert empty["polyphony"].tolist() == [0, 0]


def test_bad_window_parameters():
    with pytest.raises(ValueError):
        window_starts(10, 0, 1)


def _calls(*rows):
    return pd.DataFrame(rows, columns=["start_s", "end_s", "species"])


@pytest.mark.parametrize(
    "call, overlap_windows, anuraset_windows",
    [
        # [5.2, 6.1] -> rounded [5, 7]: w <= 7 and w + 3 >= 5 -> w = 2..7
        ((5.2, 6.1), [3, 4, 5, 6], [2, 3, 4, 5, 6, 7]),
        # whole seconds [2, 3]: windows that only touch it count under the AnuraSet rule
        ((2.0, 3.0), [0, 1, 2], [0, 1, 2, 3]),
        # [9.5, 11.9] -> [9, 12]: w >= 6 (the last window starts at 9 in 12 s)
        ((9.5, 11.9), [7, 8, 9], [6, 7, 8, 9]),
        # a call inside one second: [0.4, 0.6] -> [0, 1]: w = 0, 1
        ((0.4, 0.6), [0], [0, 1]),
    ],
)
def test_anuraset_rule_by_hand(call, overlap_windows, anuraset_windows):
    starts = window_starts(12, 3, 1)  # 0 .. 9
    calls = _calls((*call, "A"))
    for rule, expected in (("overlap", overlap_windows), ("anuraset", anuraset_windows)):
        labels = window_labels(starts, 3, calls, ["A"], rule=rule)[:, 0]
        assert starts[labels == 1].tolist() == expected, rule


def test_anuraset_rule_ignores_min_overlap_and_unknown_rules_fail():
    starts = window_starts(6, 3, 1)
    calls = _calls((2.9, 3.0, "A"))
    assert window_labels(starts, 3, calls, ["A"], 0.5, "anuraset")[:, 0].tolist() == [1, 1, 1, 1]
    with pytest.raises(ValueError, match="label rule 'strict'"):
        window_labels(starts, 3, calls, ["A"], rule="strict")


def test_recordings_without_labels_are_left_out_unless_the_config_says_negative(tmp_path):
    """A season labelled in part: `unlabelled: pool` (and the default) writes no window of a
    recording without labels; `negative` writes them all as holding no call."""
    from anuraflow.data.recordings import unlabelled_mode
    from anuraflow.data.windows import segment_dataset

    manifest = pd.DataFrame({"recording_id": ["a", "b", "u"], "duration_s": [6.0, 6.0, 6.0],
                             "site": "S", "status": "ok",
                             "annotation_status": ["ok", "ok", "no_file"]})  # fmt: skip
    calls = pd.DataFrame({"recording_id": ["a", "b"], "start_s": [0.5, 2.0], "end_s": [1.5, 3.0],
                          "species": ["AAA", "AAA"]})  # fmt: skip
    manifest.to_parquet(tmp_path / "m.parquet")
    calls.to_parquet(tmp_path / "c.parquet")
    pool = segment_dataset(tmp_path / "m.parquet", tmp_path / "c.parquet", tmp_path / "w.parquet",
                           ["AAA"], unlabelled="pool")  # fmt: skip
    assert sorted(pool["recording_id"].unique()) == ["a", "b"] and len(pool) == 2 * 4
    negative = segment_dataset(tmp_path / "m.parquet", tmp_path / "c.parquet",
                               tmp_path / "w.parquet", ["AAA"], unlabelled="negative")  # fmt: skip
    unlabelled = negative[negative["recording_id"] == "u"]
    assert len(unlabelled) == 4 and unlabelled["AAA"].sum() == 0
    # the config's words: the default stops, the old key is read as it meant, and named
    assert unlabelled_mode({}) == ("stop", None)
    assert unlabelled_mode({"unlabelled": "pool"}) == ("pool", None)
    mode, warning = unlabelled_mode({"require_annotations": False})
    assert mode == "negative" and "data.unlabelled: pool keeps them out" in warning
    assert unlabelled_mode({"require_annotations": True})[0] == "stop"
    with pytest.raises(ValueError, match="data.unlabelled must be one of stop, pool, negative"):
        unlabelled_mode({"unlabelled": "ignore"})
