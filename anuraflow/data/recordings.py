"""Recording identity: recorder names (site, start time), the recordings manifest and the
failure policies applied to it."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pandas as pd

from anuraflow.core.fileio import write_parquet
from anuraflow.data.folders import nfc
from anuraflow.data.windows import window_starts

# [{site}_]{YYYYMMDD}_{HHMMSS}[{zone}]: AnuraSet and Song Meter (INCT20955_20190904_003000),
# AudioMoth (20191113_190000, no site), either with a time-zone suffix (+0100, -0300, Z)
NAME_PATTERN = re.compile(
    r"^(?:(?P<site>.+)_)?(?P<date>\d{8})_(?P<time>\d{6})(?P<zone>Z|[+-]\d{4})?$"
)

# File extensions of formats libsndfile reads: what discovery treats as audio.
AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".aif", ".aiff", ".au", ".w64", ".caf", ".mp3")


@dataclass(frozen=True)
class RecordingSource:
    recording_id: str
    audio: str
    annotation: str | None
    # the files of a Raven multi-file table (`annotation`) that are this recording
    table_files: tuple[str, ...] = ()


def parse_recording_name(recording_id: str) -> tuple[str | None, datetime | None]:
    """Site and start time from a recorder's name: (site, start) for `SITE_YYYYMMDD_HHMMSS`,
    (None, start) for AudioMoth's `YYYYMMDD_HHMMSS`, (None, None) for a name without a time.
    The start is the clock time as written: a time-zone suffix is accepted, not applied."""
    match = NAME_PATTERN.match(recording_id)
    if not match:
        return None, None
    try:
        start = datetime.strptime(match["date"] + match["time"], "%Y%m%d%H%M%S")
    except ValueError:
        return match["site"], None
    return match["site"], start


DATE_PART = re.compile(r"^\d{8}$")  # a dated folder's name, YYYYMMDD


def recording_site(recording_id: str, audio_path: str | Path) -> str:
    """Site from the name, else the folder holding the file (the AnuraSet raw-data layout).
    A recorder's dated folders are not sites: `moth01/20240301/20240301_190000.WAV` (id
    `moth01_20240301_20240301_190000`) is at `moth01`, not `moth01_20240301`; where nothing but
    dates names it, the nearest folder above that is not a date."""
    site, _ = parse_recording_name(recording_id)
    if site is not None:
        parts = site.split("_")
        while parts and DATE_PART.match(parts[-1]):
            parts.pop()
        if parts:
            return "_".join(parts)
    for folder in Path(audio_path).parents:
        if folder.name and not DATE_PART.match(folder.name):
            return nfc(folder.name)
    return nfc(Path(audio_path).parent.name)


UNLABELLED_MODES = ("stop", "pool", "negative")


def unlabelled_mode(data: dict) -> tuple[str, str | None]:
    """What a recording without labels is (`data.unlabelled`), and a warning where the config
    still says it the old way: `require_annotations: false` meant every such recording is an
    all-negative training and test recording (`negative`), which it stays, named."""
    mode = data.get("unlabelled", "stop")
    if mode not in UNLABELLED_MODES:
        raise ValueError(f"data.unlabelled must be one of {', '.join(UNLABELLED_MODES)}")
    old = data.get("require_annotations")
    if old is False and mode == "stop":
        return "negative", ("data.require_annotations: false is read as data.unlabelled: "
                            "negative (every recording without labels trains and tests as "
                            "holding no call); data.unlabelled: pool keeps them out")  # fmt: skip
    if old is not None:
        return mode, f"data.require_annotations is replaced by data.unlabelled (here {mode})"
    return mode, None


POLICY_KEYS = ("on_bad_recording", "on_bad_annotation", "on_blank_label")


def apply_policies(audio: dict[str, dict], labels: dict[str, dict], policies: dict) -> None:
    """The failure policies, applied once: a policy "fail" with a recording (or label file,
    or blank-label row) the jobs found unusable raises, naming every such file; under "skip"
    they stay skipped and are listed in the report."""
    found = {
        "on_bad_recording": [r["problem"] for r in audio.values() if r["status"] == "skipped"],
        "on_bad_annotation": [r["problem"] for r in labels.values() if r["status"] == "skipped"],
        "on_blank_label": [n for r in labels.values() for n in r.get("blank_labels", [])],
    }
    for record in audio.values():  # the release's dropped metadata rows and missing clips
        for key, problems in record.get("policy_problems", {}).items():
            found[key] += problems
    for key in POLICY_KEYS:
        problems = found[key]
        if policies.get(key, "fail") == "fail" and problems:
            shown = "\n  ".join(problems[:10])
            more = f"\n  ... and {len(problems) - 10} more" if len(problems) > 10 else ""
            raise ValueError(
                f"{len(problems)} unusable input(s) under {key}: fail:\n  {shown}{more}\n"
                f"set {key}: skip to go on without them (they are listed in the report)"
            )


def merge_manifest(
    ingest_jsons: list[str | Path],
    annotation_jsons: list[str | Path],
    out_path: str | Path,
    policies: dict | None = None,
) -> pd.DataFrame:
    """One Parquet row per recording from its ingest and annotation records, once the
    failure `policies` (on_bad_recording, on_bad_annotation, on_blank_label: fail or skip;
    fail by default) are applied.

    `status` is "skipped" when either the audio or the label file could not be used (the
    `problem` says which and why); only "ok" recordings get windows. `notes` lists what was
    adjusted on the way (clipped or duplicate calls, low original sample rates).
    """
    audio = {r["recording_id"]: r for r in map(_read_json, ingest_jsons)}
    labels = {r["recording_id"]: r for r in map(_read_json, annotation_jsons)}
    if not annotation_jsons:  # labels from the release's metadata or the clip's folder
        labels = {rec_id: _labels_from_ingest(r) for rec_id, r in audio.items()}
    apply_policies(audio, labels, policies or {})
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
                **{k: v for k, v in rec.items() if k != "policy_problems"},  # in `notes` too
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
