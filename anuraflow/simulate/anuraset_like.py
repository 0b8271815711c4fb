"""The `anuraset` synthetic profile: a plan whose statistics are AnuraSet's published ones.

Seed 000 (AnuraSet) reports 4 frequent / 8 common / 30 rare species under Mix2's 10k / 5k
window thresholds, 33,913 of 93,378 windows with no species (36 %), polyphony from 1 to 9 with
most windows at 0-2, and six species found in only one subset of the official split (which is
what AnuraSet-36N drops). This module plans recordings to match: each species gets a window
target from its tier, reached by bouts placed in recordings drawn in proportion to a per-recording
chorus richness (a few recordings hold many species, most hold one to three). A share of the
recordings is silent, calibrated so that the empty share lands on the target. The split is
part of the plan: the workflow pins it through `split.file`, standing in for the official one.
Everything is metadata (no audio): `dataset_windows` segments the planned labels exactly as
the workflow will.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from anuraflow.data.windows import window_labels, window_starts
from anuraflow.simulate.calls import planned_labels
from anuraflow.simulate.plan import PlannedRecording, SyntheticSpec, species_voices

TIERS = ("frequent", "common", "rare")
# window targets per tier for AnuraSet's 1,612 recordings (scaled with the recordings):
# (largest, smallest), spread geometrically over the tier's species; inside Mix2's thresholds
# with a margin (frequent > 10,000; common 5,000-10,000; rare < 5,000)
ANURASET_RECORDINGS = 1612
TARGETS = {"frequent": (16000, 11500), "common": (9300, 5800), "rare": (4300, 36)}
BOUT_S = {"frequent": (20.0, 58.0), "common": (12.0, 45.0), "rare": (4.0, 25.0)}  # bout length
MAX_SPECIES = 9  # per recording: AnuraSet's polyphony tops out at 9
RICHNESS_SHAPE = 1.5  # Gamma shape of a recording's chorus richness (small: a long tail)
TEST_SHARE = 1 / 3  # the official split: 2/3 train, 1/3 test by recording


def tier_per_species(codes: list[str], tiers: dict[str, list[str]]) -> dict[str, str]:
    """Tier per code: the listed frequent and common ones; every other species is rare."""
    unknown = sorted((set(tiers.get("frequent", [])) | set(tiers.get("common", []))) - set(codes))
    if unknown:
        raise ValueError(f"synthetic.anuraset.tiers names unknown species: {', '.join(unknown)}")
    return {
        c: "frequent"
        if c in tiers.get("frequent", [])
        else "common"
        if c in tiers.get("common", [])
        else "rare"
        for c in codes
    }


def window_targets(tier_of: dict[str, str], n_recordings: int) -> dict[str, int]:
    """Each species' target window count: its tier's range, geometric in listing order,
    scaled from AnuraSet's 1,612 recordings to `n_recordings`."""
    targets, scale = {}, n_recordings / ANURASET_RECORDINGS
    for tier in TIERS:
        members = [c for c, t in tier_of.items() if t == tier]
        high, low = (max(v * scale, 3.0) for v in TARGETS[tier])
        spread = np.geomspace(high, low, len(members)) if len(members) > 1 else [high]
        spread = spread[: len(members)]  # a tier may have no species
        targets.update({c: int(round(v)) for c, v in zip(members, spread, strict=True)})
    return targets


def official_split(plans: list[PlannedRecording], seed: int) -> dict[str, str]:
    """train / test per recording, 1/3 test within each site (the stand-in official split)."""
    rng = np.random.default_rng([seed, 6])
    subset = {}
    for site in sorted({p.site for p in plans}):
        ids = [p.recording_id for p in plans if p.site == site]
        order = rng.permutation(len(ids))
        n_test = int(round(TEST_SHARE * len(ids)))
        for rank, i in enumerate(order):
            subset[ids[i]] = "test" if rank < n_test else "train"
    return subset


def place_bouts(
    plans: list[PlannedRecording],
    tier_of: dict[str, str],
    split: dict[str, str],
    single_subset: list[str],
    n_silent: int,
    spec: SyntheticSpec,
) -> list[list[tuple[str, float, float]]]:
    """Bouts per recording until every species reaches its window target."""
    rng = np.random.default_rng([spec.seed, 5])
    n, duration = len(plans), spec.duration_s
    starts = window_starts(duration, 3.0, 1.0)
    silent = np.zeros(n, bool)
    silent[rng.permutation(n)[:n_silent]] = True
    richness = rng.gamma(RICHNESS_SHAPE, size=n)
    in_test = np.array([split[p.recording_id] == "test" for p in plans])
    bouts: list[list[tuple[str, float, float]]] = [[] for _ in range(n)]
    holds = np.zeros((n, len(tier_of)), bool)
    targets = window_targets(tier_of, n)
    for j, code in enumerate(sorted(tier_of, key=lambda c: -targets[c])):
        single = code in single_subset
        # the six single-subset species alternate: train only, test only
        only = (single_subset.index(code) % 2 == 1) if single else None
        reached = 0
        while reached < targets[code] or not (single or holds[in_test, j].any()):
            ok = ~silent & ~holds[:, j] & (holds.sum(1) < MAX_SPECIES)
            if only is not None:
                ok &= in_test == only
            elif not holds[:, j].any() or not (holds[:, j] & in_test).any():
                # the first bout in train, the next in test: every other species is in both
                ok &= in_test == holds[:, j].any()
            if not ok.any():
                raise ValueError(
                    f"no recording left for {code}: lower its target or add recordings"
                )
            p = np.where(ok, richness, 0.0)
            r = int(rng.choice(n, p=p / p.sum()))
            length = min(rng.uniform(*BOUT_S[tier_of[code]]), duration)
            start = rng.uniform(0.0, duration - length)
            bouts[r].append((code, round(start, 3), round(start + length, 3)))
            holds[r, j] = True
            reached += int(np.sum((starts < start + length) & (starts + 3.0 > start)))
    return bouts


