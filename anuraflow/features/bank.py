"""The feature caches on the training device: every recording's log-mels in one tensor.

A batch is a gather of frame ranges from it (through the run's `Frontend`), so no audio is
decoded and no spectrogram is recomputed during training.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from anuraflow.core.fileio import read_vector_meta
from anuraflow.data.review_labels import known_mask
from anuraflow.features.embeddings import embedding_config, read_embedding_cache, window_rows
from anuraflow.features.frontend import (
    STORE_DTYPE,
    EmbeddingFrontend,
    FrameStatistics,
    Frontend,
    WaveformFrontend,
    gather_frames,
)
from anuraflow.features.logmel import LogMelConfig, feature_frame_count, read_feature_cache
from anuraflow.features.waveforms import read_waveform_cache


@dataclass
class WindowBank:
    """Frames of every recording; windows are (first frame, labels) pairs."""

    # [total_frames, n_mels] float16, dB (embeddings: [rows, dim] float32; waveforms:
    # [total_samples] int16)
    frames: torch.Tensor
    starts: torch.Tensor  # [n_windows] first frame of each window in `frames` (embeddings: row)
    labels: torch.Tensor  # [n_windows, n_classes] float32
    frontend: Frontend | EmbeddingFrontend | WaveformFrontend  # on the same device
    # [n_windows, n_classes] 0/1: which labels are known (reviewed windows of a recording
    # without a label file); None: every label is
    known: torch.Tensor | None = None

    @property
    def n_frames(self) -> int:
        return self.frontend.n_frames

    def raw(self, idx: torch.Tensor) -> torch.Tensor:
        """[B, 1, n_mels, n_frames] float32 log-mels (dB) of windows `idx`."""
        return self.frontend.windows(self.frames, self.starts[idx])


@dataclass
class NoiseBank:
    """Noise recordings' log-mels in one tensor; a noise example is a random slice of it."""

    frames: torch.Tensor  # [total_frames, n_mels] float16, dB
    n_frames: int

    def sample(self, batch: int, generator: torch.Generator) -> torch.Tensor:
        last = self.frames.shape[0] - self.n_frames
        starts = torch.randint(0, last + 1, (batch,), generator=generator, device=generator.device)
        return gather_frames(self.frames, starts, self.n_frames)


def load_noise_bank(path: str | Path, n_frames: int, device: torch.device) -> NoiseBank:
    feats, _ = read_feature_cache(path)
    if feats.shape[0] < n_frames:
        raise ValueError(
            f"noise bank {path} has {feats.shape[0]} frames, a window needs {n_frames}"
        )
    return NoiseBank(Frontend.store(feats).to(device), n_frames)


def known_tensor(windows: pd.DataFrame, codes: list[str], device) -> torch.Tensor | None:
    mask = known_mask(windows, codes)
    return None if mask is None else torch.tensor(mask, device=device)


def labelled_bank(frames, starts, windows: pd.DataFrame, codes: list[str], frontend,
                  device) -> WindowBank:  # fmt: skip
    """A bank of `frames` (on `device`) with each window's first frame (`starts`), its
    labels and which of them are known, and the frontend moved to the device."""
    return WindowBank(
        frames=frames,
        starts=torch.tensor(starts, dtype=torch.long, device=device),
        labels=torch.tensor(windows[codes].to_numpy(np.float32), device=device),
        frontend=frontend.to(device),
        known=known_tensor(windows, codes, device),
    )


def build_bank(
    windows: pd.DataFrame,
    feature_paths: dict[str, str],
    codes: list[str],
    window_s: float,
    train_recordings: set[str],
    normalisation: str,
    device: torch.device,
) -> WindowBank:
    """The bank of `windows`' recordings, with a frontend normalising by the statistics of
    the `train_recordings`' frames (never of validation or test).

    The frames tensor is allocated once, at its final size and on its device, and filled one
    recording at a time: the process never holds more than the bank and one recording's
    float32 frames (concatenating blocks would hold the bank twice)."""
    recordings = sorted(windows["recording_id"].unique())
    sizes = [feature_frame_count(feature_paths[r]) for r in recordings]
    offsets = dict(zip(recordings, np.cumsum([0, *sizes[:-1]]).tolist(), strict=True))
    frames, stats, cfg = None, FrameStatistics(), None
    for rec, size in zip(recordings, sizes, strict=True):
        feats, meta = read_feature_cache(feature_paths[rec])
        cfg = LogMelConfig(**{k: meta[k] for k in LogMelConfig.__dataclass_fields__})
        if frames is None:
            frames = torch.empty((sum(sizes), feats.shape[1]), dtype=STORE_DTYPE, device=device)
        frames[offsets[rec] : offsets[rec] + size] = Frontend.store(feats).to(device)
        if rec in train_recordings:
            stats.add(feats)
    frontend = Frontend.from_statistics(cfg, window_s, normalisation, stats)
    starts = [
        offsets[r] + cfg.frame_of(s)
        for r, s in zip(windows["recording_id"], windows["start_s"], strict=True)
    ]
    return labelled_bank(frames, starts, windows, codes, frontend, device)


