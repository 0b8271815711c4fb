"""The anuraset synthetic profile reproduces AnuraSet's published statistics (seed 000 and
../shared/DESIGN.md), checked on the scale config's metadata alone (no audio)."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from anuraflow.data.audacity import parse_audacity_labels
from anuraflow.data.species import assign_groups
from anuraflow.learn.tasks import single_subset_species
from anuraflow.simulate.anuraset_like import (
    dataset_windows,
    plan_anuraset_like,
    tier_per_species,
    window_targets,
)
from anuraflow.simulate.calls import planned_labels
from anuraflow.simulate.plan import DEFAULT_SITES, SyntheticSpec, species_voices
from anuraflow.simulate.writer import write_dataset

REPO = Path(__file__).resolve().parents[1]
SCALE = REPO / "config/synthetic-anuraset-scale.yaml"
SIX = ["SCIFUS", "LEPELE", "RHISCI", "SCINAS", "LEPFLA", "SCIRIZ"]


@pytest.fixture(scope="module")
def scale():
    config = yaml.safe_load(SCALE.read_text())
    codes = [s["code"] for s in config["species"]]
    spec = SyntheticSpec(**config["synthetic"])
    plans, split = plan_anuraset_like(codes, spec, **spec.anuraset)
    windows = dataset_windows(plans, codes, spec)
    return config, codes, plans, split, windows


def test_groups_are_anurasets_4_8_30_with_rare_species_of_a_few_dozen_windows(scale):
    config, codes, _, _, windows = scale
    counts = windows[codes].sum()
    table = pd.DataFrame({"code": codes, "group": "auto"})
    groups = assign_groups(table, counts.to_dict(), config["frequency_groups"])
    assert [sum(g == k for g in groups.values()) for k in ("frequent", "common", "rare")] == [
        4,
        8,
        30,
    ]
    tiers = config["synthetic"]["anuraset"]["tiers"]
    assert {c for c, g in groups.items() if g == "frequent"} == set(tiers["frequent"])
    assert {c for c, g in groups.items() if g == "common"} == set(tiers["common"])
    assert counts.min() < 100 and (counts > 0).all()  # down to a few dozen windows
    assert len(windows) == 1612 * 58  # 93,496: AnuraSet's 93,378 less its few short files


def test_empty_share_and_polyphony_are_anurasets(scale):
    _, codes, plans, _, windows = scale
    polyphony = windows[codes].sum(axis=1).to_numpy()
    assert abs((polyphony == 0).mean() - 0.36) <= 0.03  # 33,913 / 93,378 = 36.3 %
    assert 8 <= polyphony.max() <= 9  # seed 000, Figure 3: 1 to 9
    assert (polyphony <= 2).mean() > 0.6  # most windows at 0-2
    assert np.bincount(polyphony)[1] > np.bincount(polyphony)[3]  # falling after 1
    # silence comes from whole silent recordings and from gaps inside choruses alike
    silent = sum(not p.bouts for p in plans)
    assert 0.05 < silent / len(plans) < (polyphony == 0).mean()


def test_sites_keep_anurasets_shares(scale):
    _, _, plans, _, _ = scale
    shares = pd.Series([p.site for p in plans]).value_counts(normalize=True)
    for site, share in DEFAULT_SITES.items():
        assert abs(shares[site] - share) < 0.03


def test_the_pinned_split_makes_exactly_six_single_subset_species(scale):
    config, codes, _, split, windows = scale
    pinned = pd.read_csv(REPO / config["split"]["file"], sep="\t")
    assert dict(zip(pinned["recording_id"], pinned["subset"], strict=True)) == split
    assert abs((pinned["subset"] == "test").mean() - 1 / 3) < 0.01  # 2/3 train, 1/3 test
    windows = windows.assign(subset=windows["recording_id"].map(split))
    assert single_subset_species(windows, codes) == SIX  # what AnuraSet-36N drops
    in_test = windows.loc[windows["subset"] == "test", SIX].any()
    assert in_test.tolist() == [False, True] * 3  # alternately train only, test only


def test_window_targets_spread_each_tier_and_scale_with_recordings():
    tiers = tier_per_species(["A", "B", "C", "D"], {"frequent": ["A"], "common": ["B"]})
    assert tiers == {"A": "frequent", "B": "common", "C": "rare", "D": "rare"}
    assert window_targets(tiers, 1612) == {"A": 16000, "B": 9300, "C": 4300, "D": 36}
    half = window_targets(tiers, 806)
    assert half == {"A": 8000, "B": 4650, "C": 2150, "D": 18}
    assert window_targets({"Z": "rare"}, 1612) == {"Z": 4300}  # a tier of one species
    assert window_targets({"Z": "rare"}, 10)["Z"] >= 3  # never below a few windows
    with pytest.raises(ValueError, match="unknown species: X"):
        tier_per_species(["A"], {"frequent": ["X"]})


def test_written_labels_are_the_planned_labels(tmp_path):
    """What the metadata test reads is what synthesis writes, file for file."""
    codes = ["SPHSUR", "BOABIS", "BOAFAB", "LEPPOD", "PITAZU", "SCIFUS"]
    spec = dict(
        profile="anuraset",
        anuraset={"tiers": {"frequent": ["SPHSUR"]}, "single_subset": ["SCIFUS"]},
        duration_s=20,
        sample_rate=8000,
    )
    plans = write_dataset(tmp_path, codes, 20, seed=4, progress=False, threads=2, **spec)
    voices = {v.code: v for v in species_voices(codes, 4)}
    assert any(p.bouts for p in plans) and any(not p.bouts for p in plans)
    for p in plans:
        written = parse_audacity_labels(tmp_path / p.site / p.label_name, p.recording_id)
        planned = planned_labels(p, voices, 20, 4)
        assert [(s, e) for s, e, _ in planned] == pytest.approx(
            list(zip(written["start_s"], written["end_s"], strict=True))
        )
        assert {lab.rsplit("_", 1)[0] for *_, lab in planned} <= set(p.species)
