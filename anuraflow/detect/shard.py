"""One `predict` job: a shard of the archive's recordings scored with one bundle load, the
next recordings read, resampled and turned into log-mels by a reader thread while the
current one is scored (torch and libsndfile release the interpreter while they work).

Only recordings up to `block_s` long are read ahead whole (at most `READ_AHEAD` at a time,
so memory stays bounded by the shard's shortest files, not its length); a longer one is
streamed block by block as before, its next block read in a thread while one is scored.
A recording that cannot be read costs only itself: its record says why, and the shard goes
on.
"""

from __future__ import annotations

import queue
import threading
import time
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

from anuraflow.data.audio import AudioError
from anuraflow.data.streaming import audio_facts
from anuraflow.detect.predict import (
    PredictSettings,
    ReadAhead,
    block_seconds,
    frame_blocks,
    model_facts,
    predict_recording,
    ready_bundle,
)
from anuraflow.detect.predict_outputs import ScoredRecording, write_shard
from anuraflow.features.frontend import Frontend

READ_AHEAD = 4  # recordings decoded ahead of the one being scored


def read_whole(path: str, frontend: Frontend, block_s: float) -> ReadAhead:
    """The facts and frame blocks of a recording no longer than `block_s`; of a longer one the
    facts only (streamed when its turn comes); the AudioError of one that cannot be read,
    kept, not raised, so the scorer records it in its place."""
    try:
        facts = audio_facts(path)
        if facts.duration_s > block_s:
            return ReadAhead(facts)
        return ReadAhead(facts, list(frame_blocks(path, facts, frontend, block_s)))
    except AudioError as err:
        return ReadAhead(error=err)


def blocks_ahead(blocks: Iterator, depth: int = 1) -> Iterator:
    """`blocks` computed in a thread of its own, `depth` blocks ahead of the consumer: a long
    recording's next block is read and turned into log-mels while this one is scored. An
    exception of the producer is raised in the consumer, at its place in the sequence."""
    done = object()
    box: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def offer(entry: tuple) -> bool:
        """Put `entry` once there is room; False when the consumer has gone."""
        while not stop.is_set():
            try:
                box.put(entry, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in blocks:
                if not offer(("item", item)):
                    return
            offer(("end", done))
        except BaseException as err:  # handed to the consumer
            offer(("error", err))

    worker = threading.Thread(target=produce, name="block-reader", daemon=True)
    worker.start()
    try:
        while True:
            kind, item = box.get()
            if kind == "end":
                return
            if kind == "error":
                raise item
            yield item
    finally:
        stop.set()
        worker.join()


def predict_shard(
    recordings: dict[str, str],
    bundle_path: str | Path,
    outputs: dict[str, str],
    settings: PredictSettings,
    say=print,
) -> list[ScoredRecording]:
    """Rule predict_shard: every recording of the shard (recording id -> file) scored;
    `outputs["scores"]` (Parquet: recording_id, start_s, end_s, one column per species) and
    `outputs["records"]` (JSON: one record per recording, as `predict_recording` makes it,
    with the model's facts)."""
    bundle = ready_bundle(bundle_path, settings)
    settings = replace(settings, block_s=block_seconds(settings, bundle.frontend.mean.device))
    ids = list(recordings)
    reads_ahead = bundle.frontend.kind == "logmel"
    frames, records = [], []
    started, audio_s = time.perf_counter(), 0.0
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="reader") as reader:
        pending: deque[Future] = deque()

        def read_later(i: int) -> None:
            if reads_ahead and i < len(ids):
                pending.append(
                    reader.submit(read_whole, recordings[ids[i]], bundle.frontend, settings.block_s)
                )

        for i in range(READ_AHEAD):
            read_later(i)
        for i, rec in enumerate(ids):
            read = pending.popleft().result() if reads_ahead else None
            if read is not None and read.streams_later:  # long: streamed, a block ahead
                blocks = frame_blocks(
                    recordings[rec], read.facts, bundle.frontend, settings.block_s
                )
                read = ReadAhead(read.facts, blocks_ahead(blocks))
            read_later(i + READ_AHEAD)
            scores, record = predict_recording(recordings[rec], rec, bundle, settings, say, read)
            frames.append(scores)
            records.append(record)
            audio_s += record.duration_s
            say(
                f"[{i + 1}/{len(ids)}] {rec}: {record.status}, {len(scores)} windows, "
                f"{len(record.selections)} selections "
                f"({audio_s / max(time.perf_counter() - started, 1e-9):,.0f} audio s per s)"
            )
    write_shard(frames, records, model_facts(bundle, settings.threshold), outputs)
    return records
