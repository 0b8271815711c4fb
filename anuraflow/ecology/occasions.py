"""Survey occasions and the effort in them: a night (which spans midnight), a day, or a block of
hours, in the recorders' clock as the recording names give it (data.time_zone applied once,
upstream). Effort is the time recorded in an occasion, from each recording's start and
duration, split where a recording crosses an occasion's boundary."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

KINDS = ("night", "day", "hours")


@dataclass(frozen=True)
class Occasions:
    """How time is cut into occasions. `kind` night: from `night_starts_at` o'clock to the same
    hour the next day, labelled by the date it starts on (the night of 4 September holds the
    small hours of the 5th); day: a calendar date; hours: blocks of `hours` hours from
    midnight, labelled by their first hour."""

    kind: str = "night"
    hours: int = 6
    night_starts_at: int = 12

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"occupancy.occasion must be one of {KINDS}, not {self.kind!r}")
        if not 1 <= self.hours <= 24 or 24 % self.hours:
            raise ValueError(f"occupancy.occasion_hours must divide 24, not {self.hours}")
        if not 0 <= self.night_starts_at <= 23:
            raise ValueError(
                f"occupancy.night_starts_at must be an hour 0-23: {self.night_starts_at}"
            )

    @classmethod
    def from_config(cls, section: dict) -> Occasions:
        return cls(
            kind=section.get("occasion", "night"),
            hours=section.get("occasion_hours", 6),
            night_starts_at=section.get("night_starts_at", 12),
        )

    @property
    def length(self) -> pd.Timedelta:
        return pd.Timedelta(hours=self.hours if self.kind == "hours" else 24)

    def start_of(self, times: pd.Series) -> pd.Series:
        """The start of the occasion each time falls in."""
        times = pd.to_datetime(times)
        if self.kind == "night":
            shift = pd.Timedelta(hours=self.night_starts_at)
            return (times - shift).dt.floor("D") + shift
        if self.kind == "day":
            return times.dt.floor("D")
        return times.dt.floor(f"{self.hours}h")

    def label(self, starts: pd.Series) -> pd.Series:
        """An occasion's name: its date (night, day) or its date and first hour (hours)."""
        fmt = "%Y-%m-%dT%H" if self.kind == "hours" else "%Y-%m-%d"
        return pd.to_datetime(starts).dt.strftime(fmt)

    def describe(self) -> str:
        if self.kind == "night":
            hour = f"{self.night_starts_at:02d}:00"
            return f"a night, {hour} to {hour} the next day"
        if self.kind == "day":
            return "a calendar day"
        return f"a block of {self.hours} hours from midnight"


def effort_by_occasion(recordings: pd.DataFrame, occasions: Occasions) -> pd.DataFrame:
    """Minutes recorded per site and occasion from `recordings` (site, start_datetime,
    duration_s; one row per usable recording, each counted once): a recording that crosses an
    occasion's boundary gives each occasion its part. Columns site, occasion_start, occasion,
    effort_min, recordings (the recordings with time in it)."""
    begin = pd.to_datetime(recordings["start_datetime"]).to_numpy()
    end = begin + (recordings["duration_s"].to_numpy(dtype=float) * 1e9).astype("timedelta64[ns]")
    start = occasions.start_of(pd.Series(begin)).to_numpy()
    length = occasions.length.to_timedelta64()
    live = np.flatnonzero(end > begin)  # a recording of 0 s records nothing
    parts = []
    while len(live):  # each pass: every live recording's part in its current occasion at once
        stop = start[live] + length
        piece = np.minimum(end[live], stop) - np.maximum(begin[live], start[live])
        parts.append(pd.DataFrame({
            "site": recordings["site"].to_numpy()[live],
            "occasion_start": start[live],
            "effort_min": piece / np.timedelta64(1, "s") / 60.0,
            "recording_id": recordings["recording_id"].to_numpy()[live],
        }))  # fmt: skip
        start[live] = stop
        live = live[end[live] > stop]  # those that go on into the next occasion
    columns = ["site", "occasion_start", "effort_min", "recording_id"]
    table = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)
    out = (
        table.groupby(["site", "occasion_start"], sort=True)
        .agg(effort_min=("effort_min", "sum"), recordings=("recording_id", "nunique"))
        .reset_index()
    )
    out.insert(2, "occasion", occasions.label(out["occasion_start"]).to_numpy())
    return out


def occasion_grid(effort: pd.DataFrame, occasions: Occasions) -> pd.DatetimeIndex:
    """Every occasion from the first to the last with effort at any site, gaps included (an
    occasion nobody recorded in is a column of missing values, never dropped)."""
    if effort.empty:
        return pd.DatetimeIndex([])
    first, last = effort["occasion_start"].min(), effort["occasion_start"].max()
    return pd.date_range(first, last, freq=occasions.length)


def window_occasions(
    windows: pd.DataFrame, starts: dict[str, str], occasions: Occasions
) -> pd.Series:
    """The occasion start of each window (recording_id, start_s), from its recording's start
    (`starts`: recording id -> ISO start) and its own offset: a window after midnight of a
    recording begun before it belongs to the occasion its own time falls in."""
    # a categorical id column maps to a categorical: parse the ISO starts as plain values
    begin = pd.to_datetime(np.asarray(windows["recording_id"].map(starts), dtype=object))
    times = begin + pd.to_timedelta(np.asarray(windows["start_s"], dtype=float), unit="s")
    return occasions.start_of(pd.Series(times))
