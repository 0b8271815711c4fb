"""Benchmark: does training on the reviewed windows of a new season help on that season?
(issue 42, item 5, the retraining half)

The real workflow in a temporary folder, per seed:
1. a small synthetic dataset (the detection test's: 36 recordings of 30 s, 4 species, SNR 0 to
   20 dB) trains `small_cnn` (6 epochs), the base model;
2. a new season at a harder site: new recordings of the same voices a year on at an SNR of
   -5 to 5 dB, in two folders, `review/` (the archive `validate` samples) and `heldout/`
   (never reviewed);
3. before: `predict` on `heldout/`, macro AP over its windows against the truth (a species is
   present in a window where one of its calls overlaps it, the workflow's rule);
4. `validate` on `review/` (6 bins x 10 windows per species), a reviewer deciding the whole
   sample from the truth (`anuraflow.simulate.new_season review`), then
   `predict.train_on_reviews: true` retrains the model on the dataset plus those windows;
5. after: the retrained bundle scores `heldout/` again (`predict.model`), macro AP again.
Also each model's macro AP on the dataset's own test split (metrics.json `map`): the old site.

    .venv/bin/python -m benchmarks.science.new_season_training --seeds 10
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from anuraflow.data.audacity import parse_audacity_labels
from anuraflow.data.windows import window_labels
from anuraflow.evaluate.ranking import average_precision
from anuraflow.evaluate.stats import wilcoxon_signed_rank
from anuraflow.simulate.new_season import review_sample
from anuraflow.simulate.writer import write_new_recordings
from benchmarks.harness import REPO, cpu_name, result_path

CODES = ["SPHSUR", "BOABIS", "BOAFAB", "LEPPOD"]
VOICE_SEED = 3
CONFIG = {
    "results_dir": "results",
    "data": {"source": "synthetic", "audio_dir": "data/raw", "annotation_dir": "data/raw"},
    "synthetic": {"seed": VOICE_SEED, "n_recordings": 36, "duration_s": 30,
                  "min_recordings_per_species": 6},
    "species": [{"code": c} for c in CODES],
    "frequency_groups": {"frequent_min_windows": 100, "common_min_windows": 50},
    "features": {"n_mels": 64, "hop_length": 256},
    "experiments_dir": "experiments",
    "experiments": ["det_cnn"],
    "report": {"title": "new season benchmark"},
}  # fmt: skip
EXPERIMENT = {"name": "det_cnn", "model": "small_cnn", "seeds": [0], "epochs": 6, "batch_size": 32,
              "optimizer": {"name": "adamw", "lr": 0.003, "weight_decay": 0.0001},
              "scheduler": "cosine", "augment": {"time_shift": 1.0}}  # fmt: skip
RUN = "results/runs/det_cnn/seed0"
NEW_SITE_SNR = (-5.0, 5.0)


def snakemake(workdir: Path, config: dict, *targets: str) -> None:
    import subprocess

    (workdir / "config.yaml").write_text(yaml.safe_dump(config))
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"),
           "--directory", str(workdir), "--configfile", str(workdir / "config.yaml"),
           "--cores", "2", *targets]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stderr[-4000:]}")


def write_season(folder: Path, seed: int, n: int) -> None:
    """`n` new recordings at the harder site, their calls under `folder/truth/`."""
    for path, calls in write_new_recordings(folder, CODES, VOICE_SEED, n, seed=seed,
                                            duration_s=30, snr_db=NEW_SITE_SNR):  # fmt: skip
        truth = folder / "truth" / f"{path.stem}.txt"
        truth.parent.mkdir(exist_ok=True)
        truth.write_text("".join(f"{s:.4f}\t{e:.4f}\t{lab}\n" for s, e, lab in calls))


def season_ap(scores_dir: Path, truth_dir: Path) -> dict:
    """Per species AP of predict's window scores against the truth, and their mean (over the
    species with a positive window)."""
    scores = pd.read_parquet(scores_dir)
    truth = []
    for rec, rows in scores.groupby("recording_id", sort=False):
        calls = parse_audacity_labels(truth_dir / f"{rec}.txt", rec)
        truth.append(pd.DataFrame(window_labels(rows["start_s"].to_numpy(), 3.0, calls, CODES),
                                  columns=CODES, index=rows.index))  # fmt: skip
    labels = pd.concat(truth).loc[scores.index]
    per = {c: average_precision(labels[c].to_numpy(), scores[c].to_numpy()) for c in CODES}
    present = [v for v in per.values() if v is not None]
    return {
        "macro_ap": float(np.mean(present)),
        "per_species": per,
        "windows": int(len(scores)),
        "positives": {c: int(labels[c].sum()) for c in CODES},
    }


def one_seed(seed: int, n_review: int, n_heldout: int) -> dict:
    work = Path(tempfile.mkdtemp(prefix=f"new-season-{seed}-"))
    (work / "experiments").mkdir()
    (work / "experiments" / "det_cnn.yaml").write_text(yaml.safe_dump(EXPERIMENT))
    write_season(work / "season" / "review", 1000 + seed, n_review)
    write_season(work / "season" / "heldout", 2000 + seed, n_heldout)
    heldout = {"audio_dir": "season/heldout", "experiment": "det_cnn", "seed": 0}
    snakemake(work, {**CONFIG, "predict": heldout}, "predict")
    before = season_ap(work / "results/predict/det_cnn/scores", work / "season/heldout/truth")
    old_before = json.loads((work / RUN / "metrics.json").read_text())["map"]
    shutil.rmtree(work / "results/predict/det_cnn")
    review = {
        **CONFIG,
        "predict": {"audio_dir": "season/review", "experiment": "det_cnn"},
        "validate": {"bins": 6, "per_bin": 10, "seed": seed},
        "review_labels": "labels",
    }
    snakemake(work, review, "validate")
    decisions = review_sample(
        work / "results/predict/det_cnn/validate/sample.parquet",
        work / "season/review/truth",
        work / "labels" / "labels-validate.tsv",
    )
    review["predict"]["train_on_reviews"] = True
    snakemake(work, review, f"{RUN}/metrics.json")
    old_after = json.loads((work / RUN / "metrics.json").read_text())["map"]
    (work / "models").mkdir()
    shutil.copy(work / RUN / "model.pt", work / "models" / "after.pt")
    after_cfg = {"audio_dir": "season/heldout", "experiment": "after", "model": "models/after.pt"}
    snakemake(work, {**CONFIG, "predict": after_cfg}, "predict")
    after = season_ap(work / "results/predict/after/scores", work / "season/heldout/truth")
    shutil.rmtree(work)
    return {
        "seed": seed,
        "reviewed_windows": int(len(decisions)),
        "reviewed_present": int((decisions["decision"] == "present").sum()),
        "new_site_before": before,
        "new_site_after": after,
        "old_site_test_map_before": old_before,
        "old_site_test_map_after": old_after,
    }


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--review-recordings", type=int, default=24)
    parser.add_argument("--heldout-recordings", type=int, default=24)
    parser.add_argument("--out", default=str(result_path("new_season_training")))
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    start = time.time()
    rows = []
    for seed in range(args.seeds):
        rows.append(one_seed(seed, args.review_recordings, args.heldout_recordings))
        r = rows[-1]
        print(f"seed {seed}: new-site macro AP {r['new_site_before']['macro_ap']:.3f} -> "
              f"{r['new_site_after']['macro_ap']:.3f} after {r['reviewed_windows']} reviews",
              flush=True)  # fmt: skip
    after = [r["new_site_after"]["macro_ap"] for r in rows]
    before = [r["new_site_before"]["macro_ap"] for r in rows]
    gains = np.subtract(after, before)
    result = {
        "command": "benchmarks/science/new_season_training.py " + " ".join(sys.argv[1:]),
        "settings": {
            "seeds": args.seeds,
            "review_recordings": args.review_recordings,
            "heldout_recordings": args.heldout_recordings,
            "new_site_snr_db": NEW_SITE_SNR,
            "bins": 6,
            "per_bin": 10,
            "experiment": EXPERIMENT,
        },  # fmt: skip
        "summary": {
            "new_site_macro_ap_before_mean": float(
                np.mean([r["new_site_before"]["macro_ap"] for r in rows])
            ),
            "new_site_macro_ap_after_mean": float(
                np.mean([r["new_site_after"]["macro_ap"] for r in rows])
            ),
            "gain_mean": float(np.mean(gains)),
            "seeds_improved": int(sum(g > 0 for g in gains)),
            # paired over the seeds (each seed its own new season, review sample and held-out
            # recordings; the base model the same)
            "wilcoxon": wilcoxon_signed_rank(after, before),
            "old_site_map_before_mean": float(
                np.mean([r["old_site_test_map_before"] for r in rows])
            ),
            "old_site_map_after_mean": float(np.mean([r["old_site_test_map_after"] for r in rows])),
        },  # fmt: skip
        "seeds": rows,
        "seconds": round(time.time() - start, 1),
        "cpu": cpu_name(),
    }
    Path(args.out).write_text(json.dumps(result, indent=1, allow_nan=False))
    print(json.dumps(result["summary"], indent=1))


if __name__ == "__main__":
    main()
