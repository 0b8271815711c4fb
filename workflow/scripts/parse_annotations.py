"""Rule parse_annotations: normalise one recording's label file (Audacity or Raven)."""

from anuraflow.annotations import normalise_annotation_file
from anuraflow.fileio import redirect_output

sm = snakemake  # noqa: F821 (injected by Snakemake)
with redirect_output(sm.log[0]):
    skipped = normalise_annotation_file(
        sm.input.labels[0] if sm.input.labels else None,
        sm.wildcards.recording,
        sm.output[0],
        sm.params.codes,
        sm.params.on_blank_label,
    )
    for line in skipped:
        print(f"skipped: {line}")
