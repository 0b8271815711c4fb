"""The one frontend: audio -> log-mels -> windows -> normalised model input -> scores.

(Its twins have the same interface: `EmbeddingFrontend` for probes on a pretrained model's
embeddings, a window being one row of the recording's embedding cache; `WaveformFrontend` for
fine-tuning BirdNET, a window being a slice of the recording's 48 kHz samples.)

Training, evaluation and prediction all go through a `Frontend`, so a window scored on next
season's recordings is computed exactly as the windows the model was selected and tested on:
the same log-mel settings, the same float16 storage of the frames, the same window length in
frames and the same normalisation with the training recordings' statistics. Every model bundle
stores its frontend (`to_dict`), so loading a model needs nothing from the config.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

import numpy as np
import torch
from torch import nn

from anuraflow.features.augment import normalise
from anuraflow.features.embeddings import EmbeddingConfig
from anuraflow.features.logmel import LogMelConfig, logmel
from anuraflow.features.waveforms import PCM16_SCALE

# frames are held as float16 (half the memory of the training bank; rounding is ~0.01 dB):
# prediction stores them the same way, so its scores equal the evaluation's
STORE_DTYPE = torch.float16


def gather_frames(frames: torch.Tensor, starts: torch.Tensor, n_frames: int) -> torch.Tensor:
    """[B, 1, n_mels, n_frames] float32 blocks of `frames` [total, n_mels] from each start."""
    rows = starts[:, None] + torch.arange(n_frames, device=starts.device)
    return frames[rows].float().transpose(1, 2).unsqueeze(1).contiguous()


class NormalisedWindows:
    """What the frontends share (each a dataclass of features, window_s, normalisation,
    mean, std): the model input, moving the statistics to a device, and the plain-value form
    a bundle stores. `config_class` is the type of `features`."""

    config_class: type

    def model_input(self, frames: torch.Tensor, first_frames: torch.Tensor) -> torch.Tensor:
        return self.normalise(self.windows(frames, first_frames))

    def to(self, device: torch.device | str):
        return replace(self, mean=self.mean.to(device), std=self.std.to(device))

    def to_dict(self) -> dict:
        """Plain values only (a bundle is loaded with weights_only=True)."""
        return {
            "kind": self.kind,
            "features": asdict(self.features),
            "window_s": float(self.window_s),
            "normalisation": self.normalisation,
            "mean": self.mean.detach().cpu().float().tolist(),
            "std": self.std.detach().cpu().float().tolist(),
        }

    @classmethod
    def from_dict(cls, d: dict):
        return cls(
            cls.config_class(**d["features"]),
            float(d["window_s"]),
            d["normalisation"],
            torch.tensor(d["mean"], dtype=torch.float32),
            torch.tensor(d["std"], dtype=torch.float32),
        )

    @classmethod
    def from_statistics(cls, features, window_s: float, normalisation: str, stats):
        """A frontend normalising by `stats` (a FrameStatistics of the training recordings)."""
        mean, std = stats.mean_std()
        return cls(
            features,
            window_s,
            normalisation,
            torch.tensor(mean, dtype=torch.float32),
            torch.tensor(std, dtype=torch.float32),
        )


@dataclass
class Frontend(NormalisedWindows):
    """Log-mel settings, window length and normalisation (with its statistics) of one model."""

    features: LogMelConfig
    window_s: float
    normalisation: str  # augment.normalise's mode: dataset | sample_z | sample_minmax | none
    mean: torch.Tensor  # [n_mels] float32, of the training recordings' frames (dataset mode)
    std: torch.Tensor

    kind = "logmel"
    config_class = LogMelConfig

    @property
    def n_frames(self) -> int:
        """Frames per window (376 for 3 s at 16 kHz, hop 128)."""
        return self.features.frames_per_window(self.window_s)

    def model_shape(self) -> dict:
        """What `build_model` needs to know of the input."""
        return {"n_mels": self.features.n_mels, "n_frames": self.n_frames}

    def frame_of(self, time_s: float) -> int:
        return self.features.frame_of(time_s)

    def logmel(self, samples: np.ndarray, sample_rate: int) -> np.ndarray:
        """[n_frames, n_mels] float32 log-mels (dB) of mono samples."""
        return logmel(samples, sample_rate, self.features)

    @staticmethod
    def store(features: np.ndarray) -> torch.Tensor:
        """Log-mel frames as the frontend keeps them (float16), always a copy: the array may be
        Arrow's read-only memory (torch warned in every training log)."""
        return torch.tensor(features, dtype=STORE_DTYPE)

    def windows(self, frames: torch.Tensor, first_frames: torch.Tensor) -> torch.Tensor:
        """Raw log-mel windows (dB) starting at `first_frames`: what augmentation mixes."""
        return gather_frames(frames, first_frames, self.n_frames)

    def normalise(self, x: torch.Tensor) -> torch.Tensor:
        return normalise(x, self.normalisation, self.mean, self.std)

    def augmented_input(
        self, frames: torch.Tensor, first_frames: torch.Tensor, shifts: torch.Tensor | None,
        stripes: tuple[torch.Tensor, torch.Tensor] | None,
    ) -> torch.Tensor:  # fmt: skip
        """`model_input`, each window rolled along time by its shift ([B, 1] frames, as
        `circular_time_shift` rolls) and zeroed in SpecAugment's `stripes` ([B, n_mels],
        [B, n_frames] bool, as `spec_augment` zeroes), for `dataset` or `none`
        normalisation: the same values, with the shift done by the gather itself and every
        step on the gathered [B, frames, mels] block before its one transposing copy (the
        demo's small CNN, whose steps are short, felt the separate passes)."""
        if self.normalisation not in ("dataset", "none"):
            raise ValueError(f"augmented_input takes dataset or none, not {self.normalisation}")
        t = self.n_frames
        offsets = torch.arange(t, device=first_frames.device)[None, :]
        if shifts is not None:
            offsets = (offsets - shifts) % t
        x = frames[first_frames[:, None] + offsets].float()  # [B, T, F], a new tensor
        if self.normalisation == "dataset":
            x.sub_(self.mean).div_(self.std)
        if stripes is not None:
            fmask, tmask = stripes
            x.masked_fill_(tmask[:, :, None] | fmask[:, None, :], 0.0)
        return x.transpose(1, 2).unsqueeze(1).contiguous()

    def to_dict(self) -> dict:
        return {**super().to_dict(), "store_dtype": str(STORE_DTYPE).removeprefix("torch.")}


