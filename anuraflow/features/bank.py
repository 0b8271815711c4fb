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

from anuraflow.features.frontend import FrameStatistics, Frontend, gather_frames
from anuraflow.features.logmel import LogMelConfig, read_feature_cache


@dataclass
class WindowBank:
    """Frames of every recording; windows are (first frame, labels) pairs."""

    frames: torch.Tensor  # [total_frames, n_mels] float16, dB
    starts: torch.Tensor  # [n_windows] first frame of each window in `frames`
    labels: torch.Tensor  # [n_windows, n_classes] float32
    frontend: Frontend  # on the same device

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
    the `train_recordings`' frames (never of validation or test)."""
    blocks, offsets, offset, stats = [], {}, 0, FrameStatistics()
    cfg = None
    for rec in sorted(windows["recording_id"].unique()):
        feats, meta = read_feature_cache(feature_paths[rec])
        cfg = LogMelConfig(**{k: meta[k] for k in LogMelConfig.__dataclass_fields__})
        offsets[rec] = offset
        offset += feats.shape[0]
        blocks.append(Frontend.store(feats))
        if rec in train_recordings:
            stats.add(feats)
    mean, std = stats.mean_std()
    frontend = Frontend(
        cfg,
        window_s,
        normalisation,
        torch.tensor(mean, dtype=torch.float32),
        torch.tensor(std, dtype=torch.float32),
    )
    starts = [
        offsets[r] + cfg.frame_of(s)
        for r, s in zip(windows["recording_id"], windows["start_s"], strict=True)
    ]
    return WindowBank(
        frames=torch.cat(blocks).to(device),
        starts=torch.tensor(starts, dtype=torch.long, device=device),
        labels=torch.tensor(windows[codes].to_numpy(np.float32), device=device),
        frontend=frontend.to(device),
    )
