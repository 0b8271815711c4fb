"""Embeddings of a pretrained model, computed once per recording and cached in Parquet.

The embedding route's frontend: the recording read as its standardised signal at the model's
rate (48 kHz for BirdNET: the 16 kHz audio of the log-mel route has lost everything above
8 kHz), cut into the window grid, each window embedded. The cache job and `predict` both go
through `embed_recording`, so a window scored on new recordings is embedded as the windows the
probe was trained on.

Parquet schema (one file per recording, one row per window of the grid):
    start_s: float64                       window start in the recording
    embedding: fixed_size_list<float32>[dim]
Schema metadata (utf-8 JSON under key b"anuraflow"): recording_id, n_windows, dim, model,
model_file, model_sha256, sample_rate, window_s, hop_s.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile as sf

from anuraflow.core.fileio import (
    index_cache_files,
    read_vector_meta,
    read_vector_table,
    write_vector_table,
)
from anuraflow.data.audio import silent_recording
from anuraflow.data.streaming import audio_facts, output_length, standard_samples

BLOCK_WINDOWS = 64  # windows read and embedded at a time: 37 MB of 48 kHz audio


@dataclass(frozen=True)
class EmbeddingConfig:
    """What an embedding cache was computed with; `f_min`/`f_max` give the band of Raven
    selections (the model sees 0 to sample_rate / 2)."""

    model: str = "birdnet_v2.4"
    sample_rate: int = 48000
    window_s: float = 3.0
    hop_s: float = 1.0
    dim: int = 1024
    f_min: float = 0.0
    f_max: float | None = None
    model_sha256: str | None = None  # of the model file: a probe checks it at prediction


def window_signals(
    path: str | Path, starts: np.ndarray, sample_rate: int, window_s: float
) -> Iterator[np.ndarray]:
    """[n, window samples] float32 blocks of the standardised signal (mono, `sample_rate`,
    16-bit levels) at each start, BLOCK_WINDOWS at a time; a window reaching past the end by a
    few samples of resampler rounding is padded with silence. Raises AudioError for a file
    that is unreadable or silent throughout."""
    facts = audio_facts(path)
    n_out = output_length(facts.frames, facts.sample_rate, sample_rate)
    period = sample_rate // math.gcd(facts.sample_rate, sample_rate)
    width = int(round(window_s * sample_rate))
    firsts = np.round(np.asarray(starts, dtype=np.float64) * sample_rate).astype(np.int64)
    silent = True
    with sf.SoundFile(str(path)) as sound:
        for i in range(0, len(firsts), BLOCK_WINDOWS):
            block = firsts[i : i + BLOCK_WINDOWS]
            a = int(block[0]) // period * period
            b = min(n_out, int(block[-1]) + width)
            signal = standard_samples(sound, facts, sample_rate, a, b)
            silent = silent and not np.any(signal)
            signal = np.pad(signal, (0, max(0, int(block[-1]) + width - a - len(signal))))
            yield np.stack([signal[f - a : f - a + width] for f in block])
    if silent and len(firsts):
        raise silent_recording(path)


def embed_recording(
    path: str | Path,
    starts: np.ndarray,
    embedder,
    config: EmbeddingConfig,
    progress: Callable[[int, int], None] | None = None,
) -> np.ndarray:
    """[len(starts), dim] embeddings of the windows of `path` starting at `starts` (s)."""
    out = np.zeros((len(starts), config.dim), np.float32)
    done = 0
    for windows in window_signals(path, starts, config.sample_rate, config.window_s):
        out[done : done + len(windows)] = embedder.embed(windows)
        done += len(windows)
        if progress is not None:
            progress(done, len(starts))
    return out


def write_embedding_cache(
    path: str | Path,
    starts: np.ndarray,
    embeddings: np.ndarray,
    recording_id: str,
    config: EmbeddingConfig,
    identity: dict,
) -> None:
    n, dim = embeddings.shape
    meta = {"recording_id": recording_id, "n_windows": n, **asdict(config), **identity}
    meta["dim"] = dim
    keys = ("start_s", np.asarray(starts, dtype=np.float64))
    write_vector_table(path, keys, ("embedding", embeddings), meta)


def read_embedding_cache(path: str | Path) -> tuple[np.ndarray, np.ndarray, dict]:
    """(starts [n] float64, embeddings [n, dim] float32, metadata) of one cache."""
    table, embeddings, meta = read_vector_table(path, "embedding", "dim")
    return table.column("start_s").to_numpy(), embeddings, meta


def embedding_config(meta: dict) -> EmbeddingConfig:
    return EmbeddingConfig(**{k: meta[k] for k in EmbeddingConfig.__dataclass_fields__})


def index_embedding_caches(
    paths: list[str | Path], out_path: str | Path, threads: int = 1
) -> pd.DataFrame:
    """One row per embedding cache (recording_id, path, n_windows, dim, model_sha256, bytes,
    sha256): the one input of the probe training jobs, as `feature_index` is for the CNNs."""

    def describe(path: str) -> dict:
        meta = read_vector_meta(path)
        keys = ("recording_id", "n_windows", "dim", "model", "model_sha256")
        return {k: meta[k] for k in keys}

    index = index_cache_files(paths, out_path, describe, threads)
    models = set(index["model_sha256"]) if len(index) else set()
    if len(models) > 1:
        raise ValueError(
            f"the embedding caches were computed by {len(models)} different model files; "
            "delete the embeddings folder and rerun"
        )
    return index


def window_rows(starts_of_cache: np.ndarray, starts: np.ndarray, recording_id: str) -> np.ndarray:
    """Rows of a cache holding the windows that start at `starts` (matched to the ms); a
    window the cache lacks is an error naming it (a cache made for another window grid)."""
    rows = pd.Series(
        np.arange(len(starts_of_cache)), index=np.round(starts_of_cache * 1000).astype(np.int64)
    )
    want = np.round(np.asarray(starts, dtype=np.float64) * 1000).astype(np.int64)
    found = rows.reindex(want)
    if found.isna().any():
        missing = want[found.isna().to_numpy()][0] / 1000
        raise KeyError(
            f"recording {recording_id}: no embedding of the window at {missing:g} s in its "
            "cache (computed for another window length or hop? rerun the embedding stage)"
        )
    return found.to_numpy(np.int64)
