"""From window scores to what an ecologist uses: selections, Raven tables, detection and
calling-activity tables.

A selection is a stretch of time covered by windows in which a species scores at or above its
threshold: consecutive such windows, and runs of them whose windows still overlap, are merged
into one, from the first window's start to the last window's end, with the highest score.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from anuraflow.data.raven import write_selection_table
from anuraflow.detect.predict_outputs import ScoredRecording

SELECTION_COLUMNS = ["species", "begin_s", "end_s", "max_score", "n_windows"]


def merge_runs(scores: pd.DataFrame, codes: list[str], thresholds: np.ndarray) -> pd.DataFrame:
    """Selections of every species in one recording's window scores (rows in time order):
    species, begin_s, end_s, max_score, n_windows (windows at or above threshold in it);
    sorted by time. Windows at or above the threshold whose spans overlap or touch are one
    selection, so a run of consecutive windows is one, and so are two runs whose windows
    still overlap across a window or two below the threshold (no two selections of a
    species ever overlap)."""
    rows = []
    starts, ends = scores["start_s"].to_numpy(), scores["end_s"].to_numpy()
    for code, threshold in zip(codes, thresholds, strict=True):
        values = scores[code].to_numpy()
        hits = np.flatnonzero(values >= threshold)
        if len(hits) == 0:
            continue
        reach = np.maximum.accumulate(ends[hits])  # latest end so far
        new = np.r_[True, starts[hits[1:]] > reach[:-1] + 1e-9]
        for group in np.split(hits, np.flatnonzero(new)[1:]):
            rows.append(
                {
                    "species": code,
                    "begin_s": float(starts[group[0]]),
                    "end_s": float(ends[group].max()),
                    "max_score": float(values[group].max()),
                    "n_windows": len(group),
                }
            )
    out = pd.DataFrame(rows, columns=SELECTION_COLUMNS)
    return out.sort_values(["begin_s", "species"], kind="stable").reset_index(drop=True)


def write_raven_table(selections: pd.DataFrame, path: str | Path, band_hz: tuple) -> None:
    """The selections of one recording as a Raven table: species, max score, windows."""
    columns = {
        "Species": list(selections["species"]),
        "Score": [f"{x:.6f}" for x in selections["max_score"]],
        "Windows": list(selections["n_windows"]),
    }
    write_selection_table(path, selections["begin_s"], selections["end_s"], band_hz, columns)


def detections_table(
    records: list[ScoredRecording], selections: list[pd.DataFrame]
) -> pd.DataFrame:
    """All selections of all recordings, with file, site and start datetime of each (the
    begin datetime where the recording's start time is known from its name)."""
    frames = []
    for record, sel in zip(records, selections, strict=True):
        if sel.empty:
            continue
        sel = sel.copy()
        sel.insert(0, "recording_id", record.recording_id)
        sel.insert(1, "file", record.file)
        sel.insert(2, "site", record.site)
        sel.insert(3, "recording_start", record.start_datetime)
        start = record.start_datetime
        sel["begin_datetime"] = [
            (datetime.fromisoformat(start) + timedelta(seconds=s)).isoformat() if start else None
            for s in sel["begin_s"]
        ]
        frames.append(sel)
    columns = ["recording_id", "file", "site", "recording_start", *SELECTION_COLUMNS]
    if not frames:
        return pd.DataFrame(columns=[*columns, "begin_datetime"])
    return pd.concat(frames, ignore_index=True)


def recorded_seconds_by_hour(start: datetime, duration_s: float) -> dict[int, float]:
    """Hour of day -> seconds of a recording starting at `start` that fall in it."""
    out: dict[int, float] = {}
    t, end = start, start + timedelta(seconds=duration_s)
    while t < end:
        next_hour = t.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
        stop = min(next_hour, end)
        out[t.hour] = out.get(t.hour, 0.0) + (stop - t).total_seconds()
        t = stop
    return out


def activity_table(
    detections: pd.DataFrame, records: list[ScoredRecording], codes: list[str]
) -> pd.DataFrame:
    """Calling activity: per species, site and hour of day, the selections that begin in that
    hour, the minutes recorded in it and detections per recorded hour. Recordings without a
    start time in their name cannot be placed in the day and are left out (and counted by
    the caller); every species x site x recorded hour has a row, zeros included."""
    effort: dict[tuple[str, int], float] = {}
    for r in records:
        if r.status != "ok" or not r.start_datetime:
            continue
        start = datetime.fromisoformat(r.start_datetime)
        for hour, sec in recorded_seconds_by_hour(start, r.duration_s).items():
            effort[(r.site, hour)] = effort.get((r.site, hour), 0.0) + sec
    timed = detections.dropna(subset=["begin_datetime"])
    hours = pd.to_datetime(timed["begin_datetime"]).dt.hour
    counts = timed.assign(hour=hours.to_numpy()).groupby(["species", "site", "hour"]).size()
    rows = []
    for code in codes:
        for (site, hour), sec in sorted(effort.items()):
            n = int(counts.get((code, site, hour), 0))
            rows.append(
                {
                    "species": code,
                    "site": site,
                    "hour": hour,
                    "detections": n,
                    "recorded_min": round(sec / 60, 3),
                    "detections_per_hour": n / (sec / 3600) if sec > 0 else float("nan"),
                }
            )
    columns = ["species", "site", "hour", "detections", "recorded_min", "detections_per_hour"]
    return pd.DataFrame(rows, columns=columns)
