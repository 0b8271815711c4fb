"""Predict's outputs over the whole archive: the shards' records read back, one Raven table per
recording, the detections and activity tables and every recording's status (rule
predict_summary). No torch here: writing tables must not pay for the model's imports."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from anuraflow.core.fileio import write_text
from anuraflow.data.raven import raven_table_name
from anuraflow.data.recordings import apply_policies
from anuraflow.detect.detections import (
    SELECTION_COLUMNS,
    activity_table,
    detections_table,
    write_raven_table,
)
from anuraflow.detect.predict_outputs import ScoredRecording, read_records
from anuraflow.report.figures import plot_activity


def summarise_detections(
    record_paths: list[str | Path], outputs: dict[str, str], on_bad_recording: str = "fail"
) -> pd.DataFrame:
    """Rule predict_summary: every recording's selections in `outputs["detections"]` (CSV)
    and as a Raven table in the folder `outputs["raven"]`, calling activity by species, site
    and hour in `outputs["activity"]` (CSV) and `outputs["activity_png"]`, and every
    recording's status in `outputs["recordings"]` (TSV, skipped ones with the reason).
    `on_bad_recording` is applied here, once: "fail" with an unusable recording raises,
    naming every one. Returns the detections."""

    run = read_records(record_paths)
    records = run.recordings
    statuses = {r.recording_id: {"status": r.status, "problem": r.problem} for r in records}
    apply_policies(statuses, {}, {"on_bad_recording": on_bad_recording})
    codes, names = run.model.codes, run.model.name_of
    selections = [pd.DataFrame(r.selections, columns=SELECTION_COLUMNS) for r in records]
    write_raven_tables(records, selections, run.model.band_hz, outputs["raven"])
    detections = detections_table(records, selections)
    write_text(detections.to_csv(index=False), outputs["detections"])
    untimed = [r.recording_id for r in records if not r.start_datetime]
    if untimed:
        print(
            f"note: {len(untimed)} recordings have no start date and time in their name "
            f"(e.g. {', '.join(untimed[:3])}): not in the activity by hour"
        )
    activity = activity_table(detections, records, codes)
    write_text(activity.to_csv(index=False), outputs["activity"])
    plot_activity(activity, names, outputs["activity_png"])
    status = pd.DataFrame(
        [
            {
                "recording_id": r.recording_id,
                "file": r.file,
                "site": r.site,
                "start_datetime": r.start_datetime,
                "status": r.status,
                "duration_s": r.duration_s,
                "windows": r.n_windows,
                "selections": len(r.selections),
                "problem": r.problem,
                "notes": "; ".join(r.notes),
            }
            for r in records
        ]
    )
    write_text(status.to_csv(sep="\t", index=False), outputs["recordings"])
    return detections


def write_raven_tables(
    records: list[ScoredRecording], selections: list[pd.DataFrame],
    band_hz: tuple[float, float], folder: str,
) -> None:  # fmt: skip
    """`<recording id>.Table.1.selections.txt` in `folder` for every recording (an empty
    table for one without detections or that could not be read), as Raven Pro opens them,
    each selection over the model's band."""
    Path(folder).mkdir(parents=True, exist_ok=True)
    for record, table in zip(records, selections, strict=True):
        path = Path(folder) / raven_table_name(record.recording_id)
        write_raven_table(table, path, tuple(band_hz))
