"""The validation benchmark (benchmarks/science/validate_loop.py): one case's bookkeeping checked
against the archive it simulated, the committed JSONs' summaries recomputed from their own
cases, and every number the docs quote (detection.md's table and prose, methods.md's row, the
schema's descriptions) equal to its JSON."""

import json

import numpy as np
import pandas as pd
import pytest
from workflow_helpers import REPO

from benchmarks.science.validate_loop import SPECIES, TARGET, one_case, simulate_site, summarise

RESULTS = REPO / "benchmarks" / "results" / "validate_loop"  # the runs of one machine
RUNS = ["amd-epyc-bf16.json", "amd-epyc-bf16_uniform.json", "amd-epyc-bf16_level80.json"]


def load(name: str) -> dict:
    return json.loads((RESULTS / name).read_text())


@pytest.mark.parametrize("name", ["shifted", "noisy_nights"])
def test_a_case_reports_the_truth_of_the_archive_it_simulated(name):
    rng = np.random.default_rng([20, list(SPECIES).index(name)])
    simulate_site(rng, name, noise=False)  # the training site, drawn first
    archive = simulate_site(rng, name, noise=True)
    case = one_case(20, name, bins=6, per_bin=20, n_boot=50, spacing="top")
    detected = archive[archive["score"] >= case["tuned_threshold"]]
    assert case["detections"] == len(detected)
    assert case["true_precision"] == pytest.approx(detected["present"].mean())
    assert case["true_detections"] == detected["present"].sum()
    assert case["reviewed"] <= 6 * 20
    low, high = case["precision_interval"]
    assert low <= case["estimated_precision"] <= high
    assert case["precision_covered"] == (low <= case["true_precision"] <= high)
    assert 0 < case["true_precision"] < 1 and len(archive) == 150 * 60
    for rule in ("estimate_rule", "lower_bound_rule"):
        chosen = case[rule]
        if chosen["threshold"] is None:
            continue
        truth = archive.loc[archive["score"] >= chosen["threshold"], "present"].mean()
        assert chosen["true_precision"] == pytest.approx(truth)
        assert chosen["below_target"] == (truth < TARGET)
        low, high = chosen["interval"]
        assert chosen["covered"] == (low <= truth <= high)
        if rule == "lower_bound_rule":
            assert low >= TARGET  # the rule's own condition
    # the merged selections' truth, by a plain walk over each recording's windows: a window
    # at or above the threshold starting after the reach of the run so far starts a new one
    used = case["lower_bound_rule"]["threshold"] or case["tuned_threshold"]
    runs = []
    for _, windows in archive[archive["score"] >= used].groupby("recording_id"):
        reach = -1.0
        for start, present in zip(windows["start_s"], windows["present"], strict=True):
            if start > reach:
                runs.append(False)
            runs[-1] |= bool(present)
            reach = max(reach, start + 3)
    assert case["selections"] == len(runs)
    assert case["selection_precision_true"] == pytest.approx(np.mean(runs))
    if name == "noisy_nights":  # the noise sits in a tenth of the recordings, not everywhere
        fooled = archive[(archive["present"] == 0) & (archive["score"] > 0.6)]
        per_recording = fooled.groupby("recording_id").size()
        assert per_recording.sum() > 0 and per_recording.nlargest(15).sum() > 0.8 * len(fooled)


