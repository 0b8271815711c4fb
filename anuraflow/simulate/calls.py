"""Every call of a planned recording: when, how long, at what pitch and SNR, what is labelled,
and its waveform.

Species sing in bouts separated by silent stretches and overlap with each other; a call is
labelled where it is audible (within 20 dB of its peak), in the AnuraSet strong-label format
`start<TAB>end<TAB>CODE_Q`. The labels (`planned_labels`) need no audio, so a dataset's
statistics are checked without writing it.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from functools import cache

import numpy as np

from anuraflow.simulate.plan import PlannedRecording, Voice

AUDIBLE_DB = -20.0  # a call is labelled where its envelope is within 20 dB of its peak


@dataclass(frozen=True)
class Call:
    """One planned call: where it starts, its drawn length and pitch, what is labelled."""

    code: str
    start: int  # sample
    length: int  # samples
    carrier_hz: float
    on: int  # the audible extent [on, off) within the call, in samples
    off: int
    snr_db: float


def _envelope(n: int) -> np.ndarray:
    return np.hanning(n) if n > 2 else np.ones(n)


@cache
def audible_extent(n: int) -> tuple[int, int]:
    """[on, off) of a call of n samples: where its Hann envelope, 0.5 - 0.5 cos(2 pi k / (n - 1)),
    is within AUDIBLE_DB of its peak. That is what an annotator would box, and what the label
    covers; the faded ends of the envelope are not labelled. In closed form (the envelope is
    symmetric), so that planning thousands of calls needs no envelope."""
    if n <= 2:
        return 0, n
    middle = np.arange((n - 1) // 2, n // 2 + 1)
    peak = np.max(0.5 - 0.5 * np.cos(2 * np.pi * middle / (n - 1)))
    level = 10 ** (AUDIBLE_DB / 20) * peak
    guess = int(np.ceil((n - 1) * np.arccos(1 - 2 * level) / (2 * np.pi)))
    near = np.arange(max(guess - 2, 0), min(guess + 3, n))
    on = int(near[np.argmax(0.5 - 0.5 * np.cos(2 * np.pi * near / (n - 1)) >= level)])
    return on, n - on


def render_call(voice: Voice, sr: int, n: int, f: float) -> np.ndarray:
    """One call of `voice`, n samples at carrier (or fundamental) f, unit RMS."""
    dur = n / sr
    t = np.arange(n) / sr
    if voice.shape == "pulse_train":
        period = 1.0 / voice.rate_hz
        phase = (t % period) / period
        gate = np.where(phase < 0.45, np.sin(np.pi * phase / 0.45) ** 2, 0.0)
        x = gate * np.sin(2 * np.pi * f * t)
    elif voice.shape == "fm_sweep":
        f1 = 0.6 * f  # downward sweep
        inst = f + (f1 - f) * t / max(dur, 1e-3)
        x = np.sin(2 * np.pi * np.cumsum(inst) / sr)
    elif voice.shape == "harmonic_stack":
        x = sum(np.sin(2 * np.pi * f * h * t) / h for h in range(1, 5))
        x = x * (0.6 + 0.4 * np.sin(2 * np.pi * 6.0 * t))
    else:  # trill: fast frequency modulation plus amplitude modulation
        inst = f * (1 + 0.08 * np.sin(2 * np.pi * 3 * voice.rate_hz * t))
        x = np.sin(2 * np.pi * np.cumsum(inst) / sr) * (
            0.5 + 0.5 * np.sin(2 * np.pi * voice.rate_hz * t)
        )
    x = x * _envelope(n)
    return (x / (np.sqrt(np.mean(x**2)) + 1e-12)).astype(np.float32)


def draw_call(voice: Voice, sr: int, rng: np.random.Generator) -> tuple[int, float]:
    """A call's length in samples and its carrier, with small per-call jitter."""
    n = int(voice.call_s * rng.uniform(0.9, 1.1) * sr)
    return n, voice.carrier_hz * rng.uniform(0.97, 1.03)


def call_waveform(voice: Voice, sr: int, rng: np.random.Generator) -> tuple[np.ndarray, int, int]:
    """One call of `voice` drawn from `rng`, unit RMS, and its audible extent [on, off)."""
    n, f = draw_call(voice, sr, rng)
    return render_call(voice, sr, n, f), *audible_extent(n)


def quality_letter(snr_db: float) -> str:
    return "H" if snr_db >= 13 else "M" if snr_db >= 6 else "L"


def recording_bouts(
    plan: PlannedRecording, duration_s: float, rng: np.random.Generator
) -> list[tuple[str, float, float]]:
    """The plan's bouts, or (uniform profile) one or two bouts of each of its species, each
    15-60 % of the recording, at random times."""
    if plan.bouts:
        return list(plan.bouts)
    bouts = []
    for code in plan.species:
        for _ in range(int(rng.integers(1, 3))):
            length = rng.uniform(0.15, 0.6) * duration_s
            start = rng.uniform(0, max(duration_s - length, 0.0))
            bouts.append((code, start, min(start + length, duration_s)))
    return bouts


def schedule_calls(
    plan: PlannedRecording,
    voices: dict[str, Voice],
    duration_s: float,
    seed: int,
    snr_db: tuple[float, float] = (0.0, 20.0),
) -> list[Call]:
    """Every call of a recording, without audio: each bout filled with its species' calls at
    the voice's interval (jittered), each at an SNR drawn from `snr_db`. A call whose audible
    part would be cut to under 50 ms by the recording's end is left out."""
    sr = plan.sample_rate
    rng = np.random.default_rng([seed, 2, zlib.crc32(plan.recording_id.encode())])
    n_total = int(round(duration_s * sr))
    calls = []
    for code, t, bout_end in recording_bouts(plan, duration_s, rng):
        voice = voices[code]
        while t < bout_end:
            n, f = draw_call(voice, sr, rng)
            on, off = audible_extent(n)
            start = int(t * sr)
            if min(start + off, n_total) - (start + on) > int(0.05 * sr):
                calls.append(Call(code, start, n, f, on, off, float(rng.uniform(*snr_db))))
            t += voice.interval_s * rng.uniform(0.8, 1.2)
    return calls


def call_labels(calls: list[Call], sr: int, n_total: int) -> list[tuple[float, float, str]]:
    """The strong labels of `calls`, sorted: (start, end, CODE_Q) of each audible extent."""
    return sorted(
        (
            round((c.start + c.on) / sr, 4),
            round(min(c.start + c.off, n_total) / sr, 4),
            f"{c.code}_{quality_letter(c.snr_db)}",
        )
        for c in calls
    )


def planned_labels(
    plan: PlannedRecording,
    voices: dict[str, Voice],
    duration_s: float,
    seed: int,
    snr_db: tuple[float, float] = (0.0, 20.0),
) -> list[tuple[float, float, str]]:
    """The labels `synthesize_recording` writes for `plan`, without making its audio."""
    calls = schedule_calls(plan, voices, duration_s, seed, snr_db)
    return call_labels(calls, plan.sample_rate, int(round(duration_s * plan.sample_rate)))
