"""Benchmark: the AnuraSet release route against the raw route.

1. Writes N synthetic one-minute recordings (the species of config/synthetic-anuraset-scale.yaml)
   and a release-format copy of them (3 s clips every second, metadata.csv), not timed.
2. Why each recording is rebuilt from its clips: in this process, on one thread, the log-mel
   of K recordings computed (a) once per recording rebuilt from its clips and (b) once per clip
   (58 clips, each 3 s, so about 2.9x the audio); seconds of recording per compute second, and
   the largest difference between a clip's own features and the slice of its recording's
   features, away from the clip edges.
3. The feature stage through the real `snakemake` (`--until feature_index`: ingest or clip
   rebuild, log-mel, feature index) on both routes, wall seconds.
4. `snakemake -n` on a release of 1,612 recordings x 58 clips (93,496 rows; metadata only, the
   clips need not exist for a dry run): DAG build time and per-recording job count.

    .venv/bin/python -m benchmarks.speed.release_route --recordings 100 --cores 2
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from anuraflow.data.audio import read_audio, resample, to_mono
from anuraflow.data.release import (
    RELEASE_COLUMNS,
    assemble_clips,
    release_from_recordings,
)
from anuraflow.features.logmel import LogMelConfig, logmel
from benchmarks.harness import REPO, cpu_name, parse_planned_jobs, result_path, write_report
from benchmarks.speed.feature_stage import write_data

SCALE = yaml.safe_load((REPO / "config/synthetic-anuraset-scale.yaml").read_text())
CODES = [s["code"] for s in SCALE["species"]]
CFG = LogMelConfig()


def strategies(release: Path, metadata: pd.DataFrame, k: int, edge_frames: int) -> dict:
    """Per recording features of the rebuilt recording vs per clip features."""
    import torch

    torch.set_num_threads(1)
    recs = sorted(metadata["fname"].unique())[:k]
    t_rec = t_clip = 0.0
    worst, audio_s = 0.0, 0.0
    frames_per_s = CFG.sample_rate / CFG.hop_length
    for rec in recs:
        rows = metadata[metadata["fname"] == rec]
        clips = [{"min_t": int(r.min_t), "max_t": int(r.max_t),
                  "path": str(release / "audio" / r.site / f"{r.sample_name}.wav")}
                 for r in rows.itertuples()]  # fmt: skip
        started = time.perf_counter()
        samples, rate, _ = assemble_clips(clips)
        whole = logmel(resample(samples, rate, CFG.sample_rate), CFG.sample_rate, CFG)
        t_rec += time.perf_counter() - started
        audio_s += len(samples) / rate
        started = time.perf_counter()
        per_clip = []
        for clip in clips:
            data, clip_rate = read_audio(clip["path"])
            per_clip.append(logmel(resample(to_mono(data), clip_rate, CFG.sample_rate),
                                   CFG.sample_rate, CFG))  # fmt: skip
        t_clip += time.perf_counter() - started
        for clip, feats in zip(clips, per_clip, strict=True):
            first = round(clip["min_t"] * frames_per_s)
            inner = slice(edge_frames, feats.shape[0] - edge_frames)
            ref = whole[first : first + feats.shape[0]][inner]
            worst = max(worst, float(np.abs(feats[inner] - ref).max()))
    return {
        "recordings": len(recs),
        "recording_audio_s": round(audio_s, 1),
        "rebuilt_recording": {"compute_s": round(t_rec, 3),
                              "audio_s_per_compute_s": round(audio_s / t_rec, 1)},
        "per_clip": {"compute_s": round(t_clip, 3),
                     "audio_s_per_compute_s": round(audio_s / t_clip, 1)},
        "per_clip_over_rebuilt_time": round(t_clip / t_rec, 2),
        "max_abs_difference_db_away_from_edges": round(worst, 5),
        "edge_frames_left_out": edge_frames,
    }  # fmt: skip


def snakemake(workdir: Path, cores: int, *args: str) -> tuple[float, str]:
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"),
           "--directory", str(workdir), "--configfile", str(workdir / "config.yaml"),
           "--cores", str(cores), *args]  # fmt: skip
    started = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return time.perf_counter() - started, proc.stdout + proc.stderr


def workdir(root: Path, data: dict) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    config = {"results_dir": "results", "data": data, "species": SCALE["species"],
              "windows": {"label_rule": "anuraset"}, "experiments": ["demo_cnn"],
              "experiments_dir": str(REPO / "config/experiments")}  # fmt: skip
    (root / "config.yaml").write_text(yaml.safe_dump(config))
    return root


def dag_at_scale(root: Path, cores: int) -> dict:
    """A metadata.csv of 1,612 recordings x 58 clips; `snakemake -n` on it."""
    release = root / "scale-release"
    release.mkdir(parents=True)
    rows = []
    for i in range(1612):
        fname = f"INCT{(17, 20955, 41, 4)[i % 4]}_{20190101 + i // 24}_{(i % 24):02d}0000"
        for t in range(58):
            rows.append([f"{fname}_{t}_{t + 3}", fname, t, t + 3, fname.split("_")[0],
                         fname.split("_")[1], 0, "test" if i % 3 == 2 else "train"])  # fmt: skip
    table = pd.DataFrame(rows, columns=RELEASE_COLUMNS)
    for c in CODES:
        table[c] = 0
    table.to_csv(release / "metadata.csv", index=False)
    work = workdir(root / "dag", {"source": "anuraset_release", "release_dir": str(release)})
    wall, out = snakemake(work, cores, "-n")
    jobs = parse_planned_jobs(out)
    return {"rows": len(table), "recordings": 1612, "dry_run_wall_s": round(wall, 2),
            "ingest_jobs": sum(r == "ingest_recording" for r, _ in jobs),
            "feature_jobs": sum(r == "compute_features" for r, _ in jobs),
            "jobs": len(jobs)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recordings", type=int, default=100)
    parser.add_argument("--compare", type=int, default=10, help="recordings for step 2")
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--out", default=str(result_path("release_route")))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="anuraflow-release-") as tmp:
        root = Path(tmp)
        syn = {**SCALE["synthetic"], "duration_s": 60}
        write_data(root / "raw", CODES, args.recordings, syn, args.cores)
        metadata = release_from_recordings(root / "raw", root / "release", CODES)
        edge = CFG.n_fft // CFG.hop_length + 8  # STFT half-window plus the resampler's reach
        compare = strategies(root / "release", metadata, args.compare, edge)
        print(compare, flush=True)
        raw = workdir(root / "raw-route", {"source": "directory", "audio_dir": str(root / "raw")})
        release = {"source": "anuraset_release", "release_dir": str(root / "release")}
        rel = workdir(root / "release-route", release)
        raw_s, _ = snakemake(raw, args.cores, "--until", "feature_index")
        rel_s, _ = snakemake(rel, args.cores, "--until", "feature_index")
        audio_h = args.recordings * 60 / 3600
        report = {
            "benchmark": "release_route",
            "cpu": cpu_name(),
            "cores": args.cores,
            "command": " ".join(["benchmarks/speed/release_route.py", *sys.argv[1:]]),
            "clips": len(metadata),
            "strategies_in_process_one_thread": compare,
            "feature_stage": {
                "recordings": args.recordings,
                "audio_h": round(audio_h, 2),
                "raw_route_wall_s": round(raw_s, 2),
                "release_route_wall_s": round(rel_s, 2),
                "release_over_raw": round(rel_s / raw_s, 3),
                "target_release_within_20_percent": rel_s <= 1.2 * raw_s,
            },
            "dag_build_at_anuraset_scale": dag_at_scale(root, args.cores),
        }
    write_report(report, args.out)


if __name__ == "__main__":
    main()
