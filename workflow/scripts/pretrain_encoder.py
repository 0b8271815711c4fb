"""Rule pretrain_encoder: self-supervised pretraining of one encoder (seed 003)."""

from anuraflow.core.fileio import redirect_output
from anuraflow.learn.pretrain import PretrainOutputs, pretrain_encoder

sm = snakemake  # noqa: F821 (injected by Snakemake)
with redirect_output(sm.log[0]):
    pretrain_encoder(
        sm.input.windows,
        sm.input.splits,
        list(sm.input.audio),
        sm.params.pretrain,
        sm.params.features,
        sm.params.window_s,
        sm.params.seed,
        PretrainOutputs(sm.output.encoder, sm.output.history, sm.output.metrics),
        threads=sm.threads,
        workflow_config=sm.config,
    )
