"""The per-recording data jobs (ingest, labels), shaped for Snakemake's `run:` directive.

Each does about 0.05 s of work on a one-minute recording, while a Python process per job
(`script:`) costs 1-2 s of start-up and imports (torch alone takes 1.4 s): at AnuraSet scale
that start-up would be 95 % of the feature stage. So these run inside Snakemake's own process,
one thread per job (`force-use-threads: true` in profiles/default, the workflow profile
Snakemake reads by itself). Hence each writes its own log instead of redirecting sys.stdout,
and pins torch to the one thread the rule declares.

Neither job takes a failure policy: each records what it found (status "skipped" and the
problem for a file that cannot be used) and the manifest step applies `on_bad_recording`,
`on_bad_annotation` and `annotations.on_blank_label`, so that switching a policy reruns no
ingest and no parsing.
"""

from __future__ import annotations

import json
from pathlib import Path

from anuraflow.core.fileio import job_log, write_json
from anuraflow.core.threads import one_torch_thread
from anuraflow.data.annotations import normalise_annotation_file
from anuraflow.data.audio import standardise_recording
from anuraflow.data.clips import ingest_clip
from anuraflow.data.label_rows import LabelCodes
from anuraflow.data.recorder_names import RecorderNames
from anuraflow.data.release import ingest_release_recording

RECORD_ONLY = "skip"  # what the jobs run under: a bad file is recorded, not raised


def _say_notes(say, record: dict, policy: str) -> None:
    for note in record["notes"]:
        say(f"note: {note}")
    if record["status"] == "skipped":
        say(f"cannot be used ({policy} decides in recordings_manifest): {record['problem']}")


def standardise_source(
    source: str,
    audio_out: str | Path,
    record_out: str | Path,
    recording_id: str,
    sample_rate: int,
    min_duration_s: float,
    kind: str = "recording",
    clip_fit: str = "start",
    release_metadata: str = "",
    recorder_names: dict | None = None,
) -> dict:
    """One raw recording (`kind` "recording"), one recording rebuilt from its clips in the
    release's clip index ("release"), or one class-folder clip fitted to a window of
    `min_duration_s` ("clip") as mono 16-bit WAV at `sample_rate`, plus its record; a file that
    cannot be used is recorded, not raised. A raw recording's site and start time are read as
    `recorder_names` (data.site, data.time_zone) says. Ingest writes it at the workflow's rate,
    the embedding stage at its model's."""
    if kind == "release":
        return ingest_release_recording(
            source, recording_id, release_metadata, audio_out, record_out, sample_rate, RECORD_ONLY
        )
    if kind == "clip":
        return ingest_clip(
            source,
            audio_out,
            record_out,
            recording_id,
            sample_rate,
            min_duration_s,
            clip_fit,
            RECORD_ONLY,
        )
    return standardise_recording(
        source,
        audio_out,
        record_out,
        sample_rate,
        recording_id=recording_id,
        min_duration_s=min_duration_s,
        on_bad_recording=RECORD_ONLY,
        names=RecorderNames.from_config(recorder_names or {}),
    )


def ingest_job(
    source: str,
    audio_out: str,
    record_out: str,
    log: str,
    recording_id: str,
    sample_rate: int,
    min_duration_s: float,
    kind: str = "recording",
    clip_fit: str = "start",
    release_metadata: str = "",
    recorder_names: dict | None = None,
) -> dict:
    """Rule ingest_recording: `standardise_source` at the workflow's rate, logged."""
    with job_log(log) as say:
        one_torch_thread()
        record = standardise_source(
            source,
            audio_out,
            record_out,
            recording_id,
            sample_rate,
            min_duration_s,
            kind,
            clip_fit,
            release_metadata,
            recorder_names,
        )
        say(f"{source}: {record['status']}, {record['duration_s']:.3f} s")
        _say_notes(say, record, "on_bad_recording")
    return record


def annotation_job(
    labels: str | None,
    ingest_record: str,
    calls_out: str,
    record_out: str,
    log: str,
    recording_id: str,
    codes: list[str],
    table_columns: dict | None = None,
    table_files: tuple[str, ...] = (),
    label_codes: dict | None = None,
) -> dict:
    """Rule parse_annotations: one label file (or a recording's rows of a whole-dataset table,
    `table_columns`, or of a Raven multi-file table, `table_files`), checked against its
    recording's duration; codes read as `label_codes` (the config's data.qualities and
    data.ignore_codes, `LabelCodes.from_config`) says."""
    with job_log(log) as say:
        ingest = json.loads(Path(ingest_record).read_text())
        record = normalise_annotation_file(
            labels,
            recording_id,
            calls_out,
            codes,
            RECORD_ONLY,
            duration_s=ingest["duration_s"] if ingest["status"] == "ok" else None,
            on_bad_annotation=RECORD_ONLY,
            table_columns=table_columns,  # read_annotation_file prefers table_files
            table_files=tuple(table_files) or None,
            codes=LabelCodes.from_config(label_codes or {}),
        )
        write_json(record, record_out)
        say(f"{labels}: {record['status']}, {record['n_calls']} calls")
        _say_notes(say, record, "on_bad_annotation")
    return record
