import numpy as np
import pandas as pd
import pytest

from anuraflow.data.splits import (
    SUBSETS,
    kfold_recordings,
    pinned_split,
    place_new_recordings,
    read_split_file,
    recording_labels,
    resolve_grouping,
    split_balance,
    split_dataset,
    split_groups,
    split_recordings,
    stable_split,
    subset_targets,
)


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


# --- stable splits as data grow, pinned splits, balance (issue 13) ---


def _grown(n_before=40, n_after=48, seed=0):
    windows, codes = make_windows(n_after, seed=seed)
    ids, y = recording_labels(windows, codes)
    before = windows[windows["recording_id"].isin(ids[:n_before])]
    return windows, before, codes


def test_added_recordings_move_no_earlier_recording():
    windows, before, codes = _grown()
    ids0, y0 = recording_labels(before, codes)
    first = stable_split(ids0, y0, {})
    assert set(first["origin"]) == {"stratified"}
    pd.testing.assert_frame_equal(
        first.drop(columns="origin"), split_recordings(ids0, y0)
    )  # no earlier assignment: the stratified split
    earlier = dict(zip(first["recording_id"], first["subset"], strict=True))
    ids, y = recording_labels(windows, codes)
    grown = stable_split(ids, y, earlier)
    kept = grown[grown["recording_id"].isin(earlier)]
    assert (kept["subset"] == kept["recording_id"].map(earlier)).all()
    assert (kept["origin"] == "kept").all()
    added = grown[~grown["recording_id"].isin(earlier)]
    assert len(added) == 8 and (added["origin"] == "added").all()
    assert set(added["subset"]) <= set(SUBSETS)
    # removed recordings simply disappear
    shrunk = stable_split(ids0[5:], y0[5:], earlier)
    assert (shrunk["subset"] == shrunk["recording_id"].map(earlier)).all()


def test_placement_takes_the_largest_shortfall_by_hand():
    # targets train .5, val .2, test .3; species A in 10 recordings: train 6, val 2, test 2.
    # A new recording with A: totals 11 A-recordings, 11 recordings.
    # shortfall(s) = (t_s * 11 - have_A) / 11 + (t_s * 11 - have_rec) / 11
    #   train (5.5 - 6) / 11 * 2 = -1/11, val (2.2 - 2) * 2 / 11, test (3.3 - 2) * 2 / 11: test
    targets = {"train": 0.5, "val": 0.2, "test": 0.3}
    subset = np.array(["train"] * 6 + ["val"] * 2 + ["test"] * 2 + [None], dtype=object)
    y = np.ones((11, 1), dtype=int)
    ids = np.array([f"r{i}" for i in range(11)])
    out = place_new_recordings(ids, subset, y, targets, seed=0)
    assert out[:10].tolist() == subset[:10].tolist() and out[10] == "test"
    # an empty recording follows the recording counts alone: train lacks most (5.5 - 6 < ...)
    subset2 = np.array(["train"] * 4 + ["val"] * 3 + ["test"] * 3 + [None], dtype=object)
    y2 = np.zeros((11, 1), dtype=int)
    assert place_new_recordings(ids, subset2, y2, targets, seed=0)[10] == "train"


def test_placement_does_not_depend_on_listing_order():
    windows, before, codes = _grown()
    ids0, y0 = recording_labels(before, codes)
    earlier = dict(zip(ids0, stable_split(ids0, y0, {})["subset"], strict=True))
    ids, y = recording_labels(windows, codes)
    a = stable_split(ids, y, earlier).set_index("recording_id")["subset"]
    order = np.random.default_rng(0).permutation(len(ids))
    b = stable_split(ids[order], y[order], earlier).set_index("recording_id")["subset"]
    assert a.sort_index().equals(b.sort_index())


def test_growth_keeps_the_subsets_stratified():
    windows, before, codes = _grown(60, 80)
    targets = subset_targets(1 / 3, 0.2)
    ids0, y0 = recording_labels(before, codes)
    earlier = dict(zip(ids0, stable_split(ids0, y0, {})["subset"], strict=True))
    ids, y = recording_labels(windows, codes)
    grown = stable_split(ids, y, earlier)
    fresh = split_recordings(ids, y).assign(origin="stratified")
    b_grown = split_balance(grown, windows, codes, targets).set_index("species")
    b_fresh = split_balance(fresh, windows, codes, targets).set_index("species")
    # every species keeps recordings in every subset, and no share strays further than 0.1
    # beyond what a fresh stratified split of all 80 recordings gives
    for c in codes:
        assert min(b_grown.loc[c, s] for s in SUBSETS) > 0
    assert (b_grown["max_deviation"] <= b_fresh["max_deviation"] + 0.1).all()