@dataclass
class EmbeddingFrontend(NormalisedWindows):
    """The embedding route's frontend: a recording's "frames" are its windows' embeddings
    (one row per window of the grid, `anuraflow.features.embeddings`), a window is one row,
    and normalisation is per dimension with the training recordings' statistics."""

    features: EmbeddingConfig
    window_s: float
    normalisation: str  # dataset | none
    mean: torch.Tensor  # [dim] float32
    std: torch.Tensor

    kind = "embedding"
    config_class = EmbeddingConfig
    n_frames = 1  # one row of the cache per window

    def model_shape(self) -> dict:
        return {"n_inputs": self.features.dim}

    def windows(self, frames: torch.Tensor, first_frames: torch.Tensor) -> torch.Tensor:
        """[B, dim] float32 embeddings of the windows in rows `first_frames`."""
        return frames[first_frames].float()

    def normalise(self, x: torch.Tensor) -> torch.Tensor:
        if self.normalisation == "dataset":
            return (x - self.mean) / self.std
        if self.normalisation == "none":
            return x
        raise KeyError(
            f"embeddings are normalised by 'dataset' or 'none', not {self.normalisation!r}"
        )


@dataclass
class WaveformFrontend(NormalisedWindows):
    """The fine-tuning route's frontend (`birdnet_finetune`): a recording's "frames" are its
    standardised samples at the network's rate (int16 levels in the training bank, float32
    where `predict` hands a block of windows), a window is `window_s` of them, and the
    network's own spectrogram front end does the rest: no normalisation here."""

    features: EmbeddingConfig  # the network's input: model, sample_rate, window_s, checksum
    window_s: float
    normalisation: str  # none
    mean: torch.Tensor  # [1] zero: kept for the shared interface (devices, bundles)
    std: torch.Tensor

    kind = "waveform"
    config_class = EmbeddingConfig

    @property
    def n_frames(self) -> int:
        """Samples per window (144,000 for 3 s at 48 kHz)."""
        return int(round(self.window_s * self.features.sample_rate))

    def model_shape(self) -> dict:
        return {}  # the network's shape comes with its model file

    def frame_of(self, time_s: float) -> int:
        return int(round(time_s * self.features.sample_rate))

    def windows(self, frames: torch.Tensor, first_frames: torch.Tensor) -> torch.Tensor:
        """[B, samples] float32 in [-1, 1] of the windows starting at sample `first_frames`."""
        x = frames.unfold(0, self.n_frames, 1)[first_frames]
        return x.float() / PCM16_SCALE if x.dtype == torch.int16 else x.float()

    def normalise(self, x: torch.Tensor) -> torch.Tensor:
        if self.normalisation != "none":
            raise KeyError(
                f"a waveform is normalised by the network's own front end: normalise 'none', "
                f"not {self.normalisation!r}"
            )
        return x

    @classmethod
    def plain(cls, features: EmbeddingConfig, window_s: float) -> WaveformFrontend:
        return cls(features, window_s, "none", torch.zeros(1), torch.ones(1))


