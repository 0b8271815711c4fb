"""A recording's standardised signal at a pretrained network's rate, cached in Parquet: the
input of the experiments that fine-tune BirdNET V2.4 (`birdnet_finetune`), whose own
spectrogram front end is part of the network trained.

The signal is the one the embedding stage cuts its windows from (mono, 48 kHz, 16-bit levels,
`anuraflow.features.embeddings.window_signals`), computed once for the whole recording and
kept as its 16-bit integers: lossless (every sample is a multiple of 1 / 32768) and half the
bytes of float32. A window is a slice of it, cut on the training device.

Parquet schema (one file per recording): sample: int16, one row per sample. Schema metadata
(utf-8 JSON under key b"anuraflow"): recording_id, n_samples, and the `EmbeddingConfig` of the
network it is for (model, model_sha256, sample_rate, window_s, hop_s; `embedding_config`
reads it back, as from an embedding cache).
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile as sf

from anuraflow.core.fileio import (
    VECTOR_META_KEY,
    atomic_path,
    index_cache_files,
    read_vector_meta,
)
from anuraflow.data.audio import silent_recording
from anuraflow.data.streaming import audio_facts, output_length, standard_samples
from anuraflow.features.embeddings import EmbeddingConfig

PCM16_SCALE = 32768.0  # a 16-bit level k is the float sample k / 32768 (libsndfile's reading)


def recording_signal(path: str | Path, sample_rate: int) -> np.ndarray:
    """The whole standardised signal of `path` at `sample_rate` as int16 levels. Raises
    AudioError for a file that is unreadable or silent throughout."""
    facts = audio_facts(path)
    n_out = output_length(facts.frames, facts.sample_rate, sample_rate)
    with sf.SoundFile(str(path)) as sound:
        signal = standard_samples(sound, facts, sample_rate, 0, n_out)
    if n_out and not np.any(signal):
        raise silent_recording(path)
    return np.round(signal * PCM16_SCALE).astype(np.int16)


def write_waveform_cache(
    path: str | Path, samples: np.ndarray, recording_id: str, config: EmbeddingConfig
) -> None:
    """One recording's int16 signal, written atomically (zstd; 16-bit audio compresses)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    meta = {"recording_id": recording_id, "n_samples": int(len(samples)), **asdict(config)}
    table = pa.table({"sample": pa.array(np.asarray(samples, dtype=np.int16))})
    table = table.replace_schema_metadata({VECTOR_META_KEY: json.dumps(meta).encode()})
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp, compression="zstd", use_dictionary=False)


def read_waveform_cache(path: str | Path) -> tuple[np.ndarray, dict]:
    """(int16 samples, metadata) of one cache."""
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    meta = json.loads(table.schema.metadata[VECTOR_META_KEY])
    return table.column("sample").to_numpy(), meta


def index_waveform_caches(
    paths: list[str | Path], out_path: str | Path, threads: int = 1
) -> pd.DataFrame:
    """One row per waveform cache (recording_id, path, n_samples, sample_rate, model_sha256,
    bytes, sha256): the one input of the fine-tuning jobs, as `feature_index` is for the CNNs."""

    def describe(path: str) -> dict:
        meta = read_vector_meta(path)
        keys = ("recording_id", "n_samples", "sample_rate", "model", "model_sha256")
        return {k: meta[k] for k in keys}

    index = index_cache_files(paths, out_path, describe, threads)
    for column in ("sample_rate", "model_sha256"):
        values = set(index[column]) if len(index) else set()
        if len(values) > 1:
            raise ValueError(
                f"the waveform caches differ in {column} ({sorted(map(str, values))}); "
                "delete the waveforms folder and rerun"
            )
    return index
