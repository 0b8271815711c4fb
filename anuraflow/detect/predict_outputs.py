"""predict's outputs on disk, written and read here only. Per shard:

- `scores/<shard>.parquet`: a row per window, `recording_id`, `start_s`, `end_s` and one
  float32 column per species; one schema for every shard, an empty one too, so the folder
  reads as one Parquet dataset;
- `records/<shard>.json`: per recording its record (file, site, start, duration, status and
  problem, windows, selections, notes, how it was scored) with the model's facts (codes,
  names, thresholds, band).

Readers get the model's facts once (`PredictRecords.model`), checked to be the same in every
record, and the recordings in id order; every window's scores from one reader (`read_scores`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import pandas as pd

from anuraflow.core.fileio import write_json, write_parquet
from anuraflow.data.windows import window_id

MODEL_KEYS = ("codes", "names", "thresholds", "band_hz")


@dataclass(frozen=True)
class ModelFacts:
    """What every record of a run repeats about the model that scored it."""

    codes: list[str]
    names: list[str]
    thresholds: dict[str, float]
    band_hz: tuple[float, float]

    @property
    def name_of(self) -> dict[str, str]:
        return dict(zip(self.codes, self.names, strict=True))


@dataclass
class PredictRecords:
    """Every recording's record of a predict run, in recording id order, and its model."""

    model: ModelFacts
    recordings: list[dict]

    @cached_property
    def file_of(self) -> dict[str, str]:
        return {r["recording_id"]: r["file"] for r in self.recordings}

    @cached_property
    def site_of(self) -> dict[str, str]:
        return {r["recording_id"]: r["site"] for r in self.recordings}

    def without(self, exclude: frozenset[str]) -> PredictRecords:
        """The same run without the recordings in `exclude` (the model's own training ones)."""
        kept = [r for r in self.recordings if r["recording_id"] not in exclude]
        return PredictRecords(self.model, kept)


def read_records(record_paths: list[str | Path]) -> PredictRecords:
    """Every recording's record from the shards' record files; an error when there is none,
    or when two records disagree on the model (shards scored by different bundles)."""
    records = [r for p in record_paths for r in json.loads(Path(p).read_text())]
    if not records:
        raise ValueError("no recordings were scored")
    records.sort(key=lambda r: r["recording_id"])
    first = records[0]
    for r in records:
        if any(r[k] != first[k] for k in MODEL_KEYS):
            raise ValueError(
                f"{r['recording_id']} was scored by another model than {first['recording_id']} "
                "(codes, names, thresholds or band differ): rerun predict on the whole archive"
            )
    model = ModelFacts(
        list(first["codes"]), list(first["names"]), dict(first["thresholds"]),
        tuple(first["band_hz"]),
    )  # fmt: skip
    return PredictRecords(model, records)


def write_shard(frames: list[pd.DataFrame], records: list[dict], codes: list[str],
                outputs: dict[str, str]) -> None:  # fmt: skip
    """One shard's windows (`outputs["scores"]`) and records (`outputs["records"]`)."""
    table = pd.concat([f for f in frames if len(f)] or frames[:1], ignore_index=True)
    table = table.astype(
        {"recording_id": "string", "start_s": "float64", "end_s": "float64"}
        | {code: "float32" for code in codes}
    )
    write_parquet(table, outputs["scores"])
    write_json(records, outputs["records"])


def read_scores(
    score_paths: list[str | Path],
    with_ids: bool = True,
    exclude: frozenset[str] = frozenset(),
    columns: list[str] | None = None,
    allow_empty: bool = False,
) -> pd.DataFrame:
    """Every window predict scored (the shards' scores.parquet), in recording and time order,
    recording ids as a category (millions of windows share thousands of names), with each
    window's window_id when `with_ids`, only `columns` where given; an error when there is
    none, unless `allow_empty` (then an empty table). The recordings in `exclude` (the
    model's own training recordings, where predict.audio_dir holds them) are left out: a model
    scores its training data too well."""
    frames = [pd.read_parquet(p, columns=columns) for p in score_paths]
    frames = [f[~f["recording_id"].isin(exclude)] if exclude else f for f in frames]
    kept = [f for f in frames if len(f)]
    if not kept and not allow_empty:
        raise ValueError("predict scored no window: there is nothing to validate")
    scores = pd.concat(kept or frames[:1], ignore_index=True)
    scores["recording_id"] = scores["recording_id"].astype("category")
    scores = scores.sort_values(["recording_id", "start_s"], kind="stable", ignore_index=True)
    if with_ids:
        parts = zip(scores["recording_id"], scores["start_s"], scores["end_s"], strict=True)
        scores["window_id"] = [window_id(r, s, e) for r, s, e in parts]
    return scores
