"""The waveform views of seed 003: what each transformation does to a pure tone."""

import numpy as np
import pytest
import torch
import torchaudio.functional as AF

from anuraflow.learn.views import (
    NOISE_SNR_DB,
    PITCH_STEPS,
    STRETCH_FACTORS,
    add_noise,
    phase_vocoder,
    pitch_shift,
    random_views,
    time_stretch,
)

SR = 16000


def _tone(freq=1000.0, seconds=1.0, rate=SR):
    t = torch.arange(int(seconds * rate)) / rate
    return 0.5 * torch.sin(2 * torch.pi * freq * t)


def _peak_hz(wave):
    spectrum = np.abs(np.fft.rfft(wave.numpy()))
    return np.fft.rfftfreq(len(wave), 1 / SR)[spectrum.argmax()]


@pytest.mark.parametrize("rate", [0.5, 0.7, 1.0, 1.3, 2 ** (-7 / 12)])
def test_phase_vocoder_gives_torchaudios_numbers(rate):
    waves = torch.randn(3, SR, generator=torch.Generator().manual_seed(0))
    spec = torch.stft(waves, 512, 128, window=torch.hann_window(512), return_complex=True)
    advance = torch.linspace(0, torch.pi * 128, spec.shape[-2])[..., None]
    expected = AF.phase_vocoder(spec, rate, advance)
    torch.testing.assert_close(phase_vocoder(spec, rate, advance), expected, rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("rate", [0.7, 1.3])
def test_time_stretch_keeps_pitch_and_length(rate):
    out = time_stretch(_tone(), rate)
    assert out.shape == (SR,) and _peak_hz(out[:8000]) == pytest.approx(1000, abs=2)


def test_time_stretch_changes_duration_of_a_burst():
    wave = torch.zeros(SR)
    wave[4000:8000] = _tone(seconds=0.25)  # 0.25 s of tone at 0.25-0.5 s
    slow = time_stretch(wave, 0.5)  # half speed: the burst lasts about 0.5 s
    loud = (slow.abs() > 0.1).nonzero().squeeze()
    assert (loud[-1] - loud[0]) / SR == pytest.approx(0.5, abs=0.03)


@pytest.mark.parametrize("steps, hz", [(12, 2000), (-12, 500), (3, 1000 * 2 ** (3 / 12))])
def test_pitch_shift_moves_the_tone_by_semitones(steps, hz):
    out = pitch_shift(_tone(), SR, steps)
    assert out.shape == (SR,) and _peak_hz(out) == pytest.approx(hz, rel=0.01)


@pytest.mark.parametrize("snr_db", [2, 12])
def test_noise_lands_at_the_snr(snr_db):
    wave = _tone().repeat(3, 1)
    out = add_noise(wave, snr_db, torch.Generator().manual_seed(0))
    snr = 10 * torch.log10(wave.pow(2).mean(-1) / (out - wave).pow(2).mean(-1))
    assert torch.allclose(snr, torch.full((3,), float(snr_db)), atol=1e-3)


def test_random_views_are_reproducible_and_keep_length():
    waves = torch.stack([_tone(), _tone(440.0)])
    a = random_views(waves, SR, torch.Generator().manual_seed(3))
    b = random_views(waves, SR, torch.Generator().manual_seed(3))
    assert a.shape == waves.shape and torch.equal(a, b)


def test_random_views_batched_equal_one_window_at_a_time():
    """64 copies of one tone: every view must be one of Table 2's 18 transformations of it,
    computed batched exactly as one window alone would be, and the draws must cover them."""
    tone = _tone(seconds=0.5)
    out = random_views(tone.repeat(64, 1), SR, torch.Generator().manual_seed(0))
    singles = [time_stretch(tone[None], r)[0] for r in STRETCH_FACTORS]
    singles += [pitch_shift(tone[None], SR, s)[0] for s in PITCH_STEPS]
    seen = set()
    for view in out:
        match = [i for i, single in enumerate(singles) if torch.allclose(view, single, atol=1e-5)]
        if match:
            seen.add(("transform", match[0]))
            continue
        snr = float(10 * torch.log10(tone.pow(2).mean() / (view - tone).pow(2).mean()))
        assert min(abs(snr - s) for s in NOISE_SNR_DB) < 1e-3, snr  # a noise view, at its SNR
        seen.add(("noise", round(snr)))
    assert len(seen) == 18  # seed 0 draws every one of them
