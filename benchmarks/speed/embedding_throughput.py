"""Benchmark: BirdNET V2.4 embedding throughput (anuraflow.features.birdnet), in seconds of
audio embedded per wall second, on `--minutes` of audio at a 1 s hop (3 s windows), with
2 cores (`--threads` interpreter threads for the reference loops), the median of `--rounds`:

- ours: `embed_recording` on the file (decoding, resampling to 48 kHz, 16-bit levels, the
  windows, the model with the embedding as its output (`embedding_model_content`) on XNNPACK
  delegate), as one worker with 2 interpreter threads, one window per call or batched, and as
  2 workers (Python threads, as the stage's jobs are) with 1 interpreter thread each;
- BirdNET-Analyzer's loop: its interpreter (no default delegates), one window per invocation,
  the embedding read as output index - 1, on the same 48 kHz windows (decoding not timed);
- logits only: the same loop reading the model's output, XNNPACK on (what the classifier alone
  costs: the ceiling of any embedding read-out);
- the first invocation of a new interpreter (XNNPACK packing the weights), paid once per
  interpreter: why the stage keeps one per worker thread;
- the largest difference between our embeddings and BirdNET-Analyzer's.

The audio is synthetic one-minute recordings at 22.05 kHz, one after the other (the work per
window does not depend on what is in it).

    .venv/bin/python -m benchmarks.speed.embedding_throughput --minutes 10 --threads 2
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
import warnings
from pathlib import Path

import numpy as np
import soundfile as sf

from anuraflow.data.windows import window_starts
from anuraflow.features.birdnet import (
    BirdNetEmbedder,
    birdnet_model_path,
    interpreter_class,
)
from anuraflow.features.embeddings import (
    EmbeddingConfig,
    embed_recording,
    window_signals,
)
from anuraflow.simulate.writer import write_dataset
from benchmarks.harness import cpu_name, result_path, write_report


def long_recording(minutes: float, out: Path) -> Path:
    """`minutes` of synthetic one-minute recordings (22.05 kHz) concatenated into one WAV."""
    codes = ["SPHSUR", "BOABIS", "BOAFAB", "LEPPOD"]
    n = max(1, int(np.ceil(minutes)))
    write_dataset(out / "raw", codes, n, 0, progress=False, format_variety=False)
    files = sorted((out / "raw").rglob("*.wav"))
    parts = [sf.read(p, dtype="float32")[0] for p in files]
    rate = sf.info(files[0]).samplerate
    audio = np.concatenate(parts)[: int(minutes * 60 * rate)]
    sf.write(out / "long.wav", audio, rate, subtype="PCM_16")
    return out / "long.wav"


def analyzer_loop(
    windows: np.ndarray, threads: int, logits: bool = False
) -> tuple[float, np.ndarray]:
    """BirdNET-Analyzer's pattern: one window per invocation. (seconds, outputs)."""
    interpreter = interpreter_class()
    from ai_edge_litert.interpreter import OpResolverType

    kwargs = (
        {}
        if logits
        else {"experimental_op_resolver_type": OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES}
    )
    it = interpreter(model_path=str(birdnet_model_path()), num_threads=threads, **kwargs)
    it.allocate_tensors()
    inp = it.get_input_details()[0]["index"]
    out = it.get_output_details()[0]["index"] - (0 if logits else 1)
    it.set_tensor(inp, windows[:1])
    it.invoke()  # the first invocation is not timed here (see first_invoke_s)
    t0, outputs = time.perf_counter(), []
    for w in windows:
        it.set_tensor(inp, w[None])
        it.invoke()
        outputs.append(it.get_tensor(out)[0].copy())
    return time.perf_counter() - t0, np.stack(outputs)


# (parallel workers, interpreter threads each, windows per invocation): the stage's jobs run
# as Snakemake's worker threads, so 2 workers x 1 thread is two compute_embeddings jobs at once
VARIANTS = [(1, 2, 1), (1, 2, 4), (1, 2, 16), (2, 1, 1), (2, 1, 4)]


def embed_in_workers(path: Path, starts: np.ndarray, embedders: list, cfg) -> np.ndarray:
    """The windows split between one Python thread per embedder, as parallel jobs would."""
    parts = np.array_split(np.arange(len(starts)), len(embedders))
    out = [None] * len(embedders)

    def work(k: int) -> None:
        out[k] = embed_recording(path, starts[parts[k]], embedders[k], cfg)

    workers = [threading.Thread(target=work, args=(k,)) for k in range(len(embedders))]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return np.concatenate(out)


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--out", default=str(result_path("embedding_throughput")))
    return ap.parse_args()


def main() -> None:
    args = parse_args()
    warnings.simplefilter("ignore", UserWarning)
    with tempfile.TemporaryDirectory() as tmp:
        path = long_recording(args.minutes, Path(tmp))
        duration = sf.info(path).duration
        starts = window_starts(duration, 3.0, 1.0)
        audio_s = len(starts) * 1.0  # a 1 s hop: one second of new audio per window
        cfg = EmbeddingConfig()
        results, ours = {}, None
        for workers, threads, batch in VARIANTS:
            embedders = [BirdNetEmbedder(threads=threads, batch_size=batch) for _ in range(workers)]
            for e in embedders:
                e.embed(np.zeros((batch, 144000), np.float32))  # warm, as the stage's are
            times = []
            for _ in range(args.rounds):
                t0 = time.perf_counter()
                emb = embed_in_workers(path, starts, embedders, cfg)
                times.append(time.perf_counter() - t0)
            ours = emb if ours is None else ours
            results[f"ours_{workers}x{threads}thread_batch{batch}"] = audio_s / statistics.median(
                times
            )
        windows = np.concatenate(list(window_signals(path, starts, 48000, 3.0)))
        analyzer = [analyzer_loop(windows, args.threads) for _ in range(args.rounds)]
        results["birdnet_analyzer_loop"] = audio_s / statistics.median(t for t, _ in analyzer)
        logits = [analyzer_loop(windows, args.threads, True) for _ in range(args.rounds)]
        results["logits_only"] = audio_s / statistics.median(t for t, _ in logits)
        first = []
        for _ in range(args.rounds):
            t0 = time.perf_counter()
            BirdNetEmbedder(threads=args.threads).embed(windows[:1])
            first.append(time.perf_counter() - t0)
    report = {
        "what": "BirdNET V2.4 embeddings: seconds of audio per wall second (1 s hop, 3 s windows)",
        "command": " ".join(["benchmarks/speed/embedding_throughput.py", *sys.argv[1:]]),
        "cpu": cpu_name(),
        "threads": args.threads,
        "audio_minutes": round(duration / 60, 3),
        "windows": len(starts),
        "rounds": args.rounds,
        "audio_s_per_s": {k: round(v, 2) for k, v in results.items()},
        "stage_default": "ours_2x1thread_batch4 (embeddings.threads: 1, batch_size: 4, 2 cores)",
        "speedup_over_birdnet_analyzer": round(
            results["ours_2x1thread_batch4"] / results["birdnet_analyzer_loop"], 2
        ),
        "first_invoke_s": round(statistics.median(first), 3),
        "max_abs_difference_to_birdnet_analyzer": float(np.abs(ours - analyzer[0][1]).max()),
        "anuraset_93378_windows_minutes": round(93378 / results["ours_2x1thread_batch4"] / 60, 1),
    }
    write_report(report, args.out)


if __name__ == "__main__":
    main()
