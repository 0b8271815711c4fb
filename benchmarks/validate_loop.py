"""Benchmark: are the precision estimates from a reviewed stratified sample right, and do their
intervals cover the truth as often as they claim? (issue 42, item 5, the estimation part)

A synthetic archive with truth, scores only (no audio: what is measured is the estimator):
150 recordings x 60 windows of a new site, four species. A species is present in a recording's
windows at a rate drawn per recording (calls cluster in recordings, which the recording
bootstrap must carry); a present window's score is Beta(a, 1.5), an absent one's Beta(1, b).
The species differ in how well they separate (`SPECIES`); on the new site one of them
(`shifted`) meets a noise its model confuses with its call: 15 % of its absent windows score
Beta(4, 2). Each species' threshold is tuned as the workflow tunes it (`tune_thresholds`, F1 on
validation) on a training site drawn the same way without the noise.

Per seed and species, the reviewer (answering from truth) decides the workflow's sample:
`--bins` bins at score quantiles over the whole archive, `--per-bin` windows each
(`reviewed_precision.draw_sample`). Reported, over the seeds:
- at the tuned threshold: the estimated precision against the true one (the archive's own
  share of true windows among the detections), how often the 90 % recording-bootstrap interval
  holds the truth, and the same for the number of true detections;
- the same for the per-bin Beta posterior interval (`beta_precision`, Perch's way);
- the same for the wider of the two at each threshold (`precision_intervals`, validate's default);
- the threshold chosen for a precision of 0.9 (`threshold_for`) and the true precision there;
- the naive estimate with the same number of reviews: a uniform sample of the tuned threshold's
  detections, its share of true ones, a 90 % recording-bootstrap interval.

    .venv/bin/python benchmarks/validate_loop.py --seeds 20
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from anuraflow.evaluate.reviewed_precision import (  # noqa: E402
    ReviewedSample,
    beta_precision,
    bootstrap_precision,
    draw_sample,
    precision_intervals,
    stratify,
    threshold_for,
)
from anuraflow.evaluate.thresholds import tune_thresholds  # noqa: E402

# name: (mean presence rate, present Beta a, absent Beta b, confusing noise on the new site)
SPECIES = {
    "clear": (0.10, 6.0, 8.0, False),
    "middling": (0.10, 3.0, 4.0, False),
    "rare": (0.02, 4.0, 6.0, False),
    "shifted": (0.10, 5.0, 8.0, True),
}
RECORDINGS, WINDOWS = 150, 60
LEVEL = 0.9


def simulate_site(rng, name: str, noise: bool) -> pd.DataFrame:
    """One species over a site: window_id, recording_id, score, present (the truth)."""
    rate, a, b, confusable = SPECIES[name]
    per_recording = rng.beta(2 * rate / (1 - rate), 2, RECORDINGS)  # mean `rate`, clustered
    present = rng.random((RECORDINGS, WINDOWS)) < per_recording[:, None]
    scores = np.where(present, rng.beta(a, 1.5, present.shape), rng.beta(1, b, present.shape))
    if noise and confusable:
        fooled = ~present & (rng.random(present.shape) < 0.15)
        scores[fooled] = rng.beta(4, 2, fooled.sum())
    ids = np.arange(RECORDINGS * WINDOWS)
    return pd.DataFrame(
        {
            "window_id": [f"w{i:06d}" for i in ids],
            "recording_id": [f"r{i // WINDOWS:03d}" for i in ids],
            "score": scores.ravel(),
            "present": present.ravel().astype(int),
        }
    )


def naive(detected: pd.DataFrame, n: int, rng, n_boot: int) -> tuple[float, float, float]:
    """A uniform sample of `n` detections: the share of true ones, and a 90 % interval from a
    recording bootstrap of that sample."""
    sample = detected.iloc[rng.permutation(len(detected))[: min(n, len(detected))]]
    groups = [g["present"].to_numpy() for _, g in sample.groupby("recording_id")]
    shares = []
    for _ in range(n_boot):
        drawn = [groups[i] for i in rng.integers(0, len(groups), len(groups))]
        shares.append(np.concatenate(drawn).mean())
    low, high = np.quantile(shares, [(1 - LEVEL) / 2, (1 + LEVEL) / 2])
    return float(sample["present"].mean()), float(low), float(high)


def finite(value) -> float | None:
    """A number for strict JSON: NaN (no detection, no reviewed window above) as null."""
    return None if value is None or not np.isfinite(value) else float(value)


def one_case(seed: int, name: str, bins: int, per_bin: int, n_boot: int, spacing: str) -> dict:
    rng = np.random.default_rng([seed, list(SPECIES).index(name)])
    train = simulate_site(rng, name, noise=False)
    tuned = tune_thresholds(train[["present"]].to_numpy(), train[["score"]].to_numpy(), [name], 0.5)
    t = tuned[name]["threshold"]
    archive = simulate_site(rng, name, noise=True)
    scores = archive["score"].to_numpy()
    edges = stratify(scores, bins, spacing)
    sample = draw_sample(archive[["window_id", "recording_id", "score"]], edges, per_bin, seed)
    sample = sample.merge(archive[["window_id", "present"]], on="window_id")
    reviewed = ReviewedSample(sample, scores, edges)
    candidates = np.unique(np.r_[t, sample["score"].to_numpy()])
    curve = reviewed.curve(candidates)
    at_t = curve[curve["threshold"] == t].iloc[0]
    ci = bootstrap_precision(reviewed, np.array([t]), n_boot, seed).iloc[0]
    beta = beta_precision(reviewed, np.array([t]), seed=seed).iloc[0]
    wider = precision_intervals(reviewed, np.array([t]), "wider", n_boot, seed).iloc[0]
    detected = archive[archive["score"] >= t]
    truth = float(detected["present"].mean()) if len(detected) else float("nan")
    chosen = threshold_for(curve, 0.9)
    naive_p, naive_low, naive_high = naive(detected, len(sample), rng, n_boot)
    return {
        "seed": seed,
        "species": name,
        "tuned_threshold": t,
        "detections": int(len(detected)),
        "reviewed": int(len(sample)),
        "reviewed_at_threshold": int(at_t["reviewed"]),
        "true_precision": finite(truth),
        "estimated_precision": finite(at_t["precision"]),
        "precision_interval": [finite(ci["precision_low"]), finite(ci["precision_high"])],
        "precision_covered": bool(ci["precision_low"] <= truth <= ci["precision_high"]),
        "beta_interval": [finite(beta["precision_low"]), finite(beta["precision_high"])],
        "beta_covered": bool(beta["precision_low"] <= truth <= beta["precision_high"]),
        "wider_interval": [finite(wider["precision_low"]), finite(wider["precision_high"])],
        "wider_covered": bool(wider["precision_low"] <= truth <= wider["precision_high"]),
        "true_detections": int(detected["present"].sum()),
        "estimated_true_detections": finite(at_t["true_detections"]),
        "true_detections_covered": bool(
            ci["true_detections_low"] <= detected["present"].sum() <= ci["true_detections_high"]
        ),
        "threshold_for_0.9": chosen,
        "true_precision_at_chosen": (
            None if chosen is None else float(archive.loc[scores >= chosen, "present"].mean())
        ),
        "naive_precision": finite(naive_p),
        "naive_interval": [naive_low, naive_high],
        "naive_covered": bool(naive_low <= truth <= naive_high),
    }


def summarise(rows: list[dict]) -> dict:
    out = {}
    for name in SPECIES:
        r = pd.DataFrame([x for x in rows if x["species"] == name])
        chosen = r["true_precision_at_chosen"].dropna()
        out[name] = {
            "true_precision_mean": float(r["true_precision"].mean()),
            "estimated_precision_mean": float(r["estimated_precision"].mean()),
            "precision_abs_error_mean": float(
                (r["estimated_precision"] - r["true_precision"]).abs().mean()
            ),
            "precision_coverage": float(r["precision_covered"].mean()),
            "beta_coverage": float(r["beta_covered"].mean()),
            "wider_coverage": float(r["wider_covered"].mean()),
            "true_detections_mean": float(r["true_detections"].mean()),
            "estimated_true_detections_mean": float(r["estimated_true_detections"].mean()),
            "true_detections_coverage": float(r["true_detections_covered"].mean()),
            "reviewed_at_threshold_mean": float(r["reviewed_at_threshold"].mean()),
            "threshold_found": float(r["threshold_for_0.9"].notna().mean()),
            "true_precision_at_chosen_mean": float(chosen.mean()) if len(chosen) else None,
            "naive_abs_error_mean": float(
                (r["naive_precision"] - r["true_precision"]).abs().mean()
            ),
            "naive_coverage": float(r["naive_covered"].mean()),
        }
    every = pd.DataFrame(rows)
    out["all"] = {
        "precision_coverage": float(every["precision_covered"].mean()),
        "beta_coverage": float(every["beta_covered"].mean()),
        "wider_coverage": float(every["wider_covered"].mean()),
        "true_detections_coverage": float(every["true_detections_covered"].mean()),
        "naive_coverage": float(every["naive_covered"].mean()),
        "cases": len(every),
    }
    return out


def plot(rows: list[dict], path: Path, title: str) -> None:
    """Estimated against true precision at the tuned threshold, each case with its interval
    (the wider of the bootstrap's and the Beta one, validate's default), by species; the
    diagonal is a perfect estimate."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.2, 4.6))
    for k, name in enumerate(SPECIES):
        r = [x for x in rows if x["species"] == name]
        truth = np.array([x["true_precision"] for x in r])
        est = np.array([x["estimated_precision"] for x in r])
        low, high = np.array([x["wider_interval"] for x in r]).T
        ax.errorbar(truth, est, yerr=[est - low, high - est], fmt="o", ms=3, lw=0.7,
                    color=f"C{k}", label=name)  # fmt: skip
    ax.plot([0, 1], [0, 1], color="#999999", lw=0.8, ls="--")
    ax.set_xlabel("true precision at the tuned threshold")
    ax.set_ylabel("estimated precision (90 % interval)")
    ax.set_xlim(0, 1.02)
    ax.set_ylim(0, 1.02)
    ax.legend(fontsize=8, loc="lower right")
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--bins", type=int, default=8)
    parser.add_argument("--per-bin", type=int, default=25)
    parser.add_argument("--spacing", choices=("top", "uniform"), default="top")
    parser.add_argument("--boot", type=int, default=1000)
    parser.add_argument("--out", default=str(REPO / "benchmarks/results/validate_loop.json"))
    parser.add_argument("--figure", help="a PNG of estimated against true precision")
    args = parser.parse_args()
    start = time.time()
    rows = [
        one_case(seed, name, args.bins, args.per_bin, args.boot, args.spacing)
        for seed in range(args.seeds)
        for name in SPECIES
    ]
    from workflow_run import cpu_name

    result = {
        "command": "benchmarks/validate_loop.py " + " ".join(sys.argv[1:]),
        "settings": {
            "seeds": args.seeds,
            "bins": args.bins,
            "per_bin": args.per_bin,
            "spacing": args.spacing,
            "boot": args.boot,
            "level": LEVEL,
            "recordings": RECORDINGS,
            "windows_per_recording": WINDOWS,
            "species": SPECIES,
        },  # fmt: skip
        "summary": summarise(rows),
        "cases": rows,
        "seconds": round(time.time() - start, 1),
        "cpu": cpu_name(),
    }
    Path(args.out).write_text(json.dumps(result, indent=1, allow_nan=False))
    if args.figure:
        cover = result["summary"]["all"]["wider_coverage"]
        plot(rows, Path(args.figure), f"{args.spacing} bins x {args.per_bin}, {args.seeds} "
             f"seeds: the interval holds the truth in {100 * cover:.0f} % of cases")  # fmt: skip
    print(json.dumps(result["summary"], indent=1))


if __name__ == "__main__":
    main()