FRONTENDS = {f.kind: f for f in (Frontend, EmbeddingFrontend, WaveformFrontend)}


def frontend_from_dict(d: dict) -> Frontend | EmbeddingFrontend | WaveformFrontend:
    """The frontend a bundle stored (bundles without a kind are log-mel ones)."""
    return FRONTENDS[d.get("kind", "logmel")].from_dict(d)


class FrameStatistics:
    """Per-mel mean and std of the frames added, summed in float64 one recording at a time
    (no recording is kept: at AnuraSet scale the training frames are gigabytes)."""

    def __init__(self) -> None:
        self.n, self.total, self.square = 0, 0.0, 0.0

    def add(self, features: np.ndarray) -> None:
        f64 = features.astype(np.float64)
        self.n += f64.shape[0]
        self.total = self.total + f64.sum(0)
        self.square = self.square + (f64**2).sum(0)

    def mean_std(self) -> tuple[np.ndarray, np.ndarray]:
        """(mean, std); std floored at 1e-3."""
        if self.n == 0:
            raise ValueError("no frames to compute normalisation statistics from")
        mean = self.total / self.n
        return mean, np.sqrt(np.maximum(self.square / self.n - mean**2, 1e-6))


@torch.no_grad()
def score_windows(
    model: nn.Module,
    frontend: Frontend,
    frames: torch.Tensor,
    first_frames: torch.Tensor,
    n_classes: int,
    multiclass: bool,
    batch_size: int = 256,
    embeddings: bool = False,
    precision: str = "fp32",
) -> tuple[np.ndarray, np.ndarray | None]:
    """Probabilities [n, n_classes] (sigmoid; softmax for single-label models) of the windows
    starting at `first_frames`, and with `embeddings` the model's embeddings. `precision`:
    fp32, or bf16 autocast of the model (the frontend itself always computes in float32)."""
    model.eval()
    probs, embeds = [], []
    bf16 = precision == "bf16"
    for i in range(0, len(first_frames), batch_size):
        x = frontend.model_input(frames, first_frames[i : i + batch_size])
        with torch.autocast(frames.device.type, dtype=torch.bfloat16, enabled=bf16):
            h = model.embed(x)
            logits = model.classify(h).float()
        probs.append((logits.softmax(1) if multiclass else torch.sigmoid(logits)).cpu())
        if embeddings:
            embeds.append(h.float().cpu())
    prob = torch.cat(probs).numpy() if probs else np.zeros((0, n_classes), np.float32)
    if not embeddings:
        return prob, None
    return prob, (torch.cat(embeds).numpy() if embeds else np.zeros((0, 0), np.float32))