@pytest.mark.parametrize("name", RUNS)
def test_the_committed_summary_is_its_cases(name):
    result = load(name)
    assert summarise(result["cases"]) == result["summary"]
    cases = pd.DataFrame(result["cases"])
    assert len(cases) == result["settings"]["seeds"] * len(SPECIES) >= 20 * len(SPECIES)
    # out of sample: the seeds that chose the defaults (0-19) are not among these
    assert cases["seed"].min() == result["settings"]["first_seed"] == 20
    assert result["settings"]["tuning_seeds"].startswith("0-19")
    coverage = cases["wider_covered"].dropna().astype(bool).mean()  # by hand, not summarise
    assert result["summary"]["all"]["wider_coverage"] == pytest.approx(coverage)
    for _, row in cases.iterrows():
        low, high = row["precision_interval"]
        if low is not None and high is not None:  # none where no review lies above
            assert row["precision_covered"] == (low <= row["true_precision"] <= high)
        for rule in ("estimate_rule", "lower_bound_rule"):
            chosen = row[rule]
            if chosen["threshold"] is not None:
                assert chosen["below_target"] == (chosen["true_precision"] < TARGET)
    lower = [r["lower_bound_rule"] for r in result["cases"] if r["lower_bound_rule"]["threshold"]]
    assert result["summary"]["all"]["lower_bound_rule"]["below_target"] == sum(
        c["true_precision"] < TARGET for c in lower
    )
    # the harder archive is what it says: a species near 0.1, one with under 30 detections
    summary = result["summary"]
    assert summary["swamped"]["true_precision_mean"] < 0.2
    assert summary["scarce"]["detections_mean"] < 30


def pct(value: float) -> str:
    return f"{100 * value:.0f} %"


def table_row(page: str, name: str) -> list[str]:
    row = next(line for line in page.splitlines() if line.startswith(f"| {name} "))
    return [c.strip() for c in row.strip("|").split("|")]


def test_detection_md_quotes_the_committed_runs():
    """docs/detection.md's table and sentences: each number as the JSON has it, rounded."""
    page = (REPO / "docs" / "detection.md").read_text()
    words = " ".join(page.split())  # the sentences, whatever their line breaks
    top = load("amd-epyc-bf16.json")["summary"]
    flat = load("amd-epyc-bf16_uniform.json")["summary"]
    loose = load("amd-epyc-bf16_level80.json")["summary"]
    for name in SPECIES:
        s = top[name]
        cells = table_row(page, name)
        est, low = s["estimate_rule"], s["lower_bound_rule"]
        assert cells[1] == f"{s['detections_mean']:.0f} ({s['detections_min']})"
        assert cells[2] == f"{s['true_precision_mean']:.3f}"
        assert cells[3] == f"{s['estimated_precision_mean']:.3f}"
        assert cells[4:8] == [pct(s["precision_coverage"]), pct(s["beta_coverage"]),
                              pct(s["wider_coverage"]), f"{s['wider_width_mean']:.2f}"]  # fmt: skip
        assert cells[8] == f"{est['below_target']} of {est['found']}"
        assert cells[9] == f"{low['below_target']} of {low['found']}"
    every = top["all"]
    est, low = every["estimate_rule"], every["lower_bound_rule"]
    cover = pct(every["wider_coverage"])
    assert f"holds the truth in {cover} of the {every['cases']} cases" in words
    worst = min(top, key=lambda n: top[n]["wider_coverage"])
    assert f"in no species under {pct(top[worst]['wider_coverage'])} (`{worst}`" in words
    assert (f"found a threshold in {est['found']} of {every['cases']} cases, and the true "
            f"precision there was below 0.9 in {est['below_target']} of them "
            f"({100 * est['below_target_share']:.1f} %; lowest {est['true_precision_min']:.2f})"
            ) in words  # fmt: skip
    assert (f"found one in {low['found']} and was below 0.9 in {low['below_target']} of them "
            f"(lowest true precision {low['true_precision_min']:.3f}, mean "
            f"{low['true_precision_mean']:.3f})") in words  # fmt: skip
    assert f"the other {every['cases'] - low['found']} cases" in words
    lo80 = loose["all"]["lower_bound_rule"]
    assert (f"found a threshold in {lo80['found']} cases and was below 0.9 in "
            f"{lo80['below_target']}") in words
    met = pct(every["target_met"])
    assert f"the lower bound reached 0.9 at the threshold used in {met}" in words
    uf = flat["all"]
    assert (f"With bins of equal size (`uniform`) the wider interval holds the truth in "
            f"{pct(uf['wider_coverage'])}") in words
    ul = uf["lower_bound_rule"]
    assert f"`lower_bound` finds {ul['found']} thresholds, {ul['below_target']} below 0.9" in words
    assert (f"moved the estimate at the tuned threshold by {every['with_picks_bias_mean']:+.3f} "
            f"on average with `top` bins and {uf['with_picks_bias_mean']:+.3f} with `uniform` "
            "ones") in words
    assert f"(`scarce`: {flat['scarce']['with_picks_bias_mean']:+.3f})" in words
    assert f"({100 * every['naive_coverage']:.1f} %)" in words
    assert (f"averaged {every['selection_precision_estimate_mean']:.3f} over the {every['cases']} "
            f"cases against a true {every['selection_precision_true_mean']:.3f}") in words
    at_most = 100 * every["selection_estimate_at_most_truth"]
    assert f"(at or below the truth in {at_most:.0f} % of the cases)" in words
    swamped = top["swamped"]
    assert (f"(`swamped`: {swamped['selection_precision_estimate_mean']:.3f} against "
            f"{swamped['selection_precision_true_mean']:.3f})") in words
    assert f"about {round(load('amd-epyc-bf16.json')['seconds'], -1):.0f} s each" in words