def test_split_balance_by_hand():
    windows = pd.DataFrame(
        {"recording_id": ["a", "b", "c", "d"], "A": [1, 1, 0, 1], "B": [0, 0, 0, 0]}
    )
    splits = pd.DataFrame(
        {"recording_id": list("abcd"), "subset": ["train", "train", "val", "test"]}
    )
    targets = {"train": 0.5, "val": 0.25, "test": 0.25}
    b = split_balance(splits, windows, ["A", "B"], targets).set_index("species")
    assert b.loc["(recordings)", "max_deviation"] == 0.0
    # A: train 2/3 (target .5), val 0 (.25), test 1/3 (.25): max |.| = 0.25
    assert b.loc["A", ["train", "val", "test"]].tolist() == [2, 0, 1]
    assert b.loc["A", "max_deviation"] == pytest.approx(0.25)
    assert b.loc["B", "recordings"] == 0 and np.isnan(b.loc["B", "max_deviation"])


def test_pinned_split_file(tmp_path):
    windows, codes = make_windows(12)
    ids, y = recording_labels(windows, codes)
    path = tmp_path / "official.csv"
    given = ["test" if i % 3 == 0 else "train" for i in range(12)]
    pd.DataFrame({"recording_id": ids, "subset": given}).to_csv(path, index=False)
    splits = pinned_split(ids, y, read_split_file(path), str(path), 0.25, 0)
    assert (splits.loc[splits["subset"] == "test", "recording_id"] == ids[::3]).all()
    assert (splits["subset"] == "val").sum() == 2  # carved from the 8 train recordings
    assert set(splits.loc[np.array(given) == "test", "subset"]) == {"test"}
    with pytest.raises(ValueError, match="assigns no subset to 1 recording"):
        pinned_split(ids, y, read_split_file(path).iloc[1:], str(path), 0.25, 0)
    bad = tmp_path / "bad.tsv"
    bad.write_text("recording_id\tsubset\nrec00\ttrain\nrec01\tvalidation\n")
    with pytest.raises(ValueError, match="bad.tsv: line 3: subset 'validation'"):
        read_split_file(bad)


def test_ledger_is_kept_under_the_same_settings_only(tmp_path):
    windows, before, codes = _grown(20, 24)
    win_path, out, ledger = tmp_path / "w.parquet", tmp_path / "s.parquet", tmp_path / "l.json"
    before.to_parquet(win_path)
    first = split_dataset(win_path, out, codes, seed=0, ledger_path=ledger)
    windows.to_parquet(win_path)
    grown = split_dataset(win_path, out, codes, seed=0, ledger_path=ledger,
                          balance_path=tmp_path / "b.tsv")  # fmt: skip
    merged = grown.merge(first, on="recording_id", suffixes=("", "_before"))
    assert len(merged) == 20 and (merged["subset"] == merged["subset_before"]).all()
    assert pd.read_csv(tmp_path / "b.tsv", sep="\t")["species"].tolist() == ["(recordings)", *codes]
    reseeded = split_dataset(win_path, out, codes, seed=5, ledger_path=ledger)
    assert set(reseeded["origin"]) == {"stratified"}  # a new seed asks for a new split


def test_grouped_split_keeps_each_group_in_one_subset(tmp_path):
    windows, codes = make_windows(30)
    groups = {f"rec{r:02d}": f"g{r // 3}" for r in range(30)}  # 10 groups of 3 recordings
    path = tmp_path / "w.parquet"
    windows.to_parquet(path)
    splits = split_dataset(path, tmp_path / "s.parquet", codes, groups=groups)
    assert len(splits) == 30 and set(splits["group"]) == set(groups.values())
    assert (splits.groupby("group")["subset"].nunique() == 1).all()
    assert set(splits["subset"]) == {"train", "val", "test"}


