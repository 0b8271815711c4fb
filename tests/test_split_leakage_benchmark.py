"""The split-leakage benchmark (benchmarks/science/split_leakage.py): its season as described, its
committed summary recomputed from its seeds, and docs/methods.md's table and sentences equal
to the JSON."""

import argparse
import json

import numpy as np
import pytest
from workflow_helpers import REPO

from benchmarks.science.split_leakage import EFFECTS, simulate_season, split_two_ways, summarise

RESULT_PATH = REPO / "benchmarks/results/split_leakage/amd-epyc-bf16.json"
RESULT = json.loads(RESULT_PATH.read_text())


def test_the_season_has_a_night_per_site_and_minutes_within_it():
    args = argparse.Namespace(sites=2, nights=3, minutes=4, windows=5, individual=1.0,
                              background=1.0)  # fmt: skip
    recordings, x, y = simulate_season(np.random.default_rng(0), args)
    assert len(recordings) == 2 * 3 * 4 and x.shape == (2 * 3 * 4 * 5, 32) == (len(y), 32)
    per_window = np.repeat(recordings["recording_id"].to_numpy(), 5)
    y_rec = np.array([y[per_window == r].max(axis=0) for r in recordings["recording_id"]])
    ways = split_two_ways(recordings, y_rec, seed=0)
    nights = (recordings["start"] - np.timedelta64(12, "h")).dt.date.astype(str)
    key = recordings["site"] + " " + nights
    grouped = dict(zip(recordings["recording_id"], key, strict=True))
    by_night = {}
    for rid, subset in ways["site_night"].items():
        by_night.setdefault(grouped[rid], set()).add(subset)
    assert all(len(s) == 1 for s in by_night.values())  # a night in one subset
    assert set(ways["recording"]) == set(ways["site_night"]) == set(recordings["recording_id"])


@pytest.mark.parametrize("case", list(EFFECTS))
def test_the_committed_summary_is_its_seeds(case):
    entry = RESULT["cases"][case]
    assert summarise(entry["seeds"]) == entry["summary"]
    assert len(entry["seeds"]) == RESULT["settings"]["seeds"] >= 10
    assert (entry["individual"], entry["background"]) == EFFECTS[case]
    # by hand: the optimism of the by-recording split in macro F1
    gaps = [s["recording"]["test_macro_f1"] - s["recording"]["fresh_macro_f1"]
            for s in entry["seeds"]]  # fmt: skip
    assert entry["summary"]["macro_f1"]["recording"]["optimism_mean"] == pytest.approx(
        np.mean(gaps))
    # the grouped split never shares a night between test and training
    assert all(s["site_night"]["nights_in_test_and_training"] == 0 for s in entry["seeds"])


def test_methods_md_quotes_the_json():
    page = (REPO / "docs/methods.md").read_text()
    words = " ".join(page.split())
    for case in EFFECTS:
        summary = RESULT["cases"][case]["summary"]
        for how in ("recording", "site_night"):
            f1, ap = summary["macro_f1"][how], summary["macro_ap"][how]
            row = (f"| {case} | {how.replace('_', '-')} | {f1['test_mean']:.3f} | "
                   f"{f1['fresh_mean']:.3f} | {f1['optimism_mean']:+.3f} ± "
                   f"{f1['optimism_sd']:.3f} | {ap['test_mean']:.3f} | {ap['fresh_mean']:.3f} | "
                   f"{ap['optimism_mean']:+.3f} ± {ap['optimism_sd']:.3f} |")  # fmt: skip
            # the spread by hand: the sample standard deviation of the seeds' optimism
            gaps = [r[how]["test_macro_f1"] - r[how]["fresh_macro_f1"]
                    for r in RESULT["cases"][case]["seeds"]]  # fmt: skip
            assert f1["optimism_sd"] == pytest.approx(np.std(gaps, ddof=1))
            assert row in page
    mild, strong = (RESULT["cases"][c]["summary"] for c in ("mild", "strong"))
    assert (f"overstates macro F1 by {mild['macro_f1']['recording']['optimism_mean']:.3f} (mild) "
            f"to {strong['macro_f1']['recording']['optimism_mean']:.3f} (strong)") in words
    wins = [s["macro_f1"]["optimism_test"]["wins"] for s in (mild, strong)]
    assert f"in {wins[0]} and {wins[1]} of 20 seeds" in words
    assert f"{RESULT_PATH.relative_to(REPO)}`, {RESULT['seconds']:.0f} s on 2 cores" in words
    spread = {how: [RESULT["cases"][c]["summary"][m][how]["optimism_sd"]
                    for c in ("mild", "strong") for m in ("macro_f1", "macro_ap")]
              for how in ("recording", "site_night")}  # fmt: skip
    assert (f"(standard deviation {min(spread['site_night']):.3f} to "
            f"{max(spread['site_night']):.3f}, against {min(spread['recording']):.3f} to "
            f"{max(spread['recording']):.3f} by recording)") in words
