"""Sliding windows over recordings with multi-hot labels: the overlap rule, or the AnuraSet
authors' rule that made the release's labels."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from anuraflow.core.fileio import write_parquet

EPS = 1e-9


def window_starts(duration_s: float, window_s: float, hop_s: float) -> np.ndarray:
    """Start times of every full window; a recording shorter than one window has none."""
    if window_s <= 0 or hop_s <= 0:
        raise ValueError("window and hop must be positive")
    if duration_s + EPS < window_s:
        return np.zeros(0)
    n = int(np.floor((duration_s - window_s) / hop_s + EPS)) + 1
    return np.round(np.arange(n) * hop_s, 6)


LABEL_RULES = ("overlap", "anuraset")


def window_labels(
    starts: np.ndarray,
    window_s: float,
    calls: pd.DataFrame,
    codes: list[str],
    min_overlap_s: float = 0.0,
    rule: str = "overlap",
) -> np.ndarray:
    """Multi-hot [n_windows, n_species] labels.

    `rule="overlap"`: a species is active in a window if any portion of one of its calls falls
    inside it (overlap strictly positive; a call ending exactly at the window start does not
    count). With `min_overlap_s` the overlap must also reach min(min_overlap_s, call length),
    so a call shorter than the threshold still counts when it lies wholly inside. A point
    call (start = end, a click in Raven or Audacity) has no length to overlap: it marks every
    window containing its time, window edges included (closed intervals).

    `rule="anuraset"`: the AnuraSet authors' preprocessing, which made the release's labels:
    each call is rounded outwards to whole seconds (start floored, end ceiled) and a species
    is active in [w, w + window_s] when w <= end and w + window_s >= start, closed intervals,
    so a window that only touches the rounded call counts. `min_overlap_s` does not apply.
    """
    if rule not in LABEL_RULES:
        raise ValueError(f"label rule {rule!r}: one of {', '.join(LABEL_RULES)}")
    labels = np.zeros((len(starts), len(codes)), dtype=np.uint8)
    if len(starts) == 0 or len(calls) == 0:
        return labels
    index = {c: i for i, c in enumerate(codes)}
    w_start = starts[:, None]
    w_end = w_start + window_s
    c_start = calls["start_s"].to_numpy()[None, :]
    c_end = calls["end_s"].to_numpy()[None, :]
    if rule == "anuraset":
        c_start, c_end = np.floor(c_start + EPS), np.ceil(c_end - EPS)
        active = (w_start <= c_end + EPS) & (w_end + EPS >= c_start)
    else:
        overlap = np.minimum(w_end, c_end) - np.maximum(w_start, c_start)
        needed = np.minimum(min_overlap_s, c_end - c_start)
        point = c_end - c_start <= EPS
        inside = (w_start <= c_start + EPS) & (c_start <= w_end + EPS)
        active = np.where(point, inside, (overlap > EPS) & (overlap + EPS >= needed))
    cols = np.array([index[s] for s in calls["species"]])
    for j in range(len(codes)):
        hits = cols == j
        if hits.any():
            labels[:, j] = active[:, hits].any(axis=1)
    return labels


def segment_recording(
    recording_id: str,
    duration_s: float,
    calls: pd.DataFrame,
    codes: list[str],
    window_s: float = 3.0,
    hop_s: float = 1.0,
    min_overlap_s: float = 0.0,
    label_rule: str = "overlap",
) -> pd.DataFrame:
    """The windows of one recording: ids, times, one 0/1 column per species, polyphony, empty."""
    starts = window_starts(duration_s, window_s, hop_s)
    labels = window_labels(starts, window_s, calls, codes, min_overlap_s, label_rule)
    ends = np.round(starts + window_s, 6)
    df = pd.DataFrame(
        {
            "window_id": [window_id(recording_id, s, e) for s, e in zip(starts, ends, strict=True)],
            "recording_id": recording_id,
            "start_s": starts.astype(float),
            "end_s": ends.astype(float),
        }
    )
    return with_labels(df, labels, codes)


def window_id(recording_id: str, start_s: float, end_s: float) -> str:
    """`{recording}_{start}_{end}`, as AnuraSet's sample_name (whole seconds without '.0')."""
    return f"{recording_id}_{start_s:g}_{end_s:g}"


def window_keys(recording_ids, starts) -> list[tuple[str, float]]:
    """(recording, start rounded to the microsecond) of each window: how the windows of
    different tables (windows.parquet, embedding caches, review decisions) are matched."""
    rounded = np.round(np.asarray(starts, dtype=np.float64), 6).tolist()
    return list(zip(recording_ids, rounded, strict=True))


def with_labels(windows: pd.DataFrame, labels: np.ndarray, codes: list[str]) -> pd.DataFrame:
    """The windows with one 0/1 column per species (`labels` [n_windows, n_species]), their
    polyphony and whether they are empty: the label columns of every windows.parquet."""
    labels = np.asarray(labels).astype(np.uint8)
    for j, code in enumerate(codes):
        windows[code] = labels[:, j]
    windows["polyphony"] = labels.sum(axis=1).astype(np.int16)
    windows["empty"] = windows["polyphony"] == 0
    return windows


def segment_dataset(
    manifest_path: str | Path,
    annotations_path: str | Path,
    out_path: str | Path,
    codes: list[str],
    window_s: float = 3.0,
    hop_s: float = 1.0,
    min_overlap_s: float = 0.0,
    label_rule: str = "overlap",
    revise: Callable[[pd.DataFrame, pd.DataFrame], pd.DataFrame] | None = None,
    unlabelled: str = "pool",
) -> pd.DataFrame:
    """windows.parquet for every usable recording in the manifest. `revise`, when given, turns
    (windows, usable manifest rows) into the windows written: the review decisions
    (`review_labels.ReviewDecisions`) come in this way, so segmentation knows nothing of them;
    they keep only the reviewed windows of a recording without labels. Without them, such a
    recording's windows are left out (`unlabelled: pool`: unknown is not absent) or, only
    where the config says `unlabelled: negative`, kept as holding no call."""
    manifest = pd.read_parquet(manifest_path)
    if "status" in manifest:  # recordings skipped at ingest or annotation parsing get none
        manifest = manifest[manifest["status"] == "ok"]
    if manifest.empty:
        raise ValueError(f"{manifest_path}: no usable recording (every one was skipped)")
    calls = pd.read_parquet(annotations_path)
    by_rec = dict(tuple(calls.groupby("recording_id")))
    empty = calls.iloc[:0]
    frames = []
    for rec in manifest.itertuples():
        df = segment_recording(
            rec.recording_id,
            rec.duration_s,
            by_rec.get(rec.recording_id, empty),
            codes,
            window_s,
            hop_s,
            min_overlap_s,
            label_rule,
        )
        df.insert(2, "site", rec.site)
        frames.append(df)
    windows = pd.concat(frames, ignore_index=True)
    if revise is not None:
        windows = revise(windows, manifest)
    elif "annotation_status" in manifest:
        no_file = set(manifest.loc[manifest["annotation_status"] == "no_file", "recording_id"])
        if unlabelled != "negative" and no_file:
            windows = windows[~windows["recording_id"].isin(no_file)].reset_index(drop=True)
            print(f"{len(no_file)} recordings without labels left out of the windows "
                  "(data.unlabelled: pool): unknown, not absent", flush=True)  # fmt: skip
        elif no_file:
            print(f"{len(no_file)} recordings without labels taken as holding no call "
                  "(data.unlabelled: negative)", flush=True)  # fmt: skip
    write_parquet(windows, out_path)
    return windows
