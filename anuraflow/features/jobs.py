"""The per-recording feature job (log-mel cache), shaped for Snakemake's `run:` directive:
a thread of Snakemake's own process, as the data jobs are (`anuraflow.data.jobs` says why)."""

from __future__ import annotations

from anuraflow.core.fileio import job_log
from anuraflow.core.threads import one_torch_thread
from anuraflow.features.logmel import LogMelConfig, cache_recording_features


def features_job(audio: str, out: str, log: str, recording_id: str, features: dict) -> None:
    """Rule compute_features: one recording's log-mel, cached in Parquet."""
    with job_log(log) as say:
        one_torch_thread()
        frames = cache_recording_features(audio, out, recording_id, LogMelConfig(**features))
        say(f"{audio}: {frames.shape[0]} frames x {frames.shape[1]} mels -> {out}")
