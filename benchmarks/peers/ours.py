"""One timed measurement of anuraflow, run by benchmarks/peers/compare.py in anuraflow's
environment (.venv); it prints one JSON line.

    ours.py predict --arch resnet18 --audio long.wav --warmup short.wav --threads 2
    ours.py train --arch mobilenetv3_large --threads 2 --steps 4 --precision auto
    ours.py embed --audio long.wav --workers 2
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from benchmarks.peers.worker import measure, worker_parser

HERE = Path(__file__).resolve().parent

N_CLASSES = 42


def predict(args) -> dict:
    """`predict_shard`, the call of the rule `predict_shard`, at `predict`'s defaults (fp32,
    channels_last auto: on, batch 256, 300 s blocks) on a shard of one long recording: it
    loads the bundle, reads, resamples, scores and writes the scores and the record."""
    from predict_throughput import write_bundle  # a bundle as train_model writes it

    from anuraflow.detect.predict import PredictSettings
    from anuraflow.detect.shard import predict_shard

    with tempfile.TemporaryDirectory() as tmp:
        bundle = Path(tmp) / "model.pt"
        write_bundle(bundle, args.arch, N_CLASSES)  # random weights, the default frontend
        settings = PredictSettings(batch_size=args.batch)
        outputs = {k: str(Path(tmp) / f"{k}.out") for k in ("scores", "records")}
        predict_shard({"warmup": args.warmup}, bundle, outputs, settings, say=lambda _: None)
        started = time.perf_counter()
        (record,) = predict_shard({"long": args.audio}, bundle, outputs, settings, lambda _: None)
        wall = time.perf_counter() - started
    return {
        "windows": record["n_windows"],
        "wall_s": wall,
        "precision": record["scored_with"]["precision"],
    }


def predict_files(args) -> dict:
    """`predict_shard`, the rule's own call, over every WAV in the folder `--audio` as one
    shard (the bundle loaded once, the next files read ahead in a thread), at `predict`'s
    defaults; a warm-up shard of the `--warmup` file first, not timed."""
    from predict_throughput import write_bundle

    from anuraflow.detect.predict import PredictSettings
    from anuraflow.detect.shard import predict_shard

    files = {p.stem: str(p) for p in sorted(Path(args.audio).glob("*.wav"))}
    with tempfile.TemporaryDirectory() as tmp:
        bundle = Path(tmp) / "model.pt"
        write_bundle(bundle, args.arch, N_CLASSES)
        settings = PredictSettings(batch_size=args.batch, threads=args.threads)
        outputs = {k: str(Path(tmp) / f"{k}.out") for k in ("scores", "records")}
        predict_shard({"warmup": args.warmup}, bundle, outputs, settings, say=lambda _: None)
        started = time.perf_counter()
        records = predict_shard(files, bundle, outputs, settings, say=lambda _: None)
        wall = time.perf_counter() - started
    audio_s = sum(r.duration_s for r in records)
    windows = sum(r.n_windows for r in records)
    return {"windows": windows, "audio_s": audio_s, "files": len(files), "wall_s": wall}


def embed_files(args) -> dict:
    """The archive's embedding stage, `archive_embeddings_job` (the rule's call: decode,
    resample to 48 kHz, BirdNET V2.4 on XNNPACK, a cache per recording), over every WAV in the
    folder `--audio` split into `--workers` shards run in threads at once, as Snakemake runs
    that many shard jobs in its own process on as many cores. Each worker's interpreter is
    built in the timed call, as BirdNET-Analyzer's pool workers load theirs."""
    import threading

    import numpy as np
    import soundfile as sf

    from anuraflow.features.jobs import archive_embeddings_job

    files = {p.stem: str(p) for p in sorted(Path(args.audio).glob("*.wav"))}
    parts = np.array_split(np.array(list(files)), args.workers)
    settings = {"threads": args.threads, "batch_size": args.batch, "runtime": args.runtime,
                "precision": args.precision if args.precision != "auto" else "fp32"}
    with tempfile.TemporaryDirectory() as tmp:
        jobs = [
            threading.Thread(
                target=archive_embeddings_job,
                args=(
                    {r: files[r] for r in part},
                    f"{tmp}/{i}",
                    f"{tmp}/{i}.log",
                    (3.0, 1.0),
                    settings,
                ),
            )  # fmt: skip
            for i, part in enumerate(parts)
        ]
        started = time.perf_counter()
        for job in jobs:
            job.start()
        for job in jobs:
            job.join()
        wall = time.perf_counter() - started
        caches = len(list(Path(tmp).glob("*/*.parquet")))
    audio_s = sum(sf.info(f).duration for f in files.values())
    return {"windows": caches, "files": len(files), "audio_s": audio_s, "wall_s": wall}