def test_groups_by_site_and_night_span_midnight():
    """A night runs from noon to noon: 23:59 and 00:01 are one night, 11:59 the next morning
    still the night before, 12:00 the next night; a recording without a start time is alone."""
    recordings = pd.DataFrame({
        "recording_id": ["a1", "a2", "a3", "a4", "b1", "u"],
        "site": ["moth01"] * 4 + ["moth02", "moth01"],
        "start": pd.to_datetime(["2024-03-01 23:59", "2024-03-02 00:01", "2024-03-02 11:59",
                                 "2024-03-02 12:00", "2024-03-02 00:01", None]),
    })  # fmt: skip
    nights = split_groups(recordings, "site_night")
    assert nights == {"a1": "moth01 night of 2024-03-01", "a2": "moth01 night of 2024-03-01",
                      "a3": "moth01 night of 2024-03-01", "a4": "moth01 night of 2024-03-02",
                      "b1": "moth02 night of 2024-03-01", "u": "u"}  # fmt: skip
    days = split_groups(recordings, "site_day")
    assert days["a1"] != days["a2"] and days["a2"] == days["a3"] == days["a4"]
    assert split_groups(recordings, "site")["u"] == "moth01"
    assert split_groups(recordings, "recording") == {r: r for r in recordings["recording_id"]}
    with pytest.raises(ValueError, match="split.group must be one of"):
        split_groups(recordings, "night")
    # auto: a night holds several recordings, but one has no start time: by recording
    assert resolve_grouping(recordings, "auto") == "recording"
    timed = recordings.iloc[:5]
    assert resolve_grouping(timed, "auto") == "recording"  # three nights: too few to split
    many = pd.concat([timed.assign(recording_id=timed["recording_id"] + f"_{k}",
                                   start=timed["start"] + pd.Timedelta(days=k))
                      for k in range(2)], ignore_index=True)  # fmt: skip
    assert resolve_grouping(many, "auto") == "site_night"  # six nights
    one_each = timed.iloc[[0, 3, 4]]  # every night one recording: nothing to keep together
    assert resolve_grouping(one_each, "auto") == "recording"
    # fewer than MIN_GROUPS (5) nights: auto splits by recording, a grouping asked for is
    # refused, naming why
    with pytest.raises(ValueError, match=r"split.group: site makes 2 groups of the 5 recordings, "
                       r"too few for train, validation and test \(at least 5\)"):  # fmt: skip
        resolve_grouping(timed, "site")


def test_a_season_of_minutes_is_split_with_every_night_in_one_subset(tmp_path):
    """Two recorders, five nights, six one-minute recordings a night, from the manifest's
    sites and start times (split.group auto): no night in two subsets, and the split says so."""
    from anuraflow.report.data_tables import split_origin_text

    rows, manifest = [], []
    rng = np.random.default_rng(3)
    for site in ("moth01", "moth02"):
        for night in range(5):
            here = rng.random(3) < [0.8, 0.5, 0.4]
            for minute in range(6):
                start = pd.Timestamp("2024-03-01 22:00") + pd.Timedelta(days=night,
                                                                        minutes=40 * minute)
                rid = f"{site}_{start:%Y%m%d_%H%M%S}"
                manifest.append({"recording_id": rid, "site": site, "start_datetime": start,
                                 "status": "ok"})  # fmt: skip
                rows += [{"recording_id": rid, "start_s": float(w),
                          **{c: int(h) for c, h in zip("ABC", here, strict=True)}}
                         for w in range(3)]  # fmt: skip
    pd.DataFrame(rows).to_parquet(tmp_path / "w.parquet")
    pd.DataFrame(manifest).to_parquet(tmp_path / "m.parquet")
    splits = split_dataset(tmp_path / "w.parquet", tmp_path / "s.parquet", list("ABC"),
                           grouping="auto", manifest_path=tmp_path / "m.parquet")  # fmt: skip
    assert len(splits) == 60 and splits["group"].nunique() == 10
    assert (splits.groupby("group")["subset"].nunique() == 1).all()
    assert set(splits["subset"]) == set(SUBSETS) and set(splits["grouped_by"]) == {"site_night"}
    assert split_origin_text(splits) == (
        "A stratified split of all 60 recordings. Split by group, each site's night (noon to "
        "noon) in one subset: 10 groups (split.group: site_night)."
    )
    by_recording = split_dataset(tmp_path / "w.parquet", tmp_path / "r.parquet", list("ABC"),
                                 grouping="recording",
                                 manifest_path=tmp_path / "m.parquet")  # fmt: skip
    assert "group" not in by_recording and set(by_recording["grouped_by"]) == {"recording"}
    assert split_origin_text(by_recording).endswith("(split.group: recording).")


