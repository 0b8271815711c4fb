"""Deterministic synthetic AnuraSet-like data: the workflow's embedded default dataset.

Every species gets a call shape of its own (pulse train, FM sweep, harmonic stack or trill) at
its own carrier frequency and rate. Species are long-tailed (frequent / common / rare tiers, as
in AnuraSet), sing in bouts separated by silent stretches, overlap with each other, and are
mixed into pink background noise at per-call SNRs drawn from a configured range. Labels are
written in the AnuraSet strong-label format `start<TAB>end<TAB>CODE_Q`.

Everything is a pure function of the config and its seed: the plan (`SyntheticSpec.plan`) and
every call's time and label (`planned_labels`) are cheap (no audio), so the workflow lists the
files at DAG-build time and a test checks a dataset's statistics without writing it. Two
profiles: `uniform` (each tier's species sing in a share of the recordings, in one or two bouts;
the demo) and `anuraset` (AnuraSet's published statistics, `anuraflow.data.anuraset_like`).
"""

from __future__ import annotations

import zlib
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from functools import lru_cache
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import soundfile as sf

from anuraflow.core.fileio import atomic_path, write_json, write_text

SHAPES = ("pulse_train", "fm_sweep", "harmonic_stack", "trill")
TIER_PREVALENCE = {"frequent": 0.55, "common": 0.3, "rare": 0.12}
DEFAULT_SITES = {"INCT17": 0.425, "INCT20955": 0.33, "INCT41": 0.135, "INCT4": 0.11}
NOISE_RMS = 0.02
AUDIBLE_DB = -20.0  # a call is labelled where its envelope is within 20 dB of its peak


@dataclass(frozen=True)
class Voice:
    """How one species calls."""

    code: str
    tier: str
    shape: str
    carrier_hz: float
    rate_hz: float  # pulse / modulation rate
    call_s: float
    interval_s: float  # between call onsets within a bout


@dataclass(frozen=True)
class PlannedRecording:
    recording_id: str
    site: str
    audio_name: str  # file name relative to its site folder
    label_name: str
    sample_rate: int
    channels: int
    species: tuple[str, ...] = field(default=())
    # (code, start_s, end_s) of each planned bout; empty: the bouts are drawn with the calls
    bouts: tuple[tuple[str, float, float], ...] = field(default=())
    labelled: bool = True  # False: the label file goes to truth/, out of the workflow's sight

    def label_path(self, out_dir: str | Path) -> Path:
        """Where its label file is written: beside the audio, or under truth/ (unlabelled)."""
        site_dir = Path(out_dir) / self.site if self.labelled else Path(out_dir) / "truth" / self.site
        return site_dir / self.label_name


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


def species_tiers(codes: list[str]) -> dict[str, str]:
    """First ~10 % frequent, next ~20 % common, the rest rare (AnuraSet has 4 / 8 / 30 of 42)."""
    n = len(codes)
    n_freq = max(1, round(0.1 * n))
    n_common = max(1, round(0.2 * n))
    return {
        c: "frequent" if i < n_freq else "common" if i < n_freq + n_common else "rare"
        for i, c in enumerate(codes)
    }


def species_voices(codes: list[str], seed: int) -> list[Voice]:
    """Distinct voices: shapes cycle over the species, and the species sharing a shape get
    carriers spread evenly over 600-6000 Hz (in a seeded order), so two voices of one shape
    never crowd the same band."""
    rng = np.random.default_rng([seed, 1])
    tiers = species_tiers(codes)
    shapes = [SHAPES[i % len(SHAPES)] for i in range(len(codes))]
    carriers = np.zeros(len(codes))
    for k, shape in enumerate(SHAPES):
        members = [i for i, s in enumerate(shapes) if s == shape]
        if not members:
            continue
        step = 5400.0 / len(members)
        # offset shape k by (k + 0.5) / 4 of a step so the shapes interleave
        slots = 600.0 + (np.arange(len(members)) + (k + 0.5) / len(SHAPES)) * step
        carriers[members] = slots[rng.permutation(len(members))]
    voices = []
    for i, code in enumerate(codes):
        shape = shapes[i]
        carrier = float(carriers[i])
        if shape == "harmonic_stack":
            # the fundamental, mapped into 300-1500 Hz so four harmonics stay below 8 kHz
            carrier = 300.0 + (carrier - 600.0) / 5400.0 * 1200.0
        voices.append(
            Voice(
                code=code,
                tier=tiers[code],
                shape=shape,
                carrier_hz=carrier,
                rate_hz=float(rng.uniform(12, 45)),
                call_s=float(rng.uniform(0.25, 1.2)),
                interval_s=float(rng.uniform(1.2, 3.0)),
            )
        )
    return voices


