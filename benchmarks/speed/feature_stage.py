"""Benchmark: the feature stage (ingest + log-mel) at AnuraSet scale, the cost of adding one
recording, and the peak memory of every stage before training.

1. Writes N synthetic one-minute recordings (default 1,612, AnuraSet's count, the species of
   config/synthetic-anuraset-scale.yaml) as a `data.source: directory` dataset (not timed).
2. Runs `snakemake --until compute_features` (every ingest and feature job): throughput is
   seconds of audio per wall second per core, the wall of the whole command (DAG build and
   imports included).
3. Does the same work for a few recordings in this one process on one core, without
   Snakemake: the compute limit.
4. Adds one recording: records the jobs a dry run plans, runs them, and compares that
   recording's ingest + feature jobs with the full stage.
5. Runs the other stages before training (labels, manifest, windows, splits, feature index)
   and records the peak RSS of each rule and of Snakemake's whole process tree.

    .venv/bin/python -m benchmarks.speed.feature_stage --cores 2
"""

from __future__ import annotations

import argparse
import dataclasses
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from multiprocessing import Pool
from pathlib import Path

import psutil
import yaml

from anuraflow.simulate.plan import SyntheticSpec, species_voices
from anuraflow.simulate.profiles import plan_recordings
from anuraflow.simulate.writer import write_recording
from benchmarks.harness import (
    REPO,
    cpu_name,
    parse_planned_jobs,
    result_path,
    rule_costs,
    write_report,
)

SCALE_CONFIG = REPO / "config/synthetic-anuraset-scale.yaml"
NEW_STAMP = "20300101_000000"  # the recording added to measure the incremental cost
PER_RECORDING_RULES = ("ingest_recording", "parse_annotations", "compute_features")


def _write_one(args) -> None:
    plan, voices, root, duration_s, seed = args
    site = Path(root) / plan.site
    if (site / plan.label_name).exists():  # a kept working directory: written last, so whole
        return
    write_recording(plan, voices, site / plan.audio_name, site / plan.label_name, duration_s, seed)


def write_data(root: Path, codes: list[str], n: int, syn: dict, workers: int) -> list:
    """The synthetic recordings, written in parallel (each is a pure function of its plan)."""
    plans = plan_recordings(SyntheticSpec(**{**syn, "n_recordings": n}), codes)
    voices = {v.code: v for v in species_voices(codes, syn["seed"])}
    jobs = [(p, voices, root, syn["duration_s"], syn["seed"]) for p in plans]
    with Pool(workers) as pool:
        pool.map(_write_one, jobs, chunksize=8)
    return plans


class TreePeak:
    """Peak RSS (sum over a process and its descendants, and of the largest one), sampled."""

    def __init__(self, pid: int, interval: float = 0.1):
        self.proc, self.interval = psutil.Process(pid), interval
        self.peak_sum = self.peak_one = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                procs = [self.proc, *self.proc.children(recursive=True)]
                rss = []
                for p in procs:
                    try:
                        rss.append(p.memory_info().rss)
                    except psutil.Error:
                        pass
                self.peak_sum = max(self.peak_sum, sum(rss))
                self.peak_one = max(self.peak_one, max(rss, default=0))
            except psutil.Error:
                pass
            time.sleep(self.interval)

    def stop(self) -> dict:
        self._stop.set()
        self._thread.join()
        return {
            "peak_rss_tree_mb": round(self.peak_sum / 2**20, 1),
            "peak_rss_largest_process_mb": round(self.peak_one / 2**20, 1),
        }


def snakemake(workdir: Path, cores: int, *args: str) -> dict:
    """Run snakemake in `workdir`; wall seconds, peak memory and its output."""
    cmd = [
        sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"),
        "--directory", str(workdir), "--configfile", str(SCALE_CONFIG),
        str(workdir / "benchmark-config.yaml"), "--cores", str(cores), *args,
    ]  # fmt: skip
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    peak = TreePeak(proc.pid)
    out, _ = proc.communicate()
    wall = time.perf_counter() - started
    memory = peak.stop()
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{out[-5000:]}")
    return {"command": " ".join(cmd), "wall_s": round(wall, 2), **memory, "output": out}


def in_process_limit(workdir: Path, plans: list, n: int) -> dict:
    """Ingest + log-mel of `n` recordings in this process on one thread: no Snakemake."""
    import torch

    from anuraflow.data.jobs import ingest_job
    from anuraflow.features.jobs import features_job

    torch.set_num_threads(1)
    out = Path(tempfile.mkdtemp(dir=workdir))
    cfg = yaml.safe_load(SCALE_CONFIG.read_text())
    base = yaml.safe_load((REPO / "config/config.yaml").read_text())
    features = {**base["features"], **cfg.get("features", {})}
    seconds = 0.0
    started = time.perf_counter()
    for p in plans[:n]:
        src = workdir / "data" / p.site / p.audio_name
        rec = ingest_job(
            str(src), str(out / f"{p.recording_id}.wav"), str(out / f"{p.recording_id}.json"),
            str(out / "log"), p.recording_id, 16000, 3.0, "fail",
        )  # fmt: skip
        features_job(
            str(out / f"{p.recording_id}.wav"), str(out / f"{p.recording_id}.parquet"),
            str(out / "log"), p.recording_id, features,
        )  # fmt: skip
        seconds += rec["duration_s"]
    wall = time.perf_counter() - started
    shutil.rmtree(out)
    return {
        "recordings": n,
        "audio_s": seconds,
        "wall_s": round(wall, 2),
        "x_real_time_per_core": round(seconds / wall, 1),
    }


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--recordings", type=int, default=1612)
    parser.add_argument("--workdir", help="working directory (default: a new temporary one)")
    parser.add_argument("--keep", action="store_true", help="keep the working directory")
    parser.add_argument("--out", default=str(result_path("feature_stage")))
    return parser.parse_args()


