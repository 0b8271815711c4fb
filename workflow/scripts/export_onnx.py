"""Rule export_onnx: a run's model bundle as ONNX (normalisation, model and activation)."""

from anuraflow.core.fileio import redirect_output
from anuraflow.learn.bundle import export_onnx

sm = snakemake  # noqa: F821 (injected by Snakemake)
with redirect_output(sm.log[0]):
    export_onnx(sm.input[0], sm.output[0])