def recording_window_labels(
    plan: PlannedRecording, voices: dict, codes: list[str], spec: SyntheticSpec
) -> np.ndarray:
    """[windows, species] 0/1 of one recording's planned labels, by the workflow's own
    `window_labels` (3 s windows, 1 s hop, overlap rule)."""
    labels = planned_labels(plan, voices, spec.duration_s, spec.seed, tuple(spec.snr_db))
    calls = pd.DataFrame(labels, columns=["start_s", "end_s", "label"])
    calls["species"] = calls["label"].str.rsplit("_", n=1).str[0]
    return window_labels(window_starts(spec.duration_s, 3.0, 1.0), 3.0, calls, codes)


def label_coverage(
    plans: list[PlannedRecording],
    bouts: list[list[tuple[str, float, float]]],
    codes: list[str],
    spec: SyntheticSpec,
) -> tuple[float, float]:
    """(share of all windows without a labelled call, the same share among the recordings
    that have bouts). Gaps between calls leave some windows of a bout empty, so bouts alone
    overstate coverage: this reads the planned labels."""
    voices = {v.code: v for v in species_voices(codes, spec.seed)}
    per_recording = len(window_starts(spec.duration_s, 3.0, 1.0))
    empty_active = n_active = 0
    for p, rec_bouts in zip(plans, bouts, strict=True):
        if rec_bouts:
            labels = recording_window_labels(
                replace(p, bouts=tuple(rec_bouts)), voices, codes, spec
            )
            empty_active += int((labels.sum(1) == 0).sum())
            n_active += 1
    total = len(plans) * per_recording
    empty = empty_active + (len(plans) - n_active) * per_recording
    return empty / max(total, 1), empty_active / max(n_active * per_recording, 1)


def plan_anuraset_like(
    codes: list[str],
    spec: SyntheticSpec,
    tiers: dict[str, list[str]] | None = None,
    single_subset: list[str] = (),
    empty_share: float = 0.36,
) -> tuple[list[PlannedRecording], dict[str, str]]:
    """The recordings (names, sites and formats as the uniform profile's; species and bouts
    from AnuraSet's statistics) and their pinned train / test split."""
    single_subset = list(single_subset)
    missing = sorted(set(single_subset) - set(codes))
    if missing:
        raise ValueError(f"synthetic.anuraset.single_subset: unknown species {', '.join(missing)}")
    base = spec.recordings(codes)
    tier_of = tier_per_species(codes, tiers or {})
    split = official_split(base, spec.seed)
    n = len(base)
    n_silent, tries = 0, []
    for _ in range(3):  # calibrate the silent recordings to the empty share, on the labels
        bouts = place_bouts(base, tier_of, split, single_subset, n_silent, spec)
        empty, empty_active = label_coverage(base, bouts, codes, spec)
        tries.append((abs(empty - empty_share), bouts))
        # silencing one more recording empties its covered windows, if it has bouts at all
        with_bouts = sum(1 for b in bouts if b) / max(n - n_silent, 1)
        gain = max((1.0 - empty_active) * with_bouts, 1e-9)
        n_silent = int(np.clip(n_silent + round((empty_share - empty) * n / gain), 0, n - 1))
    bouts = min(tries, key=lambda t: t[0])[1]  # the placement closest to the target
    plans = [
        replace(
            p,
            species=tuple(c for c in codes if any(b[0] == c for b in rec_bouts)),
            bouts=tuple(sorted(rec_bouts, key=lambda b: (b[1], b[0]))),
        )
        for p, rec_bouts in zip(base, bouts, strict=True)
    ]
    return plans, split


def dataset_windows(
    plans: list[PlannedRecording], codes: list[str], spec: SyntheticSpec
) -> pd.DataFrame:
    """recording_id and one 0/1 column per species for every window the workflow's segment
    stage makes of these recordings (3 s, 1 s hop, overlap rule; `window_labels` itself),
    from the planned labels alone."""
    voices = {v.code: v for v in species_voices(codes, spec.seed)}
    blocks = [recording_window_labels(p, voices, codes, spec) for p in plans]
    table = pd.DataFrame(np.concatenate(blocks), columns=codes)
    per_recording = len(window_starts(spec.duration_s, 3.0, 1.0))
    table.insert(0, "recording_id", np.repeat([p.recording_id for p in plans], per_recording))
    return table


def write_split(split: dict[str, str], path: str | Path) -> None:
    """The pinned split as `split.file` reads it: recording_id, subset (sorted by id)."""
    table = pd.DataFrame(sorted(split.items()), columns=["recording_id", "subset"])
    table.to_csv(path, sep="\t", index=False)


def main() -> None:
    """Write the split a config's anuraset profile plans, for its `split.file`:
    python -m anuraflow.simulate.anuraset_like CONFIG OUT.tsv"""
    import sys

    import yaml

    config = yaml.safe_load(Path(sys.argv[1]).read_text())
    codes = [s["code"] for s in config["species"]]
    spec = SyntheticSpec(**config["synthetic"])
    write_split(plan_anuraset_like(codes, spec, **(spec.anuraset or {}))[1], sys.argv[2])


if __name__ == "__main__":
    main()
