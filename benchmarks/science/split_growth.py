"""Benchmark: how stable and how balanced the recording-level split stays as data grow.

The species of the 1,612 recordings of config/synthetic-anuraset-scale.yaml (42 AnuraSet
codes, no audio needed). A first split of the earliest recordings; then the rest are added
("next season"). Compared: the stable split (earlier recordings kept, the new ones placed by
`place_new_recordings`) and a fresh stratified split of everything (what the workflow did
before issue 13). Per run: how many earlier recordings changed subset, and the balance of the
subsets (per species, the largest distance of a subset's share of its recordings from the
target share; mean and max over species; species missing from a subset).

    .venv/bin/python -m benchmarks.science.split_growth
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
import yaml

from anuraflow.data.splits import (
    SUBSETS,
    split_balance,
    split_recordings,
    stable_split,
    subset_targets,
)
from anuraflow.simulate.plan import SyntheticSpec
from anuraflow.simulate.profiles import plan_recordings
from benchmarks.harness import REPO, result_path, write_report

SCALE = REPO / "config/synthetic-anuraset-scale.yaml"


def presence(config: dict) -> tuple[np.ndarray, np.ndarray, list[str]]:
    codes = [s["code"] for s in config["species"]]
    syn = config["synthetic"]
    plans = plan_recordings(SyntheticSpec(**syn), codes)  # the config's profile (anuraset: seconds)
    ids = np.array([p.recording_id for p in plans])
    y = np.array([[int(c in p.species) for c in codes] for p in plans])
    return ids, y, codes


def balance(splits: pd.DataFrame, ids, y, codes, targets) -> dict:
    windows = pd.DataFrame(y, columns=codes).assign(recording_id=ids)
    b = split_balance(splits, windows, codes, targets).set_index("species")
    species = b.drop(index="(recordings)")
    return {
        "recordings_max_deviation": round(float(b.loc["(recordings)", "max_deviation"]), 4),
        "species_mean_max_deviation": round(float(species["max_deviation"].mean()), 4),
        "species_worst_max_deviation": round(float(species["max_deviation"].max()), 4),
        "species_missing_from_a_subset": int((species[list(SUBSETS)] == 0).any(axis=1).sum()),
    }


def growth(ids, y, codes, n_before: int, targets: dict) -> dict:
    first = stable_split(ids[:n_before], y[:n_before], {})
    earlier = dict(zip(first["recording_id"], first["subset"], strict=True))
    started = time.perf_counter()
    grown = stable_split(ids, y, earlier)
    seconds = time.perf_counter() - started
    fresh = split_recordings(ids, y)

    def moved(splits):
        s = splits.set_index("recording_id")["subset"]
        return int(sum(s[r] != earlier[r] for r in earlier))

    return {
        "recordings_before": n_before,
        "recordings_added": len(ids) - n_before,
        "before": balance(first, ids[:n_before], y[:n_before], codes, targets),
        "stable": {
            "earlier_recordings_moved": moved(grown),
            "seconds": round(seconds, 3),
            **balance(grown, ids, y, codes, targets),
        },
        "fresh_stratified_split": {
            "earlier_recordings_moved": moved(fresh),
            **balance(fresh, ids, y, codes, targets),
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(result_path("split_growth")))
    args = parser.parse_args()
    config = yaml.safe_load(SCALE.read_text())
    ids, y, codes = presence(config)
    targets = subset_targets(1 / 3, 0.2)
    n = len(ids)
    report = {
        "benchmark": "split_growth",
        "data": f"{SCALE.name}: {n} recordings, {len(codes)} species (presence by recording)",
        "targets": targets,
        "command": ".venv/bin/python -m benchmarks.science.split_growth",
        "runs": [growth(ids, y, codes, k, targets) for k in (n - 1, n - 161, n * 2 // 3)],
    }
    write_report(report, args.out)


if __name__ == "__main__":
    main()