def main() -> None:
    args = parse_args()

    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="anuraflow-features-"))
    workdir.mkdir(parents=True, exist_ok=True)
    scale = yaml.safe_load(SCALE_CONFIG.read_text())
    codes = [s["code"] for s in scale["species"]]
    syn = {**scale["synthetic"], "n_recordings": args.recordings}
    overlay = {
        "data": {"source": "directory", "audio_dir": "data", "annotation_dir": "data"},
        "results_dir": "results",
    }
    (workdir / "benchmark-config.yaml").write_text(yaml.safe_dump(overlay))
    for old in ("results", ".snakemake"):  # a reused working directory starts from its data
        shutil.rmtree(workdir / old, ignore_errors=True)
    for old in (workdir / "data").glob(f"*/*_{NEW_STAMP}.*"):  # and without the added one
        old.unlink()
    t0 = time.perf_counter()
    plans = write_data(workdir / "data", codes, args.recordings, syn, args.cores)
    print(f"wrote {len(plans)} recordings in {time.perf_counter() - t0:.0f} s", flush=True)
    audio_s = len(plans) * syn["duration_s"]

    stage = snakemake(workdir, args.cores, "--until", "compute_features")
    costs = rule_costs(workdir / "results/benchmarks")
    job_s = sum(costs[r]["total_s"] for r in ("ingest", "features"))
    print(f"feature stage: {stage['wall_s']} s", flush=True)
    limit = in_process_limit(workdir, plans, min(40, len(plans)))

    # one more recording: a copy of the first plan under a new name (a later night)
    new = dataclasses.replace(
        plans[0],
        recording_id=f"{plans[0].site}_{NEW_STAMP}",
        audio_name=f"{plans[0].site}_{NEW_STAMP}.wav",
        label_name=f"{plans[0].site}_{NEW_STAMP}.txt",
        sample_rate=22050,
        channels=1,
    )
    voices = {v.code: v for v in species_voices(codes, syn["seed"])}
    _write_one((new, voices, workdir / "data", syn["duration_s"], syn["seed"]))
    dry = snakemake(workdir, args.cores, "--until", "compute_features", "-n")
    jobs = parse_planned_jobs(dry["output"])
    added = snakemake(workdir, args.cores, "--until", "compute_features")
    bench = workdir / "results/benchmarks"
    new_job_s = sum(
        float(open(bench / rule / f"{new.recording_id}.tsv").readlines()[1].split("\t")[0])
        for rule in ("ingest", "features")
    )

    targets = ["splits", "windows", "feature_index", "annotations", "recordings"]
    rest = snakemake(workdir, args.cores, *[f"results/{t}.parquet" for t in targets])
    costs_all = rule_costs(bench)

    throughput = audio_s / stage["wall_s"] / args.cores
    report = {
        "benchmark": "feature_stage",
        "machine": {
            "cpu": cpu_name(),
            "cpu_count": psutil.cpu_count(),
            "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        },
        "cores": args.cores,
        "recordings": len(plans),
        "audio_hours": round(audio_s / 3600, 2),
        "feature_stage": {
            "command": stage["command"],
            "wall_s": stage["wall_s"],
            "x_real_time_per_core": round(throughput, 1),
            "job_seconds_ingest_plus_features": round(job_s, 1),
            "peak_rss_tree_mb": stage["peak_rss_tree_mb"],
        },
        "in_process_limit": limit,
        "incremental": {
            "planned_jobs": sorted({f"{r}:{rec}" if rec else r for r, rec in jobs}),
            "per_recording_jobs_planned": sorted(
                f"{r}:{rec}" for r, rec in jobs if r in PER_RECORDING_RULES
            ),
            "new_recording_job_s": round(new_job_s, 3),
            "fraction_of_stage_job_s": round(new_job_s / job_s, 5),
            "fraction_of_stage_core_s": round(new_job_s / (stage["wall_s"] * args.cores), 5),
            "command_wall_s": added["wall_s"],
            "command_fraction_of_stage_wall": round(added["wall_s"] / stage["wall_s"], 4),
        },
        "stages_before_training": {
            "wall_s": rest["wall_s"],
            "peak_rss_tree_mb": rest["peak_rss_tree_mb"],
            "peak_rss_largest_process_mb": rest["peak_rss_largest_process_mb"],
            "rules": costs_all,
        },
        "targets": {
            "x_real_time_per_core_at_least_500": throughput >= 500,
            "one_new_recording_one_ingest_one_feature_job": sorted(
                r for r, rec in jobs if r in ("ingest_recording", "compute_features")
            )
            == ["compute_features", "ingest_recording"],
            "new_recording_under_1_percent_of_stage": new_job_s / job_s < 0.01,
            "peak_rss_every_stage_under_8_gb": max(
                stage["peak_rss_tree_mb"], rest["peak_rss_tree_mb"]
            )
            < 8192,
        },
    }
    report["targets"] = {k: bool(v) for k, v in report["targets"].items()}
    write_report(report, args.out)
    if not args.keep and not args.workdir:
        shutil.rmtree(workdir)


if __name__ == "__main__":
    main()
