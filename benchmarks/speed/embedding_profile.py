"""Benchmark: where the embedding stage's time goes on one recording, one worker, one
interpreter thread: `embed_recording` as a whole (decoding, resampling to 48 kHz, cutting
the windows, BirdNET V2.4 on XNNPACK at the stage's batch of 4) against the interpreter's
invocations alone on the same windows, already decoded. The recording is the peers
benchmark's: `--minutes` of the field recordings in ../shared/data/real at 32 kHz.

    .venv/bin/python -m benchmarks.speed.embedding_profile --minutes 10
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from anuraflow.data.windows import window_starts
from anuraflow.features.birdnet import BirdNetEmbedder
from anuraflow.features.embeddings import (
    EmbeddingConfig,
    embed_recording,
    window_signals,
)
from benchmarks.harness import cpu_name, result_path, write_report
from benchmarks.peers.compare import field_recording


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=10)
    ap.add_argument("--out", default=str(result_path("embedding_profile")))
    args = ap.parse_args()
    cfg = EmbeddingConfig()
    with tempfile.TemporaryDirectory() as tmp:
        audio, _ = field_recording(Path(tmp), args.minutes)
        starts = window_starts(args.minutes * 60, cfg.window_s, cfg.hop_s)
        embedder = BirdNetEmbedder(threads=1, batch_size=4)
        embedder.embed(np.zeros((4, 144000), np.float32))  # warm, as a job's interpreter is
        windows = np.concatenate(list(window_signals(audio, starts, cfg.sample_rate, 3.0)))
        started = time.perf_counter()
        embedder.embed(windows)
        invoke = time.perf_counter() - started
        started = time.perf_counter()
        embed_recording(audio, starts, embedder, cfg)
        whole = time.perf_counter() - started
    write_report(
        {
            "benchmark": "embedding_profile",
            "command": " ".join(["benchmarks/speed/embedding_profile.py", *sys.argv[1:]]),
            "cpu": cpu_name(),
            "windows": len(starts),
            "embed_recording_s": round(whole, 2),
            "invocations_s": round(invoke, 2),
            "invocations_share": round(invoke / whole, 3),
            "rest_s": round(whole - invoke, 2),
        },
        args.out,
    )


if __name__ == "__main__":
    main()
