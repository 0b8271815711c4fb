"""Recording-level train / validation / test splits, stratified for multi-label data.

Windows overlap by 2 s, so splitting windows would leak: every split is made over recordings.
Iterative stratification (Sechidis et al. 2011, via `iterative-stratification`) keeps each
species' share of recordings close to the target fractions.

Splits are stable as data grow: a ledger keeps every assignment made, so an added recording is
placed (stratified as far as the fixed ones allow) without moving any earlier one; a split
file pins a split outright (e.g. a published one).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
from iterstrat.ml_stratifiers import MultilabelStratifiedShuffleSplit

from anuraflow.core.fileio import write_json, write_parquet, write_text


def recording_labels(windows: pd.DataFrame, codes: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Recording ids and their multi-hot presence matrix (species present in any window)."""
    presence = windows.groupby("recording_id")[codes].max().sort_index()
    return presence.index.to_numpy(), presence.to_numpy().astype(int)


def _stratified_holdout(y: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    splitter = MultilabelStratifiedShuffleSplit(n_splits=1, test_size=fraction, random_state=seed)
    keep, held = next(splitter.split(np.zeros((len(y), 1)), y))
    if len(held) == 0 or len(keep) == 0:
        # Iterative stratification can leave a side empty on a handful of recordings; every
        # subset must exist, so fall back to a seeded random split of the same size.
        n_held = min(max(1, round(fraction * len(y))), len(y) - 1)
        order = np.random.default_rng(seed).permutation(len(y))
        held, keep = order[:n_held], order[n_held:]
    return np.sort(keep), np.sort(held)


def split_recordings(
    recording_ids: np.ndarray,
    y: np.ndarray,
    test_fraction: float = 1 / 3,
    val_fraction: float = 0.2,
    seed: int = 0,
) -> pd.DataFrame:
    """Assign each recording to exactly one of train / val / test.

    `val_fraction` is the share of the training recordings carved out for validation.
    """
    if len(recording_ids) < 3:
        raise ValueError(f"need at least 3 recordings for train/val/test, got {len(recording_ids)}")
    subset = np.empty(len(recording_ids), dtype=object)
    train_idx, test_idx = _stratified_holdout(y, test_fraction, seed)
    fit_idx, val_idx = _stratified_holdout(y[train_idx], val_fraction, seed + 1)
    subset[test_idx] = "test"
    subset[train_idx[fit_idx]] = "train"
    subset[train_idx[val_idx]] = "val"
    return pd.DataFrame({"recording_id": recording_ids, "subset": subset})


SUBSETS = ("train", "val", "test")

# what a split keeps together (split.group): minutes of one night at one site share the same
# calling individuals, so splitting them by recording puts the same frogs in train and test
GROUPINGS = ("recording", "site_night", "site_day", "site")
NIGHT_STARTS_H = 12  # a night runs from noon to noon, so it spans midnight


def split_groups(recordings: pd.DataFrame, how: str) -> dict[str, str]:
    """Recording -> the group it is split with (`recordings`: recording_id, site, start, a
    datetime or NaT): itself (`recording`), its site, its site and calendar day, or its site
    and night (`site_night`: the night of the evening it belongs to, noon to noon). A
    recording without a start time is a group of its own under the time-based groupings."""
    if how not in GROUPINGS:
        raise ValueError(f"split.group must be one of {', '.join(GROUPINGS)}, not {how!r}")
    out = {}
    for rid, site, start in zip(recordings["recording_id"], recordings["site"],
                                recordings["start"], strict=True):  # fmt: skip
        if how == "recording" or (how != "site" and pd.isna(start)):
            out[rid] = rid
        elif how == "site":
            out[rid] = str(site)
        elif how == "site_day":
            out[rid] = f"{site} {pd.Timestamp(start):%Y-%m-%d}"
        else:
            evening = pd.Timestamp(start) - pd.Timedelta(hours=NIGHT_STARTS_H)
            out[rid] = f"{site} night of {evening:%Y-%m-%d}"
    return out


MIN_GROUPS = 5  # fewer cannot give train, validation and test a group each, with room to stratify


def resolve_grouping(recordings: pd.DataFrame, how: str) -> str:
    """`split.group: auto` made concrete: `site_night` where every recording's name gives its
    start time, some site's night holds more than one recording (a continuous recorder's
    minutes) and there are at least MIN_GROUPS nights, else `recording`; any other value as
    given, or an error where it leaves fewer than MIN_GROUPS groups."""
    if how == "recording":
        return how
    if how == "auto":
        if len(recordings) == 0 or recordings["start"].isna().any():
            return "recording"
        groups = pd.Series(split_groups(recordings, "site_night"))
        several = groups.value_counts().max() > 1
        return "site_night" if several and groups.nunique() >= MIN_GROUPS else "recording"
    n_groups = len(set(split_groups(recordings, how).values()))
    if n_groups < MIN_GROUPS:
        raise ValueError(f"split.group: {how} makes {n_groups} groups of the "
                         f"{len(recordings)} recordings, too few for train, validation and "
                         f"test (at least {MIN_GROUPS}); choose a finer grouping")  # fmt: skip
    return how


def subset_targets(test_fraction: float, val_fraction: float) -> dict[str, float]:
    """The share of recordings each subset aims at (val is carved from the non-test part)."""
    return {
        "train": (1 - test_fraction) * (1 - val_fraction),
        "val": (1 - test_fraction) * val_fraction,
        "test": test_fraction,
    }


def _stable_order(ids: np.ndarray, seed: int) -> np.ndarray:
    """Indices of `ids` in an order fixed by (seed, id) alone, whatever order they came in."""
    keys = [hashlib.sha256(f"{seed}:{i}".encode()).hexdigest() for i in ids]
    return np.argsort(np.array(keys), kind="stable")


def place_new_recordings(
    ids: np.ndarray, subset: np.ndarray, y: np.ndarray, targets: dict[str, float], seed: int
) -> np.ndarray:
    """Fill the empty entries of `subset` (recordings never assigned before) one at a time,
    leaving every assigned recording where it is. `targets` maps each subset (train / val /
    test, or the k cross-validation folds) to its target share.

    Each new recording goes to the subset that most lacks what it carries: for every species
    it holds, the subset's shortfall (target share x recordings with the species, counting
    this one, minus those the subset has), scaled by that species' recordings so rare species
    weigh most; plus the same shortfall of recordings overall. New recordings are taken in an
    order fixed by the seed and their ids, so the result does not depend on listing order.
    """
    names = list(targets)  # the subsets (or folds) to fill, in tie-break order
    subset = subset.astype(object).copy()
    have = {s: y[subset == s].sum(axis=0).astype(float) for s in names}
    n_have = {s: float((subset == s).sum()) for s in names}
    total, n_total = y[subset != None].sum(axis=0).astype(float), float((subset != None).sum())  # noqa: E711
    new = np.flatnonzero(subset == None)  # noqa: E711
    for i in new[_stable_order(ids[new], seed)]:
        total, n_total = total + y[i], n_total + 1
        carried = y[i] > 0
        scale = np.maximum(total, 1)
        shortfall = {
            s: float(((targets[s] * total - have[s]) / scale)[carried].sum())
            + (targets[s] * n_total - n_have[s]) / n_total
            for s in names
        }
        best = max(names, key=lambda s: (shortfall[s], targets[s]))
        subset[i] = best
        have[best] = have[best] + y[i]
        n_have[best] += 1
    return subset


def split_balance(
    splits: pd.DataFrame, windows: pd.DataFrame, codes: list[str], targets: dict[str, float]
) -> pd.DataFrame:
    """Per species: recordings holding it in each subset and the largest distance of a
    subset's share of them from its target share (0 = perfectly stratified); a first row
    `(recordings)` does the same for the recordings themselves."""
    ids, y = recording_labels(windows, codes)
    subset = splits.set_index("recording_id")["subset"].reindex(ids).to_numpy()
    rows = [("(recordings)", np.ones(len(ids), dtype=int))] + [
        (c, y[:, j]) for j, c in enumerate(codes)
    ]
    out = []
    for name, col in rows:
        n = int(col.sum())
        counts = {s: int(col[subset == s].sum()) for s in SUBSETS}
        deviation = max(abs(counts[s] / n - targets[s]) for s in SUBSETS) if n else float("nan")
        out.append({"species": name, "recordings": n, **counts, "max_deviation": deviation})
    return pd.DataFrame(out)


def read_split_file(path: str | Path) -> pd.DataFrame:
    """A pinned split: recording_id and subset (train / val / test, or train / test only)."""
    path = Path(path)
    if path.suffix == ".parquet":
        table = pd.read_parquet(path)
    else:
        table = pd.read_csv(path, sep="\t" if path.suffix in (".tsv", ".txt") else ",")
    missing = {"recording_id", "subset"} - set(table.columns)
    if missing:
        raise ValueError(f"{path}: split.file needs columns recording_id and subset; lacks "
                         f"{', '.join(sorted(missing))}")  # fmt: skip
    bad = table.index[~table["subset"].isin(SUBSETS)]
    if len(bad):
        i = bad[0]
        raise ValueError(
            f"{path}: line {i + 2}: subset {table.loc[i, 'subset']!r} is not train, val or test"
        )
    repeated = table["recording_id"].duplicated()
    if repeated.any():
        i = table.index[repeated][0]
        raise ValueError(f"{path}: line {i + 2}: recording {table.loc[i, 'recording_id']!r} "
                         "is listed twice")  # fmt: skip
    return table[["recording_id", "subset"]].astype(str)


def pinned_split(
    ids: np.ndarray, y: np.ndarray, table: pd.DataFrame, path: str, val_fraction: float, seed: int
) -> pd.DataFrame:
    """The split a split.file gives; val carved (stratified) from its train part when it has
    no val subset, e.g. the official AnuraSet train / test split."""
    given = table.set_index("recording_id")["subset"]
    absent = [i for i in ids if i not in given.index]
    if absent:
        raise ValueError(
            f"{path}: split.file assigns no subset to {len(absent)} recording(s) of the data, "
            f"e.g. {', '.join(absent[:5])}; add them to the file or remove split.file"
        )
    subset = given.reindex(ids).to_numpy().astype(object)
    if "val" not in set(subset):
        train = np.flatnonzero(subset == "train")
        if len(train) >= 2:
            _, val = _stratified_holdout(y[train], val_fraction, seed + 1)
            subset[train[val]] = "val"
    return pd.DataFrame({"recording_id": ids, "subset": subset, "origin": "file"})


def stable_split(
    ids: np.ndarray,
    y: np.ndarray,
    earlier: dict[str, str],
    test_fraction: float = 1 / 3,
    val_fraction: float = 0.2,
    seed: int = 0,
) -> pd.DataFrame:
    """Recordings assigned before (`earlier`: recording -> subset) keep their subset; new ones
    are placed by `place_new_recordings`. With no earlier assignment, the stratified split of
    `split_recordings`. `origin` says which: stratified, kept or added."""
    if not any(i in earlier for i in ids):
        out = split_recordings(ids, y, test_fraction, val_fraction, seed)
        return out.assign(origin="stratified")
    targets = subset_targets(test_fraction, val_fraction)
    subset, origin = keep_and_place(ids, y, earlier, targets, seed)
    return pd.DataFrame({"recording_id": ids, "subset": subset, "origin": origin})


def keep_and_place(
    ids: np.ndarray, y: np.ndarray, earlier: dict, targets: dict, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Every recording assigned before (`earlier`) keeps its subset or fold; the new ones are
    placed by `place_new_recordings`. Returns the assignments and their origin (kept / added)."""
    assigned = np.array([earlier.get(i) for i in ids], dtype=object)
    origin = np.where(assigned == None, "added", "kept")  # noqa: E711
    return place_new_recordings(ids, assigned, y, targets, seed), origin


def write_ledger(path: str | Path, settings: dict, earlier: dict, ids, assigned) -> None:
    """The ledger after this run: every earlier assignment (a recording that left the data
    keeps its entry) updated with today's."""
    today = dict(zip(ids, pd.Series(assigned).tolist(), strict=True))
    write_json({"settings": settings, "assignments": {**earlier, **today}}, path)


def read_ledger(path: str | Path, settings: dict) -> dict[str, str]:
    """Earlier assignments made under the same split settings; none when the settings (seed,
    fractions) changed, since changing them asks for a new split."""
    path = Path(path)
    if not path.is_file():
        return {}
    ledger = json.loads(path.read_text())
    if ledger.get("settings") != settings:
        print(f"{path}: split settings changed ({ledger.get('settings')} -> {settings}): "
              "a new split", flush=True)  # fmt: skip
        return {}
    return dict(ledger["assignments"])


def split_dataset(
    windows_path: str | Path,
    out_path: str | Path,
    codes: list[str],
    test_fraction: float = 1 / 3,
    val_fraction: float = 0.2,
    seed: int = 0,
    ledger_path: str | Path | None = None,
    split_file: str | Path | None = None,
    balance_path: str | Path | None = None,
    groups: dict[str, str] | None = None,
    grouping: str = "recording",
    manifest_path: str | Path | None = None,
) -> pd.DataFrame:
    """splits.parquet (recording_id, subset, origin, and with groups group and grouped_by)
    from windows.parquet.

    `split_file` pins the split. Otherwise `ledger_path` remembers every assignment made under
    the current settings, so recordings added later never move earlier ones; a recording that
    leaves the data keeps its entry and gets its subset back if it returns. `groups` (recording
    -> group, e.g. the recording class-folder clips were cut from) splits by group: the
    recordings of a group always share a subset. Without them, `grouping` (split.group, with
    the manifest's sites and start times) makes the groups: a site's night by default where
    recorders ran continuously (`resolve_grouping`).
    """
    windows = pd.read_parquet(windows_path)
    grouped_by = "clip groups" if groups else "recording"
    # a split file pins recordings one by one: no grouping on top of it
    if not groups and manifest_path is not None and not split_file:
        manifest = pd.read_parquet(manifest_path)
        used = manifest[manifest["recording_id"].isin(set(windows["recording_id"]))]
        timed = used.rename(columns={"start_datetime": "start"})
        grouped_by = resolve_grouping(timed, grouping)
        if grouped_by != "recording":
            groups = split_groups(timed, grouped_by)
    print(f"split grouped by {grouped_by} (split.group: {grouping})", flush=True)
    # recordings known only through their reviewed windows always train: their labels are
    # partial, so they can neither select a model nor test it
    partial = windows.get("partial", pd.Series(False, index=windows.index)).to_numpy(bool)
    reviewed = sorted(windows.loc[partial, "recording_id"].unique())
    windows = windows[~partial]
    recordings = windows["recording_id"]
    if groups:
        windows = windows.assign(recording_id=recordings.map(groups).fillna(recordings))
    ids, y = recording_labels(windows, codes)
    settings = {"test_fraction": test_fraction, "val_fraction": val_fraction, "seed": seed}
    if grouped_by not in ("recording", "clip groups"):  # a ledger of other groups: a new split
        settings["group"] = grouped_by
    if split_file:
        splits = pinned_split(ids, y, read_split_file(split_file), str(split_file),
                              val_fraction, seed)  # fmt: skip
    else:
        earlier = read_ledger(ledger_path, settings) if ledger_path else {}
        splits = stable_split(ids, y, earlier, test_fraction, val_fraction, seed)
        if ledger_path:
            write_ledger(ledger_path, settings, earlier, splits["recording_id"], splits["subset"])
    if groups:  # back from groups to their recordings
        by_group = splits.rename(columns={"recording_id": "group"})
        members = pd.DataFrame({"recording_id": recordings.unique()})
        members["group"] = members["recording_id"].map(groups).fillna(members["recording_id"])
        splits = members.merge(by_group, on="group").sort_values("recording_id")
        splits = splits[["recording_id", "subset", "origin", "group"]].reset_index(drop=True)
        windows = windows.assign(recording_id=recordings)
    if reviewed:
        pinned = pd.DataFrame({"recording_id": reviewed, "subset": "train", "origin": "reviewed"})
        splits = pd.concat([splits, pinned], ignore_index=True)
    splits["grouped_by"] = grouped_by
    counts = splits["origin"].value_counts().to_dict()
    print(f"split: {len(splits)} recordings; " + ", ".join(f"{v} {k}" for k, v in counts.items()))
    write_parquet(splits, out_path)
    if balance_path:
        targets = subset_targets(test_fraction, val_fraction)
        balance = split_balance(splits, windows, codes, targets)
        write_text(balance.to_csv(sep="\t", index=False, float_format="%.4f"), balance_path)
    return splits


def kfold_recordings(
    recording_ids: np.ndarray, y: np.ndarray, k: int = 5, seed: int = 0
) -> pd.DataFrame:
    """Each recording in exactly one of `k` folds, multi-label stratified (seed 003's 5-fold
    cross-validation, by recording so overlapping windows never straddle two folds)."""
    from iterstrat.ml_stratifiers import MultilabelStratifiedKFold

    if len(recording_ids) < k:
        raise ValueError(f"{k}-fold cross-validation needs at least {k} recordings")
    fold = np.empty(len(recording_ids), dtype=np.int64)
    splitter = MultilabelStratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    for f, (_, held) in enumerate(splitter.split(np.zeros((len(y), 1)), y)):
        fold[held] = f
    return pd.DataFrame({"recording_id": recording_ids, "fold": fold})


def stable_kfold(
    ids: np.ndarray, y: np.ndarray, earlier: dict[str, int], k: int, seed: int = 0
) -> pd.DataFrame:
    """Folds that are stable as data grow, as the split is: recordings assigned a fold before
    (`earlier`: recording -> fold) keep it, new ones go to the fold that most lacks their
    species (`place_new_recordings`, target 1/k each). With no earlier assignment, the
    stratified folds of `kfold_recordings`. `origin` says which: stratified, kept or added."""
    if not any(i in earlier for i in ids):
        return kfold_recordings(ids, y, k, seed).assign(origin="stratified")
    fold, origin = keep_and_place(ids, y, earlier, {f: 1 / k for f in range(k)}, seed)
    return pd.DataFrame({"recording_id": ids, "fold": fold.astype(np.int64), "origin": origin})


def kfold_dataset(
    windows_path: str | Path,
    splits_path: str | Path,
    out_path: str | Path,
    codes: list[str],
    k: int,
    seed: int = 0,
    ledger_path: str | Path | None = None,
) -> pd.DataFrame:
    """folds.parquet (recording_id, fold, origin) over the train and validation recordings;
    test recordings stay out. `ledger_path` remembers every fold assigned under the same (k,
    seed), so recordings added later never move earlier ones between folds."""
    windows = pd.read_parquet(windows_path)
    splits = pd.read_parquet(splits_path)
    pool = set(splits.loc[splits["subset"] != "test", "recording_id"])
    ids, y = recording_labels(windows[windows["recording_id"].isin(pool)], codes)
    settings = {"k": k, "seed": seed}
    earlier = read_ledger(ledger_path, settings) if ledger_path else {}
    folds = stable_kfold(ids, y, earlier, k, seed)
    if ledger_path:
        write_ledger(ledger_path, settings, earlier, folds["recording_id"], folds["fold"])
    counts = folds["origin"].value_counts().to_dict()
    print(
        f"{k} folds: {len(folds)} recordings; " + ", ".join(f"{v} {o}" for o, v in counts.items())
    )
    write_parquet(folds, out_path)
    return folds


def site_folds(windows_path: str | Path, out_path: str | Path, sites: list[str]) -> pd.DataFrame:
    """Leave-one-site-out folds (`split.method: by_site`): every recording's fold is its
    site's position in `sites` (the workflow's sorted site list, so fold k is site k)."""
    windows = pd.read_parquet(windows_path, columns=["recording_id", "site"])
    recordings = windows.drop_duplicates("recording_id").sort_values("recording_id")
    unknown = sorted(set(recordings["site"]) - set(sites))
    if unknown:
        raise ValueError(f"windows have sites {unknown} that the workflow's site list lacks")
    fold = recordings["site"].map({s: i for i, s in enumerate(sites)}).astype(np.int64)
    folds = pd.DataFrame(
        {"recording_id": recordings["recording_id"], "site": recordings["site"], "fold": fold}
    ).reset_index(drop=True)
    write_parquet(folds, out_path)
    return folds
