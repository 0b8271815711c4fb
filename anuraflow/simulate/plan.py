"""The plan of a synthetic dataset, without audio: each species' voice and each recording's
name, site, format and species.

Every species gets a call shape of its own (pulse train, FM sweep, harmonic stack or trill) at
its own carrier frequency and rate. Species are long-tailed (frequent / common / rare tiers, as
in AnuraSet). Everything is a pure function of the config and its seed, cheap enough that the
workflow lists the files at DAG-build time (`SyntheticSpec.recordings`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

SHAPES = ("pulse_train", "fm_sweep", "harmonic_stack", "trill")
TIER_PREVALENCE = {"frequent": 0.55, "common": 0.3, "rare": 0.12}
DEFAULT_SITES = {"INCT17": 0.425, "INCT20955": 0.33, "INCT41": 0.135, "INCT4": 0.11}


@dataclass(frozen=True)
class Voice:
    """How one species calls."""

    code: str
    tier: str
    shape: str
    carrier_hz: float
    rate_hz: float  # pulse / modulation rate
    call_s: float
    interval_s: float  # between call onsets within a bout


@dataclass(frozen=True)
class PlannedRecording:
    recording_id: str
    site: str
    audio_name: str  # file name relative to its site folder
    label_name: str
    sample_rate: int
    channels: int
    species: tuple[str, ...] = field(default=())
    # (code, start_s, end_s) of each planned bout; empty: the bouts are drawn with the calls
    bouts: tuple[tuple[str, float, float], ...] = field(default=())
    labelled: bool = True  # False: the label file goes to truth/, out of the workflow's sight

    def label_path(self, out_dir: str | Path) -> Path:
        """Where its label file is written: beside the audio, or under truth/ (unlabelled)."""
        site_dir = (
            Path(out_dir) / self.site if self.labelled else Path(out_dir) / "truth" / self.site
        )
        return site_dir / self.label_name


def species_tiers(codes: list[str]) -> dict[str, str]:
    """First ~10 % frequent, next ~20 % common, the rest rare (AnuraSet has 4 / 8 / 30 of 42)."""
    n = len(codes)
    n_freq = max(1, round(0.1 * n))
    n_common = max(1, round(0.2 * n))
    return {
        c: "frequent" if i < n_freq else "common" if i < n_freq + n_common else "rare"
        for i, c in enumerate(codes)
    }


def species_voices(codes: list[str], seed: int) -> list[Voice]:
    """Distinct voices: shapes cycle over the species, and the species sharing a shape get
    carriers spread evenly over 600-6000 Hz (in a seeded order), so two voices of one shape
    never crowd the same band."""
    rng = np.random.default_rng([seed, 1])
    tiers = species_tiers(codes)
    shapes = [SHAPES[i % len(SHAPES)] for i in range(len(codes))]
    carriers = np.zeros(len(codes))
    for k, shape in enumerate(SHAPES):
        members = [i for i, s in enumerate(shapes) if s == shape]
        if not members:
            continue
        step = 5400.0 / len(members)
        # offset shape k by (k + 0.5) / 4 of a step so the shapes interleave
        slots = 600.0 + (np.arange(len(members)) + (k + 0.5) / len(SHAPES)) * step
        carriers[members] = slots[rng.permutation(len(members))]
    voices = []
    for i, code in enumerate(codes):
        shape = shapes[i]
        carrier = float(carriers[i])
        if shape == "harmonic_stack":
            # the fundamental, mapped into 300-1500 Hz so four harmonics stay below 8 kHz
            carrier = 300.0 + (carrier - 600.0) / 5400.0 * 1200.0
        voices.append(
            Voice(
                code=code,
                tier=tiers[code],
                shape=shape,
                carrier_hz=carrier,
                rate_hz=float(rng.uniform(12, 45)),
                call_s=float(rng.uniform(0.25, 1.2)),
                interval_s=float(rng.uniform(1.2, 3.0)),
            )
        )
    return voices


def plan_dataset(
    codes: list[str],
    n_recordings: int,
    seed: int,
    sites: dict[str, float] | None = None,
    sample_rate: int = 22050,
    format_variety: bool = True,
    min_recordings_per_species: int = 3,
    prevalence: dict[str, float] | None = None,
) -> list[PlannedRecording]:
    """Names, formats and species of each recording, without any audio.

    `prevalence` is the share of recordings in which a species of each tier sings.
    """
    sites = sites or DEFAULT_SITES
    prevalence = {**TIER_PREVALENCE, **(prevalence or {})}
    rng = np.random.default_rng([seed, 0])
    site_names = list(sites)
    probs = np.array([sites[s] for s in site_names], dtype=float)
    site_of = rng.choice(len(site_names), size=n_recordings, p=probs / probs.sum())
    presence = np.zeros((n_recordings, len(codes)), dtype=bool)
    tiers = species_tiers(codes)
    for j, code in enumerate(codes):
        k = max(min_recordings_per_species, round(prevalence[tiers[code]] * n_recordings))
        presence[rng.choice(n_recordings, size=min(k, n_recordings), replace=False), j] = True
    base = datetime(2019, 9, 4, 18, 0, 0)
    plans = []
    for i in range(n_recordings):
        site = site_names[site_of[i]]
        start = base + timedelta(days=int(i // 12), hours=int(i % 12))
        rec_id = f"{site}_{start:%Y%m%d_%H%M%S}"
        # Every 7th recording is stereo 44.1 kHz FLAC so ingest meets more than one format.
        odd = format_variety and i % 7 == 6
        plans.append(
            PlannedRecording(
                recording_id=rec_id,
                site=site,
                audio_name=f"{rec_id}.flac" if odd else f"{rec_id}.wav",
                label_name=f"{rec_id}.txt",
                sample_rate=44100 if odd else sample_rate,
                channels=2 if odd else 1,
                species=tuple(c for j, c in enumerate(codes) if presence[i, j]),
            )
        )
    return plans


@dataclass(frozen=True)
class SyntheticSpec:
    """The config's `synthetic` section: what `write_dataset` writes, as one value."""

    n_recordings: int
    seed: int
    duration_s: float = 60.0
    sites: dict[str, float] | None = None
    sample_rate: int = 22050
    snr_db: tuple[float, float] = (0.0, 20.0)
    format_variety: bool = True
    min_recordings_per_species: int = 3  # uniform profile
    prevalence: dict[str, float] | None = None  # uniform profile
    profile: str = "uniform"
    anuraset: dict | None = None  # anuraset profile: tiers, single_subset, empty_share
    unlabelled: int = 0  # the last recordings of the plan, written without a label file

    def unlabel(self, plans: list[PlannedRecording]) -> list[PlannedRecording]:
        if self.unlabelled >= len(plans):
            raise ValueError(f"synthetic.unlabelled is {self.unlabelled}, the plan has "
                             f"{len(plans)} recordings: some must keep their labels")  # fmt: skip
        cut = len(plans) - self.unlabelled
        return plans[:cut] + [replace(p, labelled=False) for p in plans[cut:]]

    def recordings(self, codes: list[str]) -> list[PlannedRecording]:
        """The recordings' names, sites and formats, cheap enough for every DAG build (the
        anuraset profile's species and bouts, which take seconds to plan, are left out)."""
        if self.profile not in ("uniform", "anuraset"):
            raise ValueError(f"synthetic profile {self.profile!r}: one of uniform, anuraset")
        uniform = self.profile == "uniform"
        plans = plan_dataset(
            codes,
            self.n_recordings,
            self.seed,
            self.sites,
            self.sample_rate,
            self.format_variety,
            self.min_recordings_per_species if uniform else 1,
            self.prevalence if uniform else None,
        )
        return self.unlabel(plans)
