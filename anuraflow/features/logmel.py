"""Log-mel features, computed once per recording and cached in Parquet.

A window's features are a slice of its recording's: frames are centred every `hop_length`
samples, so a window starting at t seconds begins at frame floor(t * sample_rate / hop_length)
and spans window_s * sample_rate / hop_length + 1 frames (376 for 3 s at 16 kHz, hop 128).

Parquet schema (one file per recording, one row per frame):
    frame: int32          frame index from the start of the recording
    logmel: fixed_size_list<float32>[n_mels]   10*log10(mel power + 1e-10)
Schema metadata (utf-8 JSON under key b"anuraflow"): recording_id, sample_rate, n_fft,
hop_length, n_mels, f_min, f_max, n_frames.
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from anuraflow.core.fileio import (
    index_cache_files,
    read_vector_meta,
    read_vector_table,
    write_vector_table,
)
from anuraflow.data.audio import read_audio, resample, to_mono

LOG_FLOOR = 1e-10


@dataclass(frozen=True)
class LogMelConfig:
    sample_rate: int = 16000
    n_fft: int = 512
    hop_length: int = 128
    n_mels: int = 128
    f_min: float = 0.0
    f_max: float | None = None

    def frame_of(self, time_s: float) -> int:
        """Index of the last frame centred at or before `time_s`."""
        return int(np.floor(time_s * self.sample_rate / self.hop_length + 1e-9))

    def frames_per_window(self, window_s: float) -> int:
        """Frames of a window: both rounded down, so the last window of a recording never
        needs a frame beyond its end (at hop 128 and 16 kHz, 125 frames a second, exact)."""
        return int(np.floor(window_s * self.sample_rate / self.hop_length + 1e-9)) + 1


def logmel(samples: np.ndarray, sample_rate: int, cfg: LogMelConfig) -> np.ndarray:
    """[n_frames, n_mels] float32 log-mel of mono samples (resampled to cfg.sample_rate).

    The same numbers as `mel_transform` (tested), with the power spectrum taken as re^2 + im^2:
    torchaudio's |X|^2 takes a complex square root first, a fifth of the feature job's time.
    """
    import torch

    samples = resample(samples, sample_rate, cfg.sample_rate)
    transform = mel_transform(cfg)
    stft, mel = transform.spectrogram, transform.mel_scale
    with torch.no_grad():
        x = torch.from_numpy(np.ascontiguousarray(samples, dtype=np.float32))
        spec = torch.stft(
            x,
            stft.n_fft,
            stft.hop_length,
            stft.win_length,
            stft.window,
            center=True,
            pad_mode="reflect",
            normalized=False,
            onesided=True,
            return_complex=True,
        )
        power = spec.real.square() + spec.imag.square()  # [n_fft // 2 + 1, frames]
        out = 10.0 * torch.log10(torch.clamp(power.T @ mel.fb, min=LOG_FLOOR))
    return out.contiguous().numpy()


def mel_transform(cfg: LogMelConfig):
    """torchaudio's mel power spectrogram for `cfg` (a module: move it to the data's device)."""
    import torchaudio.transforms as T

    with warnings.catch_warnings():
        # 128 HTK mels over 257 FFT bins (the seed's setting) leaves the lowest filters empty;
        # torchaudio warns on every call. Those bands are constant log-floor, which is harmless.
        warnings.filterwarnings("ignore", message="At least one mel filterbank has all zero")
        return T.MelSpectrogram(
            sample_rate=cfg.sample_rate,
            n_fft=cfg.n_fft,
            hop_length=cfg.hop_length,
            n_mels=cfg.n_mels,
            f_min=cfg.f_min,
            f_max=cfg.f_max,
            power=2.0,
            center=True,
            pad_mode="reflect",
        )


def write_feature_cache(
    path: str | Path, features: np.ndarray, recording_id: str, cfg: LogMelConfig
) -> None:
    n_frames = features.shape[0]
    meta = {"recording_id": recording_id, "n_frames": n_frames, **asdict(cfg)}
    frames = ("frame", np.arange(n_frames, dtype=np.int32))
    write_vector_table(path, frames, ("logmel", features), meta)


def read_feature_cache(path: str | Path) -> tuple[np.ndarray, dict]:
    """Features [n_frames, n_mels] float32 and the metadata they were computed with."""
    _, features, meta = read_vector_table(path, "logmel", "n_mels")
    return features, meta


def feature_frame_count(path: str | Path) -> int:
    """How many frames a feature cache holds (one row each), from its footer alone."""
    return pq.read_metadata(path).num_rows


def read_feature_meta(path: str | Path) -> dict:
    """The metadata of a feature cache, without reading its frames."""
    return read_vector_meta(path)


def index_feature_caches(
    paths: list[str | Path], out_path: str | Path, threads: int = 1
) -> pd.DataFrame:
    """One row per feature cache: recording_id, path, n_frames, n_mels, bytes, sha256.

    Training jobs depend on this one small table instead of on every cache: 1,612 caches x 96
    training jobs would be 155k DAG edges, and the checksums make a changed cache visible to
    provenance and to the resume fingerprint.
    """

    def describe(path: str) -> dict:
        meta = read_feature_meta(path)
        return {
            "recording_id": meta["recording_id"],
            "n_frames": int(meta["n_frames"]),
            "n_mels": int(meta["n_mels"]),
        }

    return index_cache_files(paths, out_path, describe, threads)


def read_feature_index(path: str | Path) -> dict[str, str]:
    """recording_id -> feature cache path, from a table `index_feature_caches` wrote."""
    index = pd.read_parquet(path, columns=["recording_id", "path"])
    return dict(zip(index["recording_id"], index["path"], strict=True))


def cache_recording_features(
    audio_path: str | Path, out_path: str | Path, recording_id: str, cfg: LogMelConfig
) -> np.ndarray:
    samples, rate = read_audio(audio_path)
    if samples.shape[0] == 0:  # a recording skipped at ingest: no frames, no windows
        features = np.zeros((0, cfg.n_mels), np.float32)
    else:
        features = logmel(to_mono(samples), rate, cfg)
    write_feature_cache(out_path, features, recording_id, cfg)
    return features


def slice_window(
    features: np.ndarray, start_s: float, window_s: float, cfg: LogMelConfig
) -> np.ndarray:
    """The [frames_per_window, n_mels] block of a window starting at `start_s`."""
    first = cfg.frame_of(start_s)
    n = cfg.frames_per_window(window_s)
    if first < 0 or first + n > features.shape[0]:
        raise IndexError(
            f"window at {start_s}s needs frames {first}..{first + n}, recording has "
            f"{features.shape[0]}"
        )
    return features[first : first + n]


def cache_noise_bank(
    audio_paths: list[str | Path], out_path: str | Path, cfg: LogMelConfig
) -> np.ndarray:
    """Log-mels of every noise recording, one after the other, in one feature cache."""
    if not audio_paths:
        raise ValueError("the noise bank has no recordings")
    blocks = []
    for path in sorted(map(str, audio_paths)):
        samples, rate = read_audio(path)
        blocks.append(logmel(to_mono(samples), rate, cfg))
    features = np.concatenate(blocks)
    write_feature_cache(out_path, features, "noise_bank", cfg)
    return features
