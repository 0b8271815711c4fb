"""benchmarks/results/new_season_training/intel-xeon.json: its summary recomputed from its
seeds (the paired test against scipy's exact Wilcoxon), and docs/detection.md quoting it."""

import json
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import wilcoxon

REPO = Path(__file__).resolve().parent.parent
RESULT = json.loads((REPO / "benchmarks/results/new_season_training/intel-xeon.json").read_text())


def test_the_summary_is_the_seeds_summarised():
    seeds, summary = RESULT["seeds"], RESULT["summary"]
    before = [s["new_site_before"]["macro_ap"] for s in seeds]
    after = [s["new_site_after"]["macro_ap"] for s in seeds]
    assert summary["new_site_macro_ap_before_mean"] == pytest.approx(np.mean(before))
    assert summary["new_site_macro_ap_after_mean"] == pytest.approx(np.mean(after))
    assert summary["gain_mean"] == pytest.approx(np.mean(after) - np.mean(before))
    assert summary["seeds_improved"] == sum(a > b for a, b in zip(after, before, strict=True))
    assert summary["wilcoxon"]["p"] == pytest.approx(wilcoxon(after, before, method="exact").pvalue)
    for s in seeds:  # each seed's macro AP: the mean of its species' APs
        for side in ("new_site_before", "new_site_after"):
            aps = [v for v in s[side]["per_species"].values() if v is not None]
            assert s[side]["macro_ap"] == pytest.approx(np.mean(aps))
    old = [s["old_site_test_map_after"] for s in seeds]
    assert summary["old_site_map_after_mean"] == pytest.approx(np.mean(old))


def test_detection_md_quotes_it():
    words = " ".join((REPO / "docs/detection.md").read_text().split())
    s = RESULT["summary"]
    assert (
        f"the macro AP is {s['new_site_macro_ap_before_mean']:.3f} before and "
        f"{s['new_site_macro_ap_after_mean']:.3f} after" in words
    )
    assert (
        f"(+{s['gain_mean']:.3f}, higher in {s['seeds_improved']} of {len(RESULT['seeds'])}"
        in words
    )
    assert f"p = {s['wilcoxon']['p']:.3f}" in words
    gains = [
        x["new_site_after"]["macro_ap"] - x["new_site_before"]["macro_ap"] for x in RESULT["seeds"]
    ]
    assert f"by {min(gains):.3f} to {max(gains):.3f}" in words
    old = [x["old_site_test_map_after"] - x["old_site_test_map_before"] for x in RESULT["seeds"]]
    assert f"({min(old):+.3f} to {max(old):+.3f} by seed)" in words
    assert (
        f"from {s['old_site_map_before_mean']:.3f} to {s['old_site_map_after_mean']:.3f}" in words
    )
    reviews = {seed["reviewed_windows"] for seed in RESULT["seeds"]}
    assert reviews == {240} and "240 reviews" in words
    assert f"{round(RESULT['seconds'] / 60)} min" in words


def test_detection_md_quotes_the_scale_benchmark():
    """The table of validate's jobs on 10,000 and 100,000 recordings, as the JSON has it."""
    result = json.loads((REPO / "benchmarks/results/validate_scale/intel-xeon.json").read_text())
    page = (REPO / "docs/detection.md").read_text()
    for row in result["rows"]:
        line = next(x for x in page.splitlines() if x.startswith(f"| {row['recordings']:,} ("))
        cells = [c.strip() for c in line.strip("|").split("|")]
        assert cells[0] == f"{row['recordings']:,} ({row['windows']:,})"
        for cell, job in zip(cells[1:], ("sample", "merge", "precision"), strict=True):
            assert cell == f"{row[job]['seconds']:.0f} s, {row[job]['peak_rss_mb'] / 1024:.1f} GiB"