def plan_dataset(
    codes: list[str],
    n_recordings: int,
    seed: int,
    sites: dict[str, float] | None = None,
    sample_rate: int = 22050,
    format_variety: bool = True,
    min_recordings_per_species: int = 3,
    prevalence: dict[str, float] | None = None,
) -> list[PlannedRecording]:
    """Names, formats and species of each recording, without any audio.

    `prevalence` is the share of recordings in which a species of each tier sings.
    """
    sites = sites or DEFAULT_SITES
    prevalence = {**TIER_PREVALENCE, **(prevalence or {})}
    rng = np.random.default_rng([seed, 0])
    site_names = list(sites)
    probs = np.array([sites[s] for s in site_names], dtype=float)
    site_of = rng.choice(len(site_names), size=n_recordings, p=probs / probs.sum())
    presence = np.zeros((n_recordings, len(codes)), dtype=bool)
    tiers = species_tiers(codes)
    for j, code in enumerate(codes):
        k = max(min_recordings_per_species, round(prevalence[tiers[code]] * n_recordings))
        presence[rng.choice(n_recordings, size=min(k, n_recordings), replace=False), j] = True
    base = datetime(2019, 9, 4, 18, 0, 0)
    plans = []
    for i in range(n_recordings):
        site = site_names[site_of[i]]
        start = base + timedelta(days=int(i // 12), hours=int(i % 12))
        rec_id = f"{site}_{start:%Y%m%d_%H%M%S}"
        # Every 7th recording is stereo 44.1 kHz FLAC so ingest meets more than one format.
        odd = format_variety and i % 7 == 6
        plans.append(
            PlannedRecording(
                recording_id=rec_id,
                site=site,
                audio_name=f"{rec_id}.flac" if odd else f"{rec_id}.wav",
                label_name=f"{rec_id}.txt",
                sample_rate=44100 if odd else sample_rate,
                channels=2 if odd else 1,
                species=tuple(c for j, c in enumerate(codes) if presence[i, j]),
            )
        )
    return plans


def _envelope(n: int) -> np.ndarray:
    return np.hanning(n) if n > 2 else np.ones(n)


@lru_cache(maxsize=None)
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


def pink_noise(n: int, rng: np.random.Generator) -> np.ndarray:
    """1/f noise scaled to NOISE_RMS: the rain-and-insect floor of a field recording."""
    spectrum = np.fft.rfft(rng.standard_normal(n))
    freqs = np.arange(len(spectrum), dtype=float)
    freqs[0] = 1.0
    x = np.fft.irfft(spectrum / np.sqrt(freqs), n)
    return (x / np.sqrt(np.mean(x**2)) * NOISE_RMS).astype(np.float32)


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


def synthesize_recording(
    plan: PlannedRecording,
    voices: dict[str, Voice],
    duration_s: float,
    seed: int,
    snr_db: tuple[float, float] = (0.0, 20.0),
) -> tuple[np.ndarray, list[tuple[float, float, str]]]:
    """Mono float32 audio at plan.sample_rate and its strong labels (start, end, CODE_Q)."""
    sr = plan.sample_rate
    n = int(round(duration_s * sr))
    calls = schedule_calls(plan, voices, duration_s, seed, snr_db)
    audio = pink_noise(n, np.random.default_rng([seed, 4, zlib.crc32(plan.recording_id.encode())]))
    for c in calls:
        stop = min(c.start + c.length, n)
        call = render_call(voices[c.code], sr, c.length, c.carrier_hz)
        audio[c.start : stop] += call[: stop - c.start] * NOISE_RMS * 10 ** (c.snr_db / 20)
    peak = np.max(np.abs(audio))
    if peak > 0.95:
        audio *= 0.95 / peak
    return audio, call_labels(calls, sr, n)


def write_recording(
    plan: PlannedRecording,
    voices: dict[str, Voice],
    audio_path: str | Path,
    label_path: str | Path,
    duration_s: float,
    seed: int,
    snr_db: tuple[float, float] = (0.0, 20.0),
) -> None:
    audio, labels = synthesize_recording(plan, voices, duration_s, seed, snr_db)
    data = np.stack([audio, 0.8 * audio], axis=1) if plan.channels == 2 else audio
    fmt = "FLAC" if str(audio_path).endswith(".flac") else "WAV"
    with atomic_path(audio_path) as tmp:
        sf.write(str(tmp), data, plan.sample_rate, subtype="PCM_16", format=fmt)
    write_text("".join(f"{s:.4f}\t{e:.4f}\t{lab}\n" for s, e, lab in labels), label_path)


@dataclass(frozen=True)
class SyntheticSpec:
    """The config's `synthetic` section: what `write_dataset` writes, as one value."""

    n_recordings: int
    seed: int
    duration_s: float = 60.0
    sites: dict[str, float] | None = None
    sample_rate: int = 22050
    snr_db: tuple[float, float] = (0.0, 20.0)
    format_variety: bool = True
    min_recordings_per_species: int = 3  # uniform profile
    prevalence: dict[str, float] | None = None  # uniform profile
    profile: str = "uniform"
    anuraset: dict | None = None  # anuraset profile: tiers, single_subset, empty_share
    unlabelled: int = 0  # the last recordings of the plan, written without a label file

    def plan(self, codes: list[str]) -> list[PlannedRecording]:
        """Names, formats, species (and for the anuraset profile, bouts) of each recording."""
        if self.profile == "anuraset":
            from anuraflow.data.anuraset_like import plan_anuraset_like

            return self._unlabel(plan_anuraset_like(codes, self, **(self.anuraset or {}))[0])
        return self.recordings(codes)

    def _unlabel(self, plans: list[PlannedRecording]) -> list[PlannedRecording]:
        if self.unlabelled >= len(plans):
            raise ValueError(f"synthetic.unlabelled is {self.unlabelled}, the plan has "
                             f"{len(plans)} recordings: some must keep their labels")  # fmt: skip
        cut = len(plans) - self.unlabelled
        return plans[:cut] + [replace(p, labelled=False) for p in plans[cut:]]

    def recordings(self, codes: list[str]) -> list[PlannedRecording]:
        """The recordings' names, sites and formats, cheap enough for every DAG build (the
        anuraset profile's species and bouts, which take seconds to plan, are left out)."""
        if self.profile not in ("uniform", "anuraset"):
            raise ValueError(f"synthetic profile {self.profile!r}: one of uniform, anuraset")
        uniform = self.profile == "uniform"
        plans = plan_dataset(
            codes,
            self.n_recordings,
            self.seed,
            self.sites,
            self.sample_rate,
            self.format_variety,
            self.min_recordings_per_species if uniform else 1,
            self.prevalence if uniform else None,
        )
        return self._unlabel(plans)


def _write_one(job: tuple) -> None:
    plan, voices, out_dir, spec = job
    write_recording(
        plan,
        voices,
        out_dir / plan.site / plan.audio_name,
        plan.label_path(out_dir),
        spec.duration_s,
        spec.seed,
        tuple(spec.snr_db),
    )


def write_dataset(
    out_dir: str | Path,
    codes: list[str],
    n_recordings: int,
    seed: int,
    progress: bool = True,
    listing_path: str | Path | None = None,
    threads: int = 1,
    **spec,
) -> list[PlannedRecording]:
    """Write `{out_dir}/{site}/{recording}.wav|flac` and `.txt` for the whole plan; `spec`:
    the other keys of `SyntheticSpec`. Each recording is a pure function of the plan and the
    seed, so `threads` worker processes write the same bytes as one.

    `listing_path`: also write a JSON list of every recording's files, last, so that its
    existence says the dataset is complete (the workflow's jobs depend on it instead of on
    each of the thousands of files).
    """
    from tqdm import tqdm

    spec = SyntheticSpec(n_recordings=n_recordings, seed=seed, **spec)
    plans = spec.plan(codes)
    voices = {v.code: v for v in species_voices(codes, seed)}
    out_dir = Path(out_dir)
    jobs = [(plan, voices, out_dir, spec) for plan in plans]
    bar = dict(desc="synthesize", unit="rec", total=len(jobs), disable=not progress)
    if threads > 1:
        with ProcessPoolExecutor(threads) as pool:
            for _ in tqdm(pool.map(_write_one, jobs, chunksize=8), **bar):
                pass
    else:
        for job in tqdm(jobs, **bar):
            _write_one(job)
    if listing_path is not None:
        listing = [
            {
                "recording_id": p.recording_id,
                "audio": str(out_dir / p.site / p.audio_name),
                "labels": str(p.label_path(out_dir)) if p.labelled else None,
                "truth": None if p.labelled else str(p.label_path(out_dir)),
            }
            for p in plans
        ]
        write_json(listing, listing_path)
    return plans


def write_new_recordings(
    out_dir: str | Path,
    codes: list[str],
    voice_seed: int,
    n_recordings: int,
    seed: int,
    duration_s: float = 60.0,
    years_later: int = 1,
    snr_db: tuple[float, float] = (0.0, 20.0),
) -> list[tuple[Path, list[tuple[float, float, str]]]]:
    """Recordings the model never saw, of the same species' voices (`voice_seed`: the seed of
    the dataset it was trained on), `years_later` on: `{out_dir}/{recording}.wav|flac` and
    the true calls of each (start, end, CODE_Q), to check detections against."""
    voices = {v.code: v for v in species_voices(codes, voice_seed)}
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for plan in plan_dataset(codes, n_recordings, seed, min_recordings_per_species=1):
        site, date, time = plan.recording_id.rsplit("_", 2)
        rec_id = f"{site}_{int(date[:4]) + years_later}{date[4:]}_{time}"
        ext = Path(plan.audio_name).suffix
        plan = replace(
            plan, recording_id=rec_id, audio_name=rec_id + ext, label_name=rec_id + ".txt"
        )
        audio, labels = synthesize_recording(plan, voices, duration_s, seed, snr_db)
        data = np.stack([audio, 0.8 * audio], axis=1) if plan.channels == 2 else audio
        path = out_dir / plan.audio_name
        sf.write(str(path), data, plan.sample_rate, subtype="PCM_16")
        written.append((path, labels))
    return written


def wind_noise(n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    """Field-noise stand-in for a noise bank: low-frequency (brown) rumble in slow gusts over a
    pink floor, at about NOISE_RMS. No calls, so mixing it in never adds a species."""
    rumble = np.cumsum(rng.standard_normal(n))
    rumble -= np.convolve(rumble, np.ones(sr // 20) / (sr // 20), mode="same")  # drop DC drift
    rumble /= np.sqrt(np.mean(rumble**2)) + 1e-12
    t = np.arange(n) / sr
    gusts = 0.6 + 0.4 * np.sin(2 * np.pi * rng.uniform(0.05, 0.3) * t + rng.uniform(0, 6.3))
    x = gusts * rumble * NOISE_RMS * rng.uniform(1.0, 3.0) + pink_noise(n, rng)
    return (x / max(1.0, np.abs(x).max() / 0.95)).astype(np.float32)


def write_noise_recordings(
    out_dir: str | Path,
    n_recordings: int,
    seed: int,
    duration_s: float = 30.0,
    sample_rate: int = 22050,
) -> list[Path]:
    """Write `{out_dir}/noise_{i:02d}.wav`: the synthetic noise bank of seed 002's noise mixing."""
    paths = []
    for i in range(n_recordings):
        rng = np.random.default_rng([seed, 3, i])
        path = Path(out_dir) / f"noise_{i:02d}.wav"
        audio = wind_noise(int(round(duration_s * sample_rate)), sample_rate, rng)
        with atomic_path(path) as tmp:
            sf.write(str(tmp), audio, sample_rate, subtype="PCM_16", format="WAV")
        paths.append(path)
    return paths
