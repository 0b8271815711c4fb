"""The real field recordings as the BirdNET measurements and their test cut them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly


def real_windows_48k(folder: Path) -> np.ndarray:
    """Every 3 s window (1 s hop) of the WAV files in `folder`, mono at 48 kHz, in file order
    (a file shorter than 3 s padded with silence to one window)."""
    windows = []
    for path in sorted(folder.glob("*.wav")):
        audio, rate = sf.read(path, dtype="float32", always_2d=True)
        audio = resample_poly(audio.mean(axis=1), 48000, rate).astype(np.float32)
        audio = np.pad(audio, (0, max(0, 144000 - len(audio))))
        windows += [audio[i : i + 144000] for i in range(0, len(audio) - 144000 + 1, 48000)]
    return np.stack(windows)
