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
