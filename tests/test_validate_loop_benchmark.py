"""The validation benchmark (benchmarks/validate_loop.py): one case's bookkeeping checked against
the archive it simulated, and the committed JSON's summary recomputed from its own cases."""

import json
import sys

import numpy as np
import pandas as pd
import pytest
from workflow_helpers import REPO

sys.path.insert(0, str(REPO / "benchmarks"))
from validate_loop import SPECIES, one_case, simulate_site, summarise  # noqa: E402


def test_a_case_reports_the_truth_of_the_archive_it_simulated():
    rng = np.random.default_rng([0, list(SPECIES).index("shifted")])
    simulate_site(rng, "shifted", noise=False)  # the training site, drawn first
    archive = simulate_site(rng, "shifted", noise=True)
    case = one_case(0, "shifted", bins=6, per_bin=20, n_boot=50, spacing="top")
    detected = archive[archive["score"] >= case["tuned_threshold"]]
    assert case["detections"] == len(detected)
    assert case["true_precision"] == pytest.approx(detected["present"].mean())
    assert case["true_detections"] == detected["present"].sum()
    assert case["reviewed"] <= 6 * 20
    low, high = case["precision_interval"]
    assert low <= case["estimated_precision"] <= high
    assert case["precision_covered"] == (low <= case["true_precision"] <= high)
    assert 0 < case["true_precision"] < 1 and len(archive) == 150 * 60


@pytest.mark.parametrize("name", ["validate_loop.json", "validate_loop_uniform.json"])
def test_the_committed_summary_is_its_cases(name):
    path = REPO / "benchmarks" / "results" / name
    result = json.loads(path.read_text())
    assert summarise(result["cases"]) == result["summary"]
    cases = pd.DataFrame(result["cases"])
    assert len(cases) == result["settings"]["seeds"] * len(SPECIES) >= 20 * len(SPECIES)
    coverage = cases["precision_covered"].mean()  # by hand, independently of summarise
    assert result["summary"]["all"]["precision_coverage"] == pytest.approx(coverage)
    for _, row in cases.iterrows():
        low, high = row["precision_interval"]
        assert row["precision_covered"] == (low <= row["true_precision"] <= high)


def test_detection_md_quotes_the_committed_summary():
    """docs/detection.md's table and sentences: each number as the JSON has it, rounded."""
    page = (REPO / "docs" / "detection.md").read_text()
    top = json.loads((REPO / "benchmarks/results/validate_loop.json").read_text())["summary"]
    uniform = json.loads((REPO / "benchmarks/results/validate_loop_uniform.json").read_text())
    for name in SPECIES:
        s = top[name]
        row = next(line for line in page.splitlines() if line.startswith(f"| {name} "))
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert cells[1] == f"{s['true_precision_mean']:.3f}"
        assert cells[2] == f"{s['estimated_precision_mean']:.3f}"
        assert cells[3] == f"{100 * s['precision_coverage']:.0f} %"
        assert cells[4] == f"{100 * s['beta_coverage']:.0f} %"
        assert cells[5] == f"{100 * s['wider_coverage']:.0f} %"
        assert cells[6].startswith(f"{s['true_precision_at_chosen_mean']:.3f}")
    assert f"holds the truth in {100 * top['all']['precision_coverage']:.0f} %" in page
    words = " ".join(page.split())  # the sentences below, whatever their line breaks
    assert f"it holds the truth in {100 * top['all']['wider_coverage']:.0f} % of the cases" in words
    worst = min(top[name]["wider_coverage"] for name in SPECIES)
    assert f"in no species under {100 * worst:.0f} %" in words
    assert (
        f"the wider of the two in {100 * uniform['summary']['all']['wider_coverage']:.0f} %"
        in words
    )
    flat = uniform["summary"]["all"]
    assert f"in {100 * flat['precision_coverage']:.0f} % of the cases" in page
    assert f"(the Beta interval in {100 * flat['beta_coverage']:.0f} %:" in page
    assert f"({100 * top['all']['naive_coverage']:.1f} %)" in page
    beta_all, beta_clear = top["all"]["beta_coverage"], top["clear"]["beta_coverage"]
    assert f"there in {100 * beta_clear:.0f} %, and in {100 * beta_all:.0f} % of all" in page
    assert f"but in {100 * top['middling']['beta_coverage']:.0f} % for `middling`" in page
    found = round(top["shifted"]["threshold_found"] * 20)
    assert f"found in {found} of 20" in page


def test_the_methods_deviation_row_quotes_the_same_runs():
    row = next(
        line
        for line in (REPO / "docs" / "methods.md").read_text().splitlines()
        if line.startswith("| Score strata of a reviewed sample")
    )
    top = json.loads((REPO / "benchmarks/results/validate_loop.json").read_text())["summary"]
    flat = json.loads((REPO / "benchmarks/results/validate_loop_uniform.json").read_text())
    reviewed = [flat["summary"][n]["reviewed_at_threshold_mean"] for n in SPECIES]
    assert f"only {min(reviewed):.0f} to {max(reviewed):.0f} of 200 reviews" in row
    assert f"in {100 * flat['summary']['all']['precision_coverage']:.0f} % of 80" in row
    assert f"{100 * top['all']['precision_coverage']:.0f} % with `top` bins" in row
    assert f"the wider of the two held it in {100 * top['all']['wider_coverage']:.0f} %" in row
    assert flat["settings"]["bins"] * flat["settings"]["per_bin"] == 200


def test_the_config_schema_quotes_the_committed_coverages():
    """validate.interval's and validate.spacing's descriptions (config/README.md's too)."""
    import yaml

    schema = yaml.safe_load((REPO / "config/schemas/config.schema.yaml").read_text())
    keys = schema["properties"]["validate"]["properties"]
    top = json.loads((REPO / "benchmarks/results/validate_loop.json").read_text())["summary"]
    flat = json.loads((REPO / "benchmarks/results/validate_loop_uniform.json").read_text())
    interval = " ".join(keys["interval"]["description"].split())
    every = top["all"]
    assert f"held the truth in {100 * every['wider_coverage']:.0f} %" in interval
    worst = min(top[name]["wider_coverage"] for name in SPECIES)
    assert f"no species under {100 * worst:.0f} %" in interval
    assert f"too narrow near precision 1: {100 * every['precision_coverage']:.0f} %" in interval
    assert f"too narrow when calls cluster: {100 * every['beta_coverage']:.0f} %" in interval
    spacing = " ".join(keys["spacing"]["description"].split())
    assert f"{100 * every['precision_coverage']:.0f} % interval coverage" in spacing
    assert f"({100 * flat['summary']['all']['precision_coverage']:.0f} %:" in spacing
