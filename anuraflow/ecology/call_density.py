"""Call density (Navine et al. 2024): the share of a species' windows that hold its call, per
site, from `validate`'s stratified reviewed sample, no threshold involved.

Each score bin b of the draw has a positive rate P(call | b), estimated from its reviewed
windows; a site's density is sum_b P(b | site) P(call | b), the site's own share of windows in
each bin weighing the archive-wide rates (post-stratified by site: the draw was not stratified
by site, so a site's few reviews alone would say little). That assumes a bin's positive rate
is the same at every site; where one site's false detections crowd a bin it is not, and
validate's per_site.csv shows the precision per site to check. The interval follows Perch's
`estimate_call_density`: per bin a Beta(positives + 0.1, negatives + 0.1) draw, the weighted
sum's quantiles over the draws. A bin with archive windows but no decision leaves the density
unknown (reported missing, with the reason)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from anuraflow.evaluate.reviewed_precision import bin_of

BETA_PRIOR = 0.1  # Perch's call_density prior on each bin's positive rate
DENSITY_COLUMNS = [
    "species", "site", "windows", "density", "density_low", "density_high", "reviewed",
    "note",
]  # fmt: skip


def bin_rates(
    reviewed_scores: np.ndarray, present: np.ndarray, edges: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per bin the reviewed positives and negatives."""
    bins = bin_of(reviewed_scores, edges)
    n_bins = len(edges) - 1
    positives = np.bincount(bins, weights=present, minlength=n_bins)
    negatives = np.bincount(bins, weights=1 - np.asarray(present, float), minlength=n_bins)
    return positives, negatives


@dataclass(frozen=True)
class WindowSites:
    """Each archive window's site, as an index into the sorted site `names`: found once per
    archive and shared by every species, so a site's windows are counted in one pass."""

    index: np.ndarray
    names: list[str]

    @classmethod
    def of(cls, sites) -> WindowSites:
        """From each window's site name."""
        names, index = np.unique(np.asarray(sites).astype(str), return_inverse=True)
        return cls(index, names.tolist())

    @classmethod
    def of_recordings(cls, recording_ids: pd.Series, site_of: dict[str, str]) -> WindowSites:
        """From each window's recording id (a category: its few names mapped, not every row)."""
        ids = recording_ids.astype("category")
        names, by_category = np.unique(
            np.array([str(site_of[c]) for c in ids.cat.categories]), return_inverse=True
        )
        return cls(by_category[ids.cat.codes.to_numpy()], names.tolist())


def species_call_density(
    code: str, scores: np.ndarray, sites: WindowSites, edges: np.ndarray,
    reviewed: pd.DataFrame, level: float = 0.9, draws: int = 4000, seed: int = 0,
) -> pd.DataFrame:  # fmt: skip
    """One species' call density over the whole archive (site "all") and at each site, with
    the `level` interval. `scores`/`sites`: every archive window's score and site; `reviewed`:
    the stratified draw's decisions (score, present)."""
    positives, negatives = bin_rates(
        reviewed["score"].to_numpy(float), reviewed["present"].to_numpy(float), edges
    )
    decided = positives + negatives
    rate = np.divide(positives, decided, out=np.full(len(decided), np.nan), where=decided > 0)
    rng = np.random.default_rng(seed)
    sampled = rng.beta(positives + BETA_PRIOR, negatives + BETA_PRIOR, size=(draws, len(rate)))
    n_bins = len(rate)
    cells = sites.index * n_bins + bin_of(scores, edges)
    by_site = np.bincount(cells, minlength=len(sites.names) * n_bins).reshape(-1, n_bins)
    tail = (1 - level) / 2
    rows = []
    for site, counts in [("all", by_site.sum(axis=0)), *zip(sites.names, by_site, strict=True)]:
        share = counts / counts.sum() if counts.sum() else counts * 0.0
        missing = (counts > 0) & (decided == 0)
        row = {"species": code, "site": site, "windows": int(counts.sum()),
               "reviewed": int(decided.sum()), "note": ""}  # fmt: skip
        if counts.sum() == 0 or missing.any():
            row.update(density=np.nan, density_low=np.nan, density_high=np.nan,
                       note=("no window" if counts.sum() == 0 else
                             f"bins {np.flatnonzero(missing).tolist()} hold windows here but "
                             "no review"))  # fmt: skip
        else:
            used = counts > 0
            values = sampled[:, used] @ share[used]
            row.update(density=float(share[used] @ rate[used]),
                       density_low=float(np.quantile(values, tail)),
                       density_high=float(np.quantile(values, 1 - tail)))  # fmt: skip
        rows.append(row)
    return pd.DataFrame(rows, columns=DENSITY_COLUMNS)