def test_by_site_folds_hold_out_exactly_one_site_each(tmp_path):
    """Leave one site out: fold k's test set is site k's recordings, and no recording of that
    site trains or validates; every other recording does one or the other."""
    from anuraflow.data.splits import site_folds
    from anuraflow.learn.run_data import RunInputs, run_windows

    rows = []
    for r, site in enumerate(["A", "A", "B", "B", "B", "C"]):
        for start in range(3):
            rows.append({"recording_id": f"r{r}", "site": site, "start_s": float(start)})
    pd.DataFrame(rows).to_parquet(tmp_path / "windows.parquet")
    subsets = ["train", "test", "val", "train", "test", "train"]
    pd.DataFrame({"recording_id": [f"r{r}" for r in range(6)], "subset": subsets}).to_parquet(
        tmp_path / "splits.parquet"
    )
    folds = site_folds(tmp_path / "windows.parquet", tmp_path / "folds.parquet", ["A", "B", "C"])
    assert folds.set_index("recording_id")["fold"].to_dict() == {
        "r0": 0, "r1": 0, "r2": 1, "r3": 1, "r4": 1, "r5": 2
    }  # fmt: skip
    inputs = RunInputs(
        tmp_path / "windows.parquet",
        tmp_path / "splits.parquet",
        "",
        folds=tmp_path / "folds.parquet",
        fold_holds_out="test",
    )
    for k, site in enumerate(["A", "B", "C"]):
        w = run_windows(inputs, k)
        assert set(w.loc[w["subset"] == "test", "site"]) == {site}
        assert (w.loc[w["site"] == site, "subset"] == "test").all()
        others = w[w["site"] != site]
        assert set(others["subset"]) <= {"train", "val"}
        # validation stays what the split made it (r2, site B), outside the held-out site;
        # holding out B, the split's test recording of another site (r1) validates instead
        assert set(others.loc[others["subset"] == "val", "recording_id"]) == (
            {"r1"} if site == "B" else {"r2"}
        )
    with pytest.raises(ValueError, match="lacks"):
        site_folds(tmp_path / "windows.parquet", tmp_path / "f.parquet", ["A", "B"])


def test_by_site_validation_falls_back_to_the_splits_test_recordings(tmp_path):
    from anuraflow.data.splits import site_folds
    from anuraflow.learn.run_data import RunInputs, run_windows

    rows = [{"recording_id": f"r{r}", "site": s, "start_s": 0.0} for r, s in enumerate("AABB")]
    pd.DataFrame(rows).to_parquet(tmp_path / "windows.parquet")
    pd.DataFrame(
        {"recording_id": ["r0", "r1", "r2", "r3"], "subset": ["val", "train", "test", "train"]}
    ).to_parquet(tmp_path / "splits.parquet")
    site_folds(tmp_path / "windows.parquet", tmp_path / "folds.parquet", ["A", "B"])
    inputs = RunInputs(
        tmp_path / "windows.parquet", tmp_path / "splits.parquet", "",
        folds=tmp_path / "folds.parquet", fold_holds_out="test",
    )  # fmt: skip
    w = run_windows(inputs, 0).set_index("recording_id")["subset"].to_dict()
    assert w == {"r0": "test", "r1": "test", "r2": "val", "r3": "train"}
    w = run_windows(inputs, 1).set_index("recording_id")["subset"].to_dict()
    assert w == {"r0": "val", "r1": "train", "r2": "test", "r3": "test"}


def test_k_folds_are_stable_as_data_grow(tmp_path):
    """Adding recordings moves no earlier one between folds; new ones fill the folds that
    lack their species; another k or seed asks for new folds."""
    from anuraflow.data.splits import kfold_dataset

    windows, codes = make_windows(30)
    splits = pd.DataFrame({"recording_id": sorted(windows["recording_id"].unique())})
    splits["subset"] = "train"
    win_path, split_path = tmp_path / "w.parquet", tmp_path / "s.parquet"
    first_windows = windows[windows["recording_id"] < "rec20"]
    first_windows.to_parquet(win_path)
    splits.to_parquet(split_path)
    ledger, out = tmp_path / "ledger.json", tmp_path / "k3.parquet"
    first = kfold_dataset(win_path, split_path, out, codes, k=3, seed=1, ledger_path=ledger)
    assert len(first) == 20 and set(first["origin"]) == {"stratified"}
    # the first folds are kfold_recordings' own
    ids, y = recording_labels(first_windows, codes)
    assert first["fold"].tolist() == kfold_recordings(ids, y, 3, 1)["fold"].tolist()
    windows.to_parquet(win_path)
    grown = kfold_dataset(win_path, split_path, out, codes, k=3, seed=1, ledger_path=ledger)
    merged = grown.merge(first, on="recording_id", suffixes=("", "_before"))
    assert len(grown) == 30 and len(merged) == 20
    assert (merged["fold"] == merged["fold_before"]).all()
    assert (merged["origin"] == "kept").all()
    assert set(grown.loc[~grown["recording_id"].isin(first["recording_id"]), "origin"]) == {"added"}
    assert grown["fold"].value_counts().sort_index().tolist() == [10, 10, 10]
    other_k = kfold_dataset(win_path, split_path, out, codes, k=5, seed=1, ledger_path=ledger)
    assert set(other_k["origin"]) == {"stratified"} and set(other_k["fold"]) == set(range(5))
