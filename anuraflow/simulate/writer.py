"""Writing a synthetic dataset: each planned recording's audio (its calls mixed into pink noise
at their SNRs) and label file, in parallel worker processes, then the listing that says the
dataset is complete; and new recordings of the same voices for detection tests."""

from __future__ import annotations

import zlib
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path

import numpy as np
import soundfile as sf

from anuraflow.core.fileio import atomic_path, write_json, write_text
from anuraflow.simulate.calls import call_labels, render_call, schedule_calls
from anuraflow.simulate.noise import NOISE_RMS, pink_noise
from anuraflow.simulate.plan import (
    PlannedRecording,
    SyntheticSpec,
    Voice,
    plan_dataset,
    species_voices,
)
from anuraflow.simulate.profiles import plan_recordings


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
    plans = plan_recordings(spec, codes)
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


# Written beside simulated recordings that a model of the synthetic demo may score: predict
# refuses to score any other folder with such a model (its species are made up)
SIMULATED_MARK = "anuraflow-simulated.json"


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
    write_json({"written_by": "anuraflow.simulate.writer.write_new_recordings",
                "species": codes, "voice_seed": voice_seed, "seed": seed},
               out_dir / SIMULATED_MARK)  # fmt: skip
    return written