def build_embedding_bank(
    windows: pd.DataFrame,
    cache_paths: dict[str, str],
    codes: list[str],
    window_s: float,
    train_recordings: set[str],
    normalisation: str,
    device: torch.device,
) -> WindowBank:
    """The embedding route's bank: every recording's cached embeddings in one [rows, dim]
    float32 tensor, a window being one row; normalised per dimension by the statistics of the
    `train_recordings`' rows."""
    recordings = sorted(windows["recording_id"].unique())
    positions = windows.groupby("recording_id", sort=False).indices
    starts = np.empty(len(windows), np.int64)
    blocks, stats, cfg, offset = [], FrameStatistics(), None, 0
    for rec in recordings:
        cache_starts, embeddings, meta = read_embedding_cache(cache_paths[rec])
        cfg = embedding_config(meta)
        if abs(cfg.window_s - window_s) > 1e-9:
            raise ValueError(
                f"{cache_paths[rec]}: embeddings of {cfg.window_s:g} s windows, the workflow's "
                f"windows are {window_s:g} s"
            )
        pos = positions[rec]
        starts[pos] = offset + window_rows(cache_starts, windows["start_s"].to_numpy()[pos], rec)
        blocks.append(torch.tensor(embeddings))  # a copy: the Arrow buffer is read-only
        offset += len(embeddings)
        if rec in train_recordings:
            stats.add(embeddings)
    frontend = EmbeddingFrontend.from_statistics(cfg, window_s, normalisation, stats)
    return labelled_bank(torch.cat(blocks).to(device), starts, windows, codes, frontend, device)


def build_waveform_bank(
    windows: pd.DataFrame,
    cache_paths: dict[str, str],
    codes: list[str],
    window_s: float,
    train_recordings: set[str],
    normalisation: str,
    device: torch.device,
) -> WindowBank:
    """The fine-tuning route's bank: every recording's 48 kHz int16 samples in one tensor, a
    window being a slice of them (`WaveformFrontend`); allocated once at its final size, as
    `build_bank` does. The network normalises its own input: nothing is computed from the
    training recordings (`train_recordings`, `normalisation` kept for the shared signature)."""
    recordings = sorted(windows["recording_id"].unique())
    metas = [read_vector_meta(cache_paths[r]) for r in recordings]  # footers only
    cfg = embedding_config(metas[0])
    for rec, meta in zip(recordings, metas, strict=True):
        if abs(meta["window_s"] - window_s) > 1e-9:
            raise ValueError(
                f"{cache_paths[rec]}: cached for {meta['window_s']:g} s windows, the "
                f"workflow's windows are {window_s:g} s"
            )
    frontend = WaveformFrontend.plain(cfg, window_s)
    sizes = [int(m["n_samples"]) for m in metas]
    offsets = np.cumsum([0, *sizes[:-1]])
    frames = torch.empty(sum(sizes), dtype=torch.int16, device=device)
    for rec, offset, size in zip(recordings, offsets, sizes, strict=True):
        samples, _ = read_waveform_cache(cache_paths[rec])
        frames[offset : offset + size] = torch.from_numpy(samples).to(device)
    first = dict(zip(recordings, offsets, strict=True))
    end = dict(zip(recordings, offsets + np.array(sizes), strict=True))
    rec_of = windows["recording_id"]
    starts = rec_of.map(first).to_numpy(np.int64) + np.array(
        [frontend.frame_of(s) for s in windows["start_s"]], dtype=np.int64
    )
    short = starts + frontend.n_frames > rec_of.map(end).to_numpy(np.int64)
    if short.any():
        row = windows.iloc[int(np.flatnonzero(short)[0])]
        raise ValueError(
            f"recording {row['recording_id']}: the window at {row['start_s']:g} s reaches past "
            f"its cached signal ({cache_paths[row['recording_id']]}); rerun the waveforms stage"
        )
    return labelled_bank(frames, starts, windows, codes, frontend, device)
