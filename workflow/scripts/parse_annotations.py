"""Rule parse_annotations: normalise one recording's label file (Audacity or Raven)."""

import json
from pathlib import Path

from anuraflow.annotations import normalise_annotation_file
from anuraflow.fileio import redirect_output, write_json

sm = snakemake  # noqa: F821 (injected by Snakemake)
with redirect_output(sm.log[0]):
    ingest = json.loads(Path(sm.input.ingest).read_text())
    record = normalise_annotation_file(
        sm.input.labels[0] if sm.input.labels else None,
        sm.wildcards.recording,
        sm.output.calls,
        sm.params.codes,
        sm.params.on_blank_label,
        duration_s=ingest["duration_s"] if ingest["status"] == "ok" else None,
        on_bad_annotation=sm.params.on_bad_annotation,
    )
    write_json(record, sm.output.record)
    for line in record["notes"]:
        print(f"note: {line}")
    if record["status"] == "skipped":
        print(f"skipped (on_bad_annotation: skip): {record['problem']}")