def test_the_methods_deviation_row_quotes_the_same_runs():
    row = next(
        line
        for line in (REPO / "docs" / "methods.md").read_text().splitlines()
        if line.startswith("| Score strata of a reviewed sample")
    )
    top, flat = load("amd-epyc-bf16.json"), load("amd-epyc-bf16_uniform.json")
    reviewed = [flat["summary"][n]["reviewed_at_threshold_mean"] for n in SPECIES]
    cases = top["summary"]["all"]["cases"]
    assert f"only {min(reviewed):.1f} to {max(reviewed):.1f} of 200 reviews" in row
    assert f"in {pct(flat['summary']['all']['precision_coverage'])} of {cases}" in row
    assert f"{pct(top['summary']['all']['precision_coverage'])} with `top` bins" in row
    assert f"the wider of the two held it in {pct(top['summary']['all']['wider_coverage'])}" in row
    assert "nominal 90 %" in row
    assert flat["settings"]["bins"] * flat["settings"]["per_bin"] == 200


def test_the_config_schema_quotes_the_committed_runs():
    """validate.interval's, validate.spacing's and validate.rule's descriptions (config/README.md's
    too: test_configdocs keeps it equal to the schema)."""
    import yaml

    schema = yaml.safe_load((REPO / "config/schemas/config.schema.yaml").read_text())
    keys = schema["properties"]["validate"]["properties"]
    top = load("amd-epyc-bf16.json")["summary"]
    flat = load("amd-epyc-bf16_uniform.json")["summary"]
    every = top["all"]
    interval = " ".join(keys["interval"]["description"].split())
    assert f"held the truth in {pct(every['wider_coverage'])}" in interval
    worst = min(top[name]["wider_coverage"] for name in SPECIES)
    assert f"no species under {pct(worst)}" in interval
    assert f"too narrow near precision 1: {pct(every['precision_coverage'])}" in interval
    assert f"too narrow when calls cluster: {pct(every['beta_coverage'])}" in interval
    spacing = " ".join(keys["spacing"]["description"].split())
    assert f"{pct(every['wider_coverage'])} interval coverage" in spacing
    assert f"({pct(flat['all']['wider_coverage'])}:" in spacing
    rule = " ".join(keys["rule"]["description"].split())
    low, est = every["lower_bound_rule"], every["estimate_rule"]
    assert f"below the target in {low['below_target']} of the {low['found']}" in rule
    assert f"below it in {est['below_target']} of {est['found']}" in rule


def test_every_number_of_the_measured_section_is_the_jsons():
    """docs/detection.md's validate_loop section, prose and table: each number (outside code
    spans) is one of the three JSONs' values as printed (test_doc_numbers' rule), so a rerun
    that changes one fails here until the page follows."""
    import re

    from test_doc_numbers import NUMBER, numbers, printed_forms

    page = (REPO / "docs" / "detection.md").read_text()
    start = page.index("Measured by `.venv/bin/python -m benchmarks.science.validate_loop")
    text = re.sub(r"`[^`]*`", " ", page[start : page.index("![Estimated against true precision]")])
    forms = set()
    for name in RUNS:
        for value in numbers(load(name)):
            forms |= printed_forms(value)
    missing = [n for n in NUMBER.findall(text) if n.rstrip(",") not in forms]
    assert not missing, missing