def train(args) -> dict:
    """The trainer's own step (`train_step`: the device-resident bank, gather, normalisation,
    SpecAugment, time shift and mixing of the experiment) at batch 64 on the log-mels of
    the field recordings (benchmarks/speed/data_path.py), `--precision` resolved as a run's is."""
    import torch

    from anuraflow.learn.acceleration import resolve_precision
    from anuraflow.learn.experiments import experiment_settings
    from benchmarks.speed.data_path import AUDIO_DIR, field_recordings, make_bank, ours, real_frames

    device = torch.device("cpu")
    settings = experiment_settings({"name": args.arch, "model": args.arch})
    settings = {**settings, "precision": resolve_precision(args.precision, "cpu")}
    bank = make_bank(real_frames(field_recordings(AUDIO_DIR)), 10, device)
    batch = 64
    windows_per_s = ours(settings, device, bank, batch, args.steps, args.warmup_steps)
    return {
        "windows": args.steps * batch,
        "wall_s": args.steps * batch / windows_per_s,
        "batch": batch,
        "precision": settings["precision"],
        "mixing": sorted(settings["mixing"]["methods"]) if settings.get("mixing") else [],
    }


def embed(args) -> dict:
    """The embedding stage's call, `embed_recording` (decoding, resampling to 48 kHz, the
    windows, BirdNET V2.4 on `--runtime`: LiteRT with XNNPACK and the embedding layer read, or
    the torch network at `--precision`), `--batch` windows per call, in `--workers` threads as
    the stage's parallel jobs run; each worker's embedder warmed first, as a job's is."""
    import numpy as np
    import soundfile as sf

    from anuraflow.data.windows import window_starts
    from anuraflow.features.birdnet_runtime import make_embedder
    from anuraflow.features.embeddings import EmbeddingConfig
    from benchmarks.speed.embedding_throughput import embed_in_workers

    cfg = EmbeddingConfig()
    starts = window_starts(sf.info(args.audio).duration, cfg.window_s, cfg.hop_s)
    precision = "fp32" if args.precision == "auto" else args.precision
    embedders = [
        make_embedder(threads=args.threads, batch_size=args.batch, runtime=args.runtime,
                      precision=precision, device="cpu")
        for _ in range(args.workers)
    ]  # fmt: skip
    for e in embedders:
        e.embed(np.zeros((args.batch, 144000), np.float32))
    started = time.perf_counter()
    emb = embed_in_workers(Path(args.audio), starts, embedders, cfg)
    wall = time.perf_counter() - started
    return {"windows": len(emb), "wall_s": wall}


def main() -> None:
    ap = worker_parser(batch=256, audio_required=False)
    ap.add_argument("--precision", default="auto")
    ap.add_argument("--runtime", default="litert", choices=["litert", "torch", "auto"],
                    help="what runs BirdNET in embed and embed_files")
    tasks = {"predict": predict, "predict_files": predict_files, "train": train, "embed": embed,
             "embed_files": embed_files}  # fmt: skip
    measure("ours", tasks, ap.parse_args())


if __name__ == "__main__":
    main()
