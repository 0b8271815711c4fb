"""Recording identity: AnuraSet-style names, discovery of raw files, the recordings manifest."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pandas as pd

from anuraflow.core.fileio import write_parquet
from anuraflow.data.windows import window_starts

# {site}_{YYYYMMDD}_{HHMMSS}, e.g. INCT20955_20190904_003000
NAME_PATTERN = re.compile(r"^(?P<site>.+)_(?P<date>\d{8})_(?P<time>\d{6})$")

# File extensions of formats libsndfile reads: what discovery treats as audio.
AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".aif", ".aiff", ".au", ".w64", ".caf", ".mp3")


@dataclass(frozen=True)
class RecordingSource:
    recording_id: str
    audio: str
    annotation: str | None


def parse_recording_name(recording_id: str) -> tuple[str | None, datetime | None]:
    """Site and start time from an AnuraSet name; (None, None) when the name does not follow it."""
    match = NAME_PATTERN.match(recording_id)
    if not match:
        return None, None
    try:
        start = datetime.strptime(match["date"] + match["time"], "%Y%m%d%H%M%S")
    except ValueError:
        return match["site"], None
    return match["site"], start


def recording_site(recording_id: str, audio_path: str | Path) -> str:
    """Site from the name, else the folder holding the file (the AnuraSet raw-data layout)."""
    site, _ = parse_recording_name(recording_id)
    return site if site is not None else Path(audio_path).parent.name


def _annotation_candidates(annotation_dir: Path) -> dict[str, list[Path]]:
    found: dict[str, list[Path]] = {}
    for path in sorted(annotation_dir.rglob("*.txt")):
        name = path.name
        # Raven: "<recording>.Table.1.selections.txt"; Audacity/AnuraSet: "<recording>.txt"
        stem = name.split(".Table.")[0] if ".Table." in name else path.stem
        found.setdefault(stem, []).append(path)
    return found


def discover_recordings(
    audio_dir: str | Path, annotation_dir: str | Path | None
) -> dict[str, RecordingSource]:
    """Every audio file under `audio_dir`, paired with its annotation file by recording id.

    Two audio files with the same id, or two annotation files for one recording, are errors:
    silently picking one would make results depend on directory order.
    """
    audio_dir = Path(audio_dir)
    if not audio_dir.is_dir():
        raise FileNotFoundError(f"audio directory does not exist: {audio_dir}")
    audio: dict[str, Path] = {}
    for path in sorted(audio_dir.rglob("*")):
        if path.is_file() and path.suffix.lower() in AUDIO_EXTENSIONS:
            if path.stem in audio:
                raise ValueError(
                    f"recording id {path.stem!r} is used by two audio files: {audio[path.stem]} "
                    f"and {path}"
                )
            audio[path.stem] = path
    labels: dict[str, list[Path]] = {}
    if annotation_dir is not None:
        labels = _annotation_candidates(Path(annotation_dir))
    sources = {}
    for rec_id, path in audio.items():
        candidates = labels.get(rec_id, [])
        if len(candidates) > 1:
            raise ValueError(
                f"recording {rec_id!r} has several annotation files: "
                + ", ".join(str(c) for c in candidates)
            )
        sources[rec_id] = RecordingSource(
            rec_id, str(path), str(candidates[0]) if candidates else None
        )
    return sources


def unmatched_annotation_files(
    sources: dict[str, RecordingSource], annotation_dir: str | Path | None
) -> list[str]:
    """Label files under `annotation_dir` that belong to no discovered recording."""
    if annotation_dir is None or not Path(annotation_dir).is_dir():
        return []
    return sorted(
        str(path)
        for stem, paths in _annotation_candidates(Path(annotation_dir)).items()
        if stem not in sources
        for path in paths
    )


def merge_manifest(
    ingest_jsons: list[str | Path], annotation_jsons: list[str | Path], out_path: str | Path
) -> pd.DataFrame:
    """One Parquet row per recording from its ingest and annotation records.

    `status` is "skipped" when either the audio or the label file could not be used (the
    `problem` says which and why); only "ok" recordings get windows. `notes` lists what was
    adjusted on the way (clipped or duplicate calls, low original sample rates).
    """
    audio = {r["recording_id"]: r for r in map(_read_json, ingest_jsons)}
    labels = {r["recording_id"]: r for r in map(_read_json, annotation_jsons)}
    if not annotation_jsons:  # labels from the release's metadata or the clip's folder
        labels = {rec_id: _labels_from_ingest(r) for rec_id, r in audio.items()}
    if set(audio) != set(labels):
        raise ValueError(
            "ingest and annotation records name different recordings: "
            f"{sorted(set(audio) ^ set(labels))[:5]}"
        )
    rows = []
    for rec_id, rec in audio.items():
        lab = labels[rec_id]
        skipped = rec["status"] == "skipped" or lab["status"] == "skipped"
        rows.append(
            {
                **rec,
                "status": "skipped" if skipped else "ok",
                "problem": rec["problem"] or lab["problem"],
                "notes": rec["notes"] + lab["notes"],
                "annotation_path": lab["annotation_path"],
                "annotation_sha256": lab["annotation_sha256"],
                "annotation_status": lab["status"],
                "n_calls": lab["n_calls"],
            }
        )
    df = pd.DataFrame(rows).sort_values("recording_id").reset_index(drop=True)
    df["start_datetime"] = pd.to_datetime(df["start_datetime"])
    write_parquet(df, out_path)
    return df


def _labels_from_ingest(ingest: dict) -> dict:
    """The annotation record of a recording without a label file (a release recording: its
    labels are metadata.csv's rows; a class-folder clip: its folder), from its ingest record."""
    return {
        "status": ingest.get("annotation_status", "no_file"),
        "problem": None,
        "notes": [],
        "annotation_path": ingest.get("annotation_path"),
        "annotation_sha256": ingest.get("annotation_sha256"),
        "n_calls": ingest.get("n_calls"),
    }


def _read_json(path: str | Path) -> dict:
    return json.loads(Path(path).read_text())


def estimate_windows(
    audio_paths: list[str], window_s: float, hop_s: float, sample: int = 200
) -> int:
    """About how many windows the recordings hold, from the headers of up to `sample` of them
    (evenly spaced) scaled to all; unreadable files count as none."""
    import soundfile as sf

    if not audio_paths:
        return 0
    step = max(1, len(audio_paths) // sample)
    picked = audio_paths[::step]
    total = 0
    for path in picked:
        try:
            duration = sf.info(path).duration
        except (RuntimeError, sf.LibsndfileError):
            continue
        total += len(window_starts(duration, window_s, hop_s))
    return round(total * len(audio_paths) / len(picked))


def release_recordings(metadata_csv: str | Path) -> list[str]:
    """The recordings (`fname`) an AnuraSet release's metadata.csv names, read when the DAG is
    built (only that column: 93,378 rows in a fraction of a second)."""
    names = pd.read_csv(metadata_csv, usecols=["fname"], dtype=str)["fname"]
    return sorted(names.dropna().unique().tolist())


def with_annotation_table(
    sources: dict[str, RecordingSource], table: str | Path, recordings_in_table: set[str]
) -> tuple[dict[str, RecordingSource], list[str]]:
    """Every recording the table names gets the table as its annotation source; the others
    have none. Also the table's recordings without audio (reported like orphan label files)."""
    paired = {
        rec: RecordingSource(rec, s.audio, str(table) if rec in recordings_in_table else None)
        for rec, s in sources.items()
    }
    orphans = sorted(f"{table}: recording {rec}" for rec in recordings_in_table - set(sources))
    return paired, orphans
