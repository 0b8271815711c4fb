"""Benchmark: `validate`'s jobs on a large archive's scores: time and peak memory of the draw
(`write_validation_sample`) and of the estimates with the detections cut again
(`validate_precision`), without the page's clips (their cost is per reviewed window, not per
archive window).

The archive is synthetic scores, as predict's shards write them: `--recordings` recordings of
58 windows (1-minute files, 3 s windows every 1 s) and 8 species, a species present in a
window with probability 0.1 and scored Beta(5, 2) there, Beta(1, 8) elsewhere; a reviewer
decides the whole sample (8 bins x 25 per species) from that truth. Each job runs in a fresh
process, as Snakemake runs it, its peak RSS read from `getrusage`.

    .venv/bin/python -m benchmarks.speed.validate_scale --recordings 10000 100000
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.harness import REPO, cpu_name, result_path

CODES = ["SPHSUR", "BOABIS", "BOAFAB", "LEPPOD", "PITAZU", "DENMIN", "PHYCUV", "LEPLAT"]
WINDOWS = 58

JOB = """
import json, resource, sys, time
from pathlib import Path
job, work = sys.argv[1], Path(sys.argv[2])
started = time.time()
from anuraflow.detect.validation_sample import (SampleDesign, merge_archive_labels,
    write_validation_sample)
from anuraflow.detect.validation import ValidateInputs, ValidateSettings, validate_precision
shards = sorted(str(p) for p in (work / "scores").glob("*.parquet"))
records = sorted(str(p) for p in (work / "records").glob("*.json"))
if job == "sample":
    write_validation_sample(shards, {codes!r}, SampleDesign(), work / "sample.parquet",
                            work / "strata.csv")
elif job == "merge":
    merge_archive_labels([work / "labels.tsv"], shards, records, work / "d.parquet",
                         work / "d.json")
else:
    outputs = {{k: str(work / f"out.{{k}}") for k in
               ("precision", "curves", "detections", "activity", "per_site", "page")}}
    outputs["figure"] = str(work / "out.png")
    validate_precision(ValidateInputs(shards, records, str(work / "sample.parquet"),
                                      str(work / "d.parquet")), SampleDesign(),
                       ValidateSettings(), outputs)
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({{"seconds": time.time() - started, "peak_rss_mb": rss}}))
"""


def write_archive(work: Path, n_recordings: int, seed: int = 0) -> pd.DataFrame:
    """Shards of 2,000 recordings (scores and records) and the truth of every window."""
    rng = np.random.default_rng(seed)
    (work / "scores").mkdir()
    (work / "records").mkdir()
    truth = []
    for first in range(0, n_recordings, 2000):
        ids = [f"SITE_{20200101 + r // 1440:08d}_{(r % 1440) // 60:02d}{r % 60:02d}00"
               for r in range(first, min(first + 2000, n_recordings))]  # fmt: skip
        n = len(ids) * WINDOWS
        present = rng.random((n, len(CODES))) < 0.1
        score = np.where(present, rng.beta(5, 2, present.shape), rng.beta(1, 8, present.shape))
        starts = np.tile(np.arange(WINDOWS, dtype=float), len(ids))
        table = pd.DataFrame({"recording_id": np.repeat(ids, WINDOWS), "start_s": starts})
        table["end_s"] = table["start_s"] + 3
        for j, code in enumerate(CODES):
            table[code] = score[:, j].astype(np.float32)
        table.to_parquet(work / "scores" / f"{first:07d}.parquet")
        records = [{"recording_id": r, "file": f"{r}.wav", "site": "SITE", "start_datetime": None,
                    "codes": CODES, "names": CODES, "thresholds": dict.fromkeys(CODES, 0.5),
                    "status": "ok", "problem": None, "duration_s": 60.0, "n_windows": WINDOWS,
                    "selections": [], "notes": [], "band_hz": [0, 8000]} for r in ids]  # fmt: skip
        (work / "records" / f"{first:07d}.json").write_text(json.dumps(records))
        truth.append(pd.DataFrame(present, columns=CODES).assign(
            recording_id=table["recording_id"], start_s=table["start_s"]))  # fmt: skip
    return pd.concat(truth, ignore_index=True)


def review(work: Path, truth: pd.DataFrame) -> int:
    """The whole sample decided from the truth, as a labels file."""
    from anuraflow.data.review_labels import labels_file_text

    sample = pd.read_parquet(work / "sample.parquet")
    keyed = truth.set_index(["recording_id", "start_s"])
    asked = zip(sample["recording_id"], sample["start_s"], sample["species"], strict=True)
    said = [bool(keyed.at[(r, s), c]) for r, s, c in asked]
    rows = pd.DataFrame({"recording": sample["recording_id"], "start_s": sample["start_s"],
                         "end_s": sample["end_s"], "species": sample["species"],
                         "decision": np.where(said, "present", "absent")})  # fmt: skip
    (work / "labels.tsv").write_text(labels_file_text(rows, "sim", "2026-12-06T00:00:00Z"))
    return len(rows)


def run_job(job: str, work: Path) -> dict:
    code = JOB.format(repo=str(REPO), codes=CODES)
    proc = subprocess.run([sys.executable, "-c", code, job, str(work)], capture_output=True,
                          text=True, check=True)  # fmt: skip
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recordings", type=int, nargs="+", default=[10000, 100000])
    parser.add_argument("--out", default=str(result_path("validate_scale")))
    args = parser.parse_args()
    rows = []
    for n in args.recordings:
        with tempfile.TemporaryDirectory(prefix="validate-scale-") as tmp:
            work = Path(tmp)
            truth = write_archive(work, n)
            row = {"recordings": n, "windows": int(len(truth)), "sample": run_job("sample", work)}
            row["reviewed"] = review(work, truth)
            del truth
            row["merge"] = run_job("merge", work)
            row["precision"] = run_job("precision", work)
            rows.append(row)
            print(json.dumps(row), flush=True)
    result = {
        "command": "benchmarks/speed/validate_scale.py " + " ".join(sys.argv[1:]),
        "species": len(CODES),
        "rows": rows,
        "cpu": cpu_name(),
        "date": time.strftime("%Y-%m-%d"),
    }
    Path(args.out).write_text(json.dumps(result, indent=1, allow_nan=False))


if __name__ == "__main__":
    main()
