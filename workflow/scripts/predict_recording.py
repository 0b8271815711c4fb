"""Rule predict_recording: scores, detections and a Raven table of one new recording."""

import torch

from anuraflow.core.fileio import job_log
from anuraflow.detect.predict import PredictSettings, predict_recording

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
)
with job_log(sm.log[0]) as say:
    predict_recording(
        sm.input.audio, sm.input.bundle, sm.wildcards.recording, dict(sm.output), settings, say
    )
