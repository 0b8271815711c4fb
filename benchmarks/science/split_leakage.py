"""Benchmark: how optimistic is a test score when one-minute recordings of one night are split
by recording, against a split that keeps each site's night in one subset? (issue 54, item 4)

A simulated season as continuous recorders make it, at the level of window embeddings (no
audio: what is measured is the split, not a feature extractor): `--sites` recorders x
`--nights` nights x `--minutes` one-minute recordings of `--windows` windows each, six species.
On a night a species is at a site or not (its nightly occupancy), and where it is, the same
individual calls through the night: every window holding its call carries the species' mean
vector plus that individual's own offset (standard deviation `individual`), and every window
of the night carries the night's background (the recorder's place and weather, standard
deviation `background`), plus window noise. Calls come in most minutes of a night the
species is there, in a share of their windows.

Per seed, the season is split two ways by the workflow's own function
(`anuraflow.data.splits.split_recordings`: iterative stratification, test a third, validation a
fifth of the rest): by recording, and by site-night (the groups `split_groups` makes from the
recordings' sites and start times). A logistic regression per species is trained on the
training windows, each species' threshold tuned on the validation windows as the workflow
tunes it (`tune_thresholds`), and scored on the test windows (macro F1 at the tuned thresholds
and macro AP, over the species present in the test windows) and on a fresh season of new
nights drawn the same way (what the model will meet next season). The optimism of a split is
its test score minus the fresh season's. Both splits of a seed share the season, the fresh
season and the model's settings; the paired test is the exact Wilcoxon signed-rank test over
the seeds. Three strengths of the night's effects (`EFFECTS`): none (a control: the minutes of
a night are independent, and the two splits should agree), mild and strong.

    .venv/bin/python -m benchmarks.science.split_leakage --seeds 20
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from anuraflow.data.splits import split_groups, split_recordings
from anuraflow.evaluate.stats import wilcoxon_signed_rank
from anuraflow.evaluate.thresholds import threshold_vector, tune_thresholds
from benchmarks.harness import result_path

SPECIES = ["A", "B", "C", "D", "E", "F"]
OCCUPANCY = [0.6, 0.5, 0.4, 0.35, 0.3, 0.25]  # a species' chance to be at a site on a night
DIM = 32


def simulate_season(rng, args, first_night: int = 0) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """(recordings: recording_id, site, start; window embeddings [n, DIM]; labels [n, species])
    and each window's recording in the recordings' order."""
    means = np.random.default_rng(12345).normal(0, 1, (len(SPECIES), DIM))  # the same species
    rows, xs, ys = [], [], []
    for site in range(args.sites):
        for night in range(first_night, first_night + args.nights):
            background = rng.normal(0, args.background, DIM)
            here = rng.random(len(SPECIES)) < OCCUPANCY
            individual = rng.normal(0, args.individual, (len(SPECIES), DIM))
            start = datetime(2024, 3, 1, 21) + timedelta(days=night)
            for minute in range(args.minutes):
                when = start + timedelta(minutes=10 * minute)
                rid = f"moth{site:02d}_{when:%Y%m%d_%H%M%S}"
                rows.append({"recording_id": rid, "site": f"moth{site:02d}", "start": when})
                active = here & (rng.random(len(SPECIES)) < 0.8)  # calls in this minute
                y = (rng.random((args.windows, len(SPECIES))) < 0.5) & active
                x = background + y @ means + y @ individual
                xs.append(x + rng.normal(0, 1, x.shape))
                ys.append(y.astype(int))
    return pd.DataFrame(rows), np.concatenate(xs), np.concatenate(ys)


def split_two_ways(recordings: pd.DataFrame, y_rec: np.ndarray, seed: int) -> dict[str, dict]:
    """recording -> subset, by recording and by site-night."""
    ids = recordings["recording_id"].to_numpy()
    by_recording = split_recordings(ids, y_rec, seed=seed)
    groups = split_groups(recordings, "site_night")
    group_ids = np.array(sorted(set(groups.values())))
    members = np.array([groups[r] for r in ids])
    y_group = np.array([y_rec[members == g].max(axis=0) for g in group_ids])
    by_group = split_recordings(group_ids, y_group, seed=seed)
    subset_of_group = dict(zip(by_group["recording_id"], by_group["subset"], strict=True))
    return {
        "recording": dict(zip(by_recording["recording_id"], by_recording["subset"], strict=True)),
        "site_night": {r: subset_of_group[groups[r]] for r in ids},
    }


def scores(y: np.ndarray, prob: np.ndarray, cut: np.ndarray) -> dict[str, float]:
    """Macro F1 at the thresholds and macro AP, over the species present in `y`."""
    from sklearn.metrics import average_precision_score, f1_score

    present = y.sum(axis=0) > 0
    f1 = f1_score(y[:, present], (prob >= cut)[:, present].astype(int), average="macro",
                  zero_division=0)  # fmt: skip
    ap = average_precision_score(y[:, present], prob[:, present], average="macro")
    return {"macro_f1": float(f1), "macro_ap": float(ap)}


def fit_and_score(x, y, subset, fresh_x, fresh_y) -> dict[str, dict]:
    """A logistic regression per species on the training windows, thresholds tuned on the
    validation windows, scored on the test windows and on the fresh season."""
    from sklearn.linear_model import LogisticRegression

    prob = {}
    models = []
    for j in range(len(SPECIES)):
        train = subset == "train"
        model = LogisticRegression(max_iter=2000).fit(x[train], y[train, j])
        models.append(model)
    for name, data in (("val", x[subset == "val"]), ("test", x[subset == "test"]),
                       ("fresh", fresh_x)):  # fmt: skip
        prob[name] = np.stack([m.predict_proba(data)[:, 1] for m in models], axis=1)
    tuned = tune_thresholds(y[subset == "val"], prob["val"], SPECIES, 0.5)
    cut = threshold_vector(tuned, SPECIES)
    return {"test": scores(y[subset == "test"], prob["test"], cut),
            "fresh": scores(fresh_y, prob["fresh"], cut)}  # fmt: skip


def one_seed(seed: int, args) -> dict:
    rng = np.random.default_rng(seed)
    recordings, x, y = simulate_season(rng, args)
    fresh_recordings, fresh_x, fresh_y = simulate_season(rng, args, first_night=args.nights)
    per_window = np.repeat(recordings["recording_id"].to_numpy(), args.windows)
    y_rec = pd.DataFrame(y).groupby(per_window, sort=False).max().to_numpy()
    out = {"seed": seed}
    for how, subset_of in split_two_ways(recordings, y_rec, seed).items():
        subset = np.array([subset_of[r] for r in per_window])
        night_of = split_groups(recordings, "site_night")
        shared = {night_of[r] for r, s in subset_of.items() if s == "test"} & {
            night_of[r] for r, s in subset_of.items() if s != "test"}  # fmt: skip
        result = fit_and_score(x, y, subset, fresh_x, fresh_y)
        out[how] = {**{f"test_{k}": v for k, v in result["test"].items()},
                    **{f"fresh_{k}": v for k, v in result["fresh"].items()},
                    "nights_in_test_and_training": len(shared)}  # fmt: skip
    return out


def summarise(rows: list[dict]) -> dict:
    out = {}
    for metric in ("macro_f1", "macro_ap"):
        entry = {}
        for how in ("recording", "site_night"):
            test = np.array([r[how][f"test_{metric}"] for r in rows])
            fresh = np.array([r[how][f"fresh_{metric}"] for r in rows])
            entry[how] = {"test_mean": float(test.mean()), "fresh_mean": float(fresh.mean()),
                          "optimism_mean": float((test - fresh).mean()),
                          "optimism_sd": float((test - fresh).std(ddof=1))}  # fmt: skip
        optimism = {how: [r[how][f"test_{metric}"] - r[how][f"fresh_{metric}"] for r in rows]
                    for how in ("recording", "site_night")}  # fmt: skip
        entry["optimism_test"] = wilcoxon_signed_rank(optimism["recording"],
                                                      optimism["site_night"])  # fmt: skip
        entry["test_score_test"] = wilcoxon_signed_rank(
            [r["recording"][f"test_{metric}"] for r in rows],
            [r["site_night"][f"test_{metric}"] for r in rows],
        )
        out[metric] = entry
    out["nights_in_test_and_training_mean"] = {
        how: float(np.mean([r[how]["nights_in_test_and_training"] for r in rows]))
        for how in ("recording", "site_night")
    }
    return out


# the night's effects, (individual, background) standard deviations, against window noise 1 and
# species means of norm about sqrt(32): none (minutes independent), mild and strong
EFFECTS = {"none": (0.0, 0.0), "mild": (0.5, 0.5), "strong": (1.0, 1.0)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--sites", type=int, default=4)
    parser.add_argument("--nights", type=int, default=6)
    parser.add_argument("--minutes", type=int, default=8)
    parser.add_argument("--windows", type=int, default=20)
    parser.add_argument("--out", default=str(result_path("split_leakage")))
    args = parser.parse_args()
    start = time.time()
    cases = {}
    for name, (individual, background) in EFFECTS.items():
        setting = argparse.Namespace(**vars(args), individual=individual, background=background)
        rows = [one_seed(seed, setting) for seed in range(args.seeds)]
        cases[name] = {"individual": individual, "background": background,
                       "summary": summarise(rows), "seeds": rows}  # fmt: skip
    from benchmarks.harness import cpu_name

    result = {
        "command": "benchmarks/science/split_leakage.py " + " ".join(sys.argv[1:]),
        "settings": {k: v for k, v in vars(args).items() if k != "out"},
        "species": dict(zip(SPECIES, OCCUPANCY, strict=True)),
        "cases": cases,
        "seconds": round(time.time() - start, 1),
        "cpu": cpu_name(),
    }
    Path(args.out).write_text(json.dumps(result, indent=1, allow_nan=False))
    for name, case in cases.items():
        print(name, json.dumps(case["summary"], indent=1))


if __name__ == "__main__":
    main()
