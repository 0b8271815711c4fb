"""Rule class_folder_windows: one window per class-folder clip -> windows.parquet."""

from anuraflow.clips import class_folder_windows
from anuraflow.fileio import redirect_output

sm = snakemake  # noqa: F821 (injected by Snakemake)
with redirect_output(sm.log[0]):
    class_folder_windows(sm.input.manifest, sm.output[0], sm.params.codes, sm.params.window_s)
