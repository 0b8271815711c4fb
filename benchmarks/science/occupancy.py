"""Occupancy on seasons with known truth: do the 90 % intervals hold the true occupancy?

Seasons from anuraflow/simulate/occupancy_season.py in three regimes (a good classifier; a
noisy site: a tenth of the sites with false bursts in 30 % of their occasions; a rare species,
psi 0.1), each cut at the threshold whose window precision is 0.9 (the truth standing in for
`validate`). Per season: the naive estimate (share of sites with a detection, Clopper-Pearson),
biolith's false-positive model and its continuous-score model (anuraflow/ecology/
occupancy_models.py). Per regime and model: how often the interval holds the true psi (and
the realised share of occupied sites), bias, width, fits that did not converge.
`--scale` times one season of 100 sites x 60 occasions x 8 species, both models, every
species fitted, and its peak memory (the issue's goal: under 5 minutes on 2 cores).

    .venv/bin/python -m benchmarks.science.occupancy                 # 20 seeds from 100
    .venv/bin/python -m benchmarks.science.occupancy --scale        # <machine>_scale.json

Seeds 0-2 chose the regimes' settings and the models' start values: keep them out of a
reported run (the default starts at 100)."""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

import numpy as np

from anuraflow.ecology.occupancy_models import (
    MODELS,
    FitSettings,
    Survey,
    fit_model,
    naive_estimate,
)
from anuraflow.simulate.occupancy_season import REGIMES, simulate_season
from benchmarks.harness import result_path

FLAGS = ("avx2", "avx512f", "avx512_bf16", "amx_bf16")


def one_case(regime: str, seed: int, n_sites: int, n_occasions: int, settings: FitSettings) -> list:
    """Every model's estimate of one simulated season."""
    season = simulate_season(REGIMES[regime], seed, n_sites=n_sites, n_occasions=n_occasions)
    survey = Survey.from_histories(season.histories, "SIM")
    truth = REGIMES[regime].psi
    realised = float(season.z.mean())
    rows = []
    for estimate in [naive_estimate(survey, settings.level)] + [
        fit_model(survey, m, settings) for m in settings.models
    ]:
        row = {
            "regime": regime, "seed": seed, "model": estimate.model, "status": estimate.status,
            "true_psi": truth, "realised": realised, "threshold": season.threshold,
            "seconds": estimate.diagnostics.get("seconds"),
        }  # fmt: skip
        if estimate.status == "ok":
            psi, low, high = estimate.values["psi"]
            row.update(psi=psi, low=low, high=high, covers=bool(low <= truth <= high),
                       covers_realised=bool(low <= realised <= high))  # fmt: skip
        rows.append(row)
    return rows


def summarise(rows: list[dict]) -> dict:
    """Per regime and model: coverage, bias, width, failed fits, median fit time."""
    out = {}
    for regime in REGIMES:
        for model in ("naive", *MODELS):
            mine = [r for r in rows if r["regime"] == regime and r["model"] == model]
            ok = [r for r in mine if r["status"] == "ok"]
            if not mine:
                continue
            seconds = [r["seconds"] for r in ok if r["seconds"] is not None]

            def mean(values: list) -> float | None:
                return round(float(np.mean(values)), 3) if values else None

            out.setdefault(regime, {})[model] = {
                "cases": len(mine),
                "converged": len(ok),
                "coverage": mean([r["covers"] for r in ok]),
                "coverage_realised": mean([r["covers_realised"] for r in ok]),
                "bias": mean([r["psi"] - r["true_psi"] for r in ok]),
                "width": mean([r["high"] - r["low"] for r in ok]),
                "median_seconds": round(float(np.median(seconds)), 2) if seconds else None,
            }
    return out


def scale_summary(fits: list[dict]) -> dict:
    """Per model: the median seconds of a fit, the seconds of all species, failed fits."""
    out = {}
    for model in dict.fromkeys(f["model"] for f in fits):
        seconds = [f["seconds"] for f in fits if f["model"] == model]
        out[model] = {
            "median_seconds": round(float(np.median(seconds)), 2),
            "total_seconds": round(float(np.sum(seconds)), 1),
            "not_ok": sum(f["status"] != "ok" for f in fits if f["model"] == model),
        }
    return out


def scale_run(settings: FitSettings, n_sites: int, n_occasions: int, n_species: int) -> dict:
    """Every species of one large season fitted with every model: wall time and peak memory."""
    names = list(REGIMES)
    start = time.perf_counter()
    per_species = []
    for k in range(n_species):
        regime = names[k % len(names)]
        season = simulate_season(
            REGIMES[regime], 1000 + k, n_sites=n_sites, n_occasions=n_occasions
        )
        survey = Survey.from_histories(season.histories, "SIM")
        for model in settings.models:
            estimate = fit_model(survey, model, settings)
            per_species.append({"species": k, "regime": regime, "model": model,
                                "status": estimate.status, **estimate.diagnostics})  # fmt: skip
    return {
        "sites": n_sites, "occasions": n_occasions, "species": n_species,
        "seconds": round(time.perf_counter() - start, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "per_model": scale_summary(per_species),
        "fits": per_species,
    }  # fmt: skip


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--first-seed", type=int, default=100)
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--sites", type=int, default=50)
    parser.add_argument("--occasions", type=int, default=20)
    parser.add_argument(
        "--scale", action="store_true", help="time 100 sites x 60 occasions x 8 species"
    )
    parser.add_argument("--out", help="default: benchmarks/results/occupancy/<machine>.json "
                        "(<machine>_scale.json with --scale)")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    args.out = args.out or str(result_path("occupancy", "scale" if args.scale else ""))
    from benchmarks.harness import cpu_flags, cpu_name

    settings = FitSettings(models=MODELS)  # both, whatever the config's default
    start = time.time()
    result = {
        "command": "benchmarks/science/occupancy.py " + " ".join(sys.argv[1:]),
        "settings": {
            "chains": settings.chains,
            "warmup": settings.warmup,
            "samples": settings.samples,
            "level": settings.level,
            "max_rhat": settings.max_rhat,
            "target_precision": 0.9,
            "regimes": {k: vars(v) for k, v in REGIMES.items()},
        },  # fmt: skip
        "cpu": cpu_name(),
        "cpu_flags": sorted(cpu_flags() & set(FLAGS)),
    }
    if args.scale:
        result["scale"] = scale_run(settings, 100, 60, 8)
    else:
        seeds = range(args.first_seed, args.first_seed + args.seeds)
        rows = [
            row
            for regime in REGIMES
            for seed in seeds
            for row in one_case(regime, seed, args.sites, args.occasions, settings)
        ]
        result["settings"].update(first_seed=args.first_seed, seeds=args.seeds,
                                  sites=args.sites, occasions=args.occasions)  # fmt: skip
        result["summary"] = summarise(rows)
        result["cases"] = rows
    result["seconds"] = round(time.time() - start, 1)
    Path(args.out).write_text(json.dumps(result, indent=1, allow_nan=False))
    print(
        json.dumps(
            result.get("summary") or {k: v for k, v in result["scale"].items() if k != "fits"},
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
