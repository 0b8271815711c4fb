"""Rule class_folder_windows: one window per class-folder clip -> windows.parquet."""

from anuraflow.core.fileio import redirect_output
from anuraflow.data.clips import class_folder_windows

sm = snakemake  # noqa: F821 (injected by Snakemake)
with redirect_output(sm.log[0]):
    class_folder_windows(sm.input.manifest, sm.output[0], sm.params.codes, sm.params.window_s)
