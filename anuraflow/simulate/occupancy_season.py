"""A season with known occupancy for benchmarks/science/occupancy.py: sites occupied or not,
occasions recorded for a varying number of minutes (some not at all), calling in some occasions
of an occupied site, and a classifier's score for every window: calls score high, background low,
and false detections come in bursts within a recording (another species, rain on the
microphone) at a rate that may differ by site. The detection history is then cut at the
threshold whose window precision is `target` (the truth standing in for `validate`).

Scores are drawn on the logit scale from normals, `windows_per_minute` windows per minute (20:
3 s windows without overlap)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import expit


@dataclass(frozen=True)
class Regime:
    """One species' truth and its classifier's behaviour."""

    name: str
    psi: float = 0.5  # P(site occupied)
    p30: float = 0.5  # P(calls in an occasion of 30 recorded minutes | occupied)
    calls_mean: float = 4.0  # calling windows in a calling occasion: 1 + Poisson
    burst_rate: float = 0.03  # P(a false burst in an occasion)
    noisy_sites: float = 0.0  # share of sites whose occasions burst at noisy_rate
    noisy_rate: float = 0.3
    burst_mean: float = 3.0  # windows in a burst: 1 + Poisson
    call_score: tuple[float, float] = (3.0, 1.5)  # logit mean, sd
    background_score: tuple[float, float] = (-6.0, 1.5)
    burst_score: tuple[float, float] = (1.0, 1.5)


REGIMES = {
    "good": Regime("good"),
    "noisy_site": Regime("noisy_site", noisy_sites=0.1, noisy_rate=0.3),
    "rare": Regime("rare", psi=0.1, p30=0.4),
}


@dataclass
class SimulatedSeason:
    histories: pd.DataFrame  # the long table of anuraflow.ecology.histories (one species)
    z: np.ndarray  # true occupancy per site
    threshold: float
    window_precision: float  # at the threshold, over the season


def simulate_season(
    regime: Regime, seed: int, n_sites: int = 50, n_occasions: int = 20,
    windows_per_minute: int = 20, target: float = 0.9, species: str = "SIM",
) -> SimulatedSeason:  # fmt: skip
    """One species' season under `regime`, its history cut at the target-precision threshold."""
    rng = np.random.default_rng(seed)
    z = rng.random(n_sites) < regime.psi
    minutes = rng.choice([10.0, 20.0, 30.0, 60.0], size=(n_sites, n_occasions))
    minutes[rng.random(minutes.shape) < 0.1] = 0.0  # recorder down
    rate = -np.log1p(-regime.p30) / 30.0
    calling = z[:, None] & (rng.random(minutes.shape) < 1 - np.exp(-rate * minutes))
    noisy = rng.random(n_sites) < regime.noisy_sites
    burst_p = np.where(noisy, regime.noisy_rate, regime.burst_rate)[:, None]
    bursting = (rng.random(minutes.shape) < burst_p) & (minutes > 0)
    cells = []
    for i, j in zip(*np.nonzero(minutes > 0), strict=True):
        n = int(minutes[i, j] * windows_per_minute)
        mu, sd = regime.background_score
        scores, truth = rng.normal(mu, sd, n), np.zeros(n, bool)
        if calling[i, j]:
            k = min(n, 1 + rng.poisson(regime.calls_mean))
            at = rng.integers(0, n - k + 1)
            scores[at : at + k] = rng.normal(*regime.call_score, k)
            truth[at : at + k] = True
        if bursting[i, j]:
            k = min(n, 1 + rng.poisson(regime.burst_mean))
            at = rng.integers(0, n - k + 1)
            free = ~truth[at : at + k]
            scores[at : at + k][free] = rng.normal(*regime.burst_score, free.sum())
        cells.append((i, j, expit(scores), truth))
    threshold, precision = target_threshold(
        np.concatenate([c[2] for c in cells]), np.concatenate([c[3] for c in cells]), target
    )
    rows = []
    for i, j, scores, _ in cells:
        hits = int((scores >= threshold).sum())
        rows.append((i, j, len(scores), hits, float(scores.max())))
    table = pd.DataFrame(rows, columns=["i", "j", "windows", "detected_windows", "max_score"])
    return SimulatedSeason(
        histories=history_table(table, minutes, species, threshold),
        z=z,
        threshold=threshold,
        window_precision=precision,
    )


def target_threshold(scores: np.ndarray, truth: np.ndarray, target: float) -> tuple[float, float]:
    """The lowest score whose windows at or above it are at least `target` true (walking down
    from the top and stopping at the first fall below the target), and their precision."""
    order = np.argsort(-scores, kind="stable")
    true_above = np.cumsum(truth[order])
    precision = true_above / np.arange(1, len(order) + 1)
    below = np.flatnonzero(precision < target)
    last = (below[0] - 1) if len(below) else len(order) - 1
    last = max(last, 0)
    return float(scores[order][last]), float(precision[last])


def history_table(
    cells: pd.DataFrame, minutes: np.ndarray, species: str, threshold: float
) -> pd.DataFrame:
    """The cells as the long detection-history table, every site x occasion present."""
    n_sites, n_occasions = minutes.shape
    grid = pd.MultiIndex.from_product(
        [range(n_sites), range(n_occasions)], names=["i", "j"]
    ).to_frame(index=False)
    table = grid.merge(cells, on=["i", "j"], how="left")
    table["windows"] = table["windows"].fillna(0).astype(int)
    table["detected_windows"] = table["detected_windows"].fillna(0).astype(int)
    detection = pd.array((table["detected_windows"] > 0).astype(int), dtype="Int8")
    detection[table["windows"].to_numpy() == 0] = pd.NA
    start = pd.Timestamp("2026-01-01 12:00")
    return pd.DataFrame(
        {
            "species": species,
            "site": [f"S{i:03d}" for i in table["i"]],
            "occasion": [f"N{j:03d}" for j in table["j"]],
            "occasion_start": start + pd.to_timedelta(table["j"], unit="D"),
            "effort_min": minutes[table["i"], table["j"]],
            "recordings": (table["windows"] > 0).astype(int),
            "windows": table["windows"],
            "detected_windows": table["detected_windows"],
            "max_score": table["max_score"],
            "detection": detection,
            "threshold": threshold,
        }
    )
