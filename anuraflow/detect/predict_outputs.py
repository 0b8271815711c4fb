"""predict's outputs on disk, written and read here only. Per shard:

- `scores/<shard>.parquet`: a row per window, `recording_id`, `start_s`, `end_s` and one
  float32 column per species; one schema for every shard, an empty one too, so the folder
  reads as one Parquet dataset;
- `records/<shard>.json`: per recording its record (file, site, start, duration, status and
  problem, windows, selections, notes, how it was scored) with the model's facts (codes,
  names, thresholds, band).

In memory a record is a `ScoredRecording` and the model's facts one `ModelFacts`: the shard
job makes the facts once, readers get them once (`PredictRecords.model`), checked to be the
same in every record, and the recordings in id order; every window's scores from one reader
(`read_scores`). On disk each record still repeats the facts (the format the records have had
since the first archive run, so a run made before reads as one made now).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from functools import cached_property
from pathlib import Path

import pandas as pd

from anuraflow.core.fileio import write_json, write_parquet
from anuraflow.data.windows import window_id


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


MODEL_KEYS = tuple(f.name for f in fields(ModelFacts))  # what each record repeats


@dataclass(frozen=True)
class AudioFormat:
    """What a usable recording turned out to be."""

    sample_rate: int
    channels: int
    format: str


@dataclass
class ScoredRecording:
    """One recording of a predict run: where it is, its site and start (as the recorder's name
    says), whether it could be used (`status` "ok" or "skipped", `problem` why not), its length,
    format, windows, merged selections and notes, and the device and precision that scored it."""

    recording_id: str
    file: str
    site: str
    start_datetime: str | None = None
    scored_with: dict[str, str] = field(default_factory=dict)
    status: str = "ok"
    problem: str | None = None
    duration_s: float = 0.0
    audio: AudioFormat | None = None
    n_windows: int = 0
    selections: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def skipped(self, problem: str) -> None:
        self.status, self.problem, self.duration_s, self.audio = "skipped", problem, 0.0, None

    def to_json(self, model: ModelFacts) -> dict:
        """The record as the records file holds it: flat, the model's facts in it."""
        record = asdict(self)
        record.update(record.pop("audio") or {})
        return record | asdict(model)  # (JSON writes the band's tuple as a list)

    @classmethod
    def from_json(cls, record: dict) -> ScoredRecording:
        audio = None
        if "sample_rate" in record:
            audio = AudioFormat(record["sample_rate"], record["channels"], record["format"])
        own = {k: record[k] for k in cls.__dataclass_fields__ if k in record and k != "audio"}
        return cls(**own, audio=audio)


@dataclass
class PredictRecords:
    """Every recording's record of a predict run, in recording id order, and its model."""

    model: ModelFacts
    recordings: list[ScoredRecording]

    @cached_property
    def file_of(self) -> dict[str, str]:
        return {r.recording_id: r.file for r in self.recordings}

    @cached_property
    def site_of(self) -> dict[str, str]:
        return {r.recording_id: r.site for r in self.recordings}

    def without(self, exclude: frozenset[str]) -> PredictRecords:
        """The same run without the recordings in `exclude` (the model's own training ones)."""
        kept = [r for r in self.recordings if r.recording_id not in exclude]
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
    return PredictRecords(model, [ScoredRecording.from_json(r) for r in records])


def write_shard(frames: list[pd.DataFrame], records: list[ScoredRecording], model: ModelFacts,
                outputs: dict[str, str]) -> None:  # fmt: skip
    """One shard's windows (`outputs["scores"]`) and records (`outputs["records"]`)."""
    table = pd.concat([f for f in frames if len(f)] or frames[:1], ignore_index=True)
    table = table.astype(
        {"recording_id": "string", "start_s": "float64", "end_s": "float64"}
        | {code: "float32" for code in model.codes}
    )
    write_parquet(table, outputs["scores"])
    write_json([r.to_json(model) for r in records], outputs["records"])


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
