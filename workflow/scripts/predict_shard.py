"""Rule predict_shard: scores, records and selections of one shard of new recordings."""

import torch

from anuraflow.core.fileio import job_log
from anuraflow.data.recorder_names import RecorderNames
from anuraflow.detect.predict import PredictSettings
from anuraflow.detect.shard import predict_shard

sm = snakemake  # noqa: F821 (injected by Snakemake)
torch.set_num_threads(sm.threads)
pred = sm.params.predict
settings = PredictSettings(
    threshold=pred["threshold"],
    hop_s=pred["hop_s"],
    block_s=pred["block_s"],
    batch_size=pred["batch_size"],
    on_bad_recording="skip",  # recorded, not raised: predict_summary applies the policy
    device=pred["device"],
    precision=pred["precision"],
    channels_last=pred["channels_last"],
    compile=pred["compile"],
    threads=sm.threads,
    names=RecorderNames.from_config(sm.params.recorder_names),
    embedding_model_path=sm.params.embeddings["model_path"],
    embedding_runtime=sm.params.embeddings["runtime"],
)
with job_log(sm.log[0]) as say:
    predict_shard(sm.params.recordings, sm.input.bundle, dict(sm.output), settings, say)
