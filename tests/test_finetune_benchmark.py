"""The fine-tuning benchmark (benchmarks/science/birdnet_finetune.py): its paired t-tests over
seeds equal scipy's, its seconds per epoch equal the histories', and the committed JSON's
summaries and tests recomputed from its own per-seed values."""

import json
import re
import statistics

import numpy as np
import pandas as pd
import pytest
from scipy.stats import ttest_rel
from workflow_helpers import REPO

from benchmarks.science.birdnet_finetune import FINETUNED, OTHERS, epoch_seconds, seed_tests

RESULT = REPO / "benchmarks/results/birdnet_finetune/amd-epyc-bf16.json"


def summary(f1: dict[int, float], ap: dict[int, float]) -> dict:
    return {"per_seed": [{"seed": s, "macro_f1": f1[s], "macro_ap": ap[s]} for s in f1]}


def test_seed_tests_are_scipys_paired_t_tests_over_the_common_seeds():
    mine = summary({0: 90.0, 1: 88.5, 2: 91.25, 3: 87.0}, {0: 99.0, 1: 98.0, 2: 97.5, 3: 99.5})
    other = summary({1: 86.0, 2: 90.0, 3: 88.0, 4: 70.0}, {1: 97.0, 2: 97.0, 3: 98.0, 4: 60.0})
    out = seed_tests(mine, other)
    assert "macro_f1_tuned" not in out  # neither has it
    mine["macro_f1_tuned"] = {"per_seed": {0: 94.0, 1: 93.0, 2: 95.5}}
    other["macro_f1_tuned"] = {"per_seed": {1: 92.0, 2: 96.0, 3: 90.0}}
    tuned = seed_tests(mine, other)["macro_f1_tuned"]
    assert tuned["seeds"] == [1, 2] and tuned["mean_difference"] == pytest.approx(0.25)
    assert tuned["t"] == pytest.approx(ttest_rel([93.0, 95.5], [92.0, 96.0]).statistic, abs=1e-4)
    for key, (a, b) in {"macro_f1": ([88.5, 91.25, 87.0], [86.0, 90.0, 88.0]),
                        "macro_ap": ([98.0, 97.5, 99.5], [97.0, 97.0, 98.0])}.items():  # fmt: skip
        ref = ttest_rel(a, b)
        assert out[key]["seeds"] == [1, 2, 3] and out[key]["df"] == 2
        assert out[key]["t"] == pytest.approx(ref.statistic, abs=1e-4)
        assert out[key]["p"] == pytest.approx(ref.pvalue, abs=1e-4)
        assert out[key]["mean_difference"] == pytest.approx(np.mean(a) - np.mean(b), abs=0.005)


def test_epoch_seconds_are_every_epoch_of_every_seed(tmp_path):
    for seed, seconds in ((0, [10.0, 12.0]), (1, [11.0, 9.5, 30.0])):
        run = tmp_path / "runs/x" / f"seed{seed}"
        run.mkdir(parents=True)
        pd.DataFrame({"epoch": range(1, len(seconds) + 1), "seconds": seconds}).to_csv(
            run / "history.tsv", sep="\t", index=False
        )
    assert epoch_seconds(tmp_path, "x") == {"epochs": 5, "mean_s": 14.5, "min_s": 9.5,
                                            "max_s": 30.0}  # fmt: skip


@pytest.mark.skipif(not RESULT.is_file(), reason="benchmark JSON not committed")
def test_the_committed_summary_follows_from_its_per_seed_values():
    result = json.loads(RESULT.read_text())
    experiments = result["experiments"]
    assert set(experiments) == {FINETUNED, *OTHERS}
    for name, e in experiments.items():
        assert len(e["per_seed"]) >= 5, name
        for key in ("macro_f1", "macro_ap"):
            values = [r[key] for r in e["per_seed"]]
            assert e[key]["mean"] == pytest.approx(statistics.mean(values), abs=0.006)
            assert e[key]["std"] == pytest.approx(statistics.stdev(values), abs=0.006)
        tuned = list(e["macro_f1_tuned"]["per_seed"].values())
        assert e["macro_f1_tuned"]["mean"] == pytest.approx(statistics.mean(tuned), abs=0.006)
        assert e["macro_f1_tuned"]["std"] == pytest.approx(statistics.stdev(tuned), abs=0.006)
    for other in OTHERS:
        tests = result["finetuned_minus"][other]["over_seeds"]
        mine, theirs = (experiments[n]["macro_f1_tuned"]["per_seed"] for n in (FINETUNED, other))
        ref = ttest_rel([mine[s] for s in sorted(mine)], [theirs[s] for s in sorted(mine)])
        assert tests["macro_f1_tuned"]["p"] == pytest.approx(ref.pvalue, abs=1e-3)
        for key in ("macro_f1", "macro_ap"):
            a = [r[key] for r in experiments[FINETUNED]["per_seed"]]
            b = [r[key] for r in experiments[other]["per_seed"]]
            ref = ttest_rel(a, b)
            assert tests[key]["t"] == pytest.approx(ref.statistic, abs=1e-3)
            assert tests[key]["p"] == pytest.approx(ref.pvalue, abs=1e-3)


@pytest.mark.skipif(not RESULT.is_file(), reason="benchmark JSON not committed")
def test_embeddings_md_quotes_the_committed_json():
    """Every two-decimal figure of embeddings.md's fine-tuning measurement is the JSON's."""
    from test_doc_numbers import numbers, printed_forms

    page = (REPO / "docs/embeddings.md").read_text()
    section = page[page.index("## Fine-tuning BirdNET") :].split("\n## ")[0]
    measured = section[section.index("**Measured**") : section.index("The default recipe")]
    quoted = re.findall(r"-?\d+\.\d\d(?!\d)", measured)
    assert len(quoted) >= 15
    forms = set().union(*(printed_forms(v) for v in numbers(json.loads(RESULT.read_text()))))
    assert [q for q in quoted if q not in forms] == []


@pytest.mark.skipif(not RESULT.is_file(), reason="benchmark JSON not committed")
def test_the_seeds_the_recipe_was_not_chosen_on_are_quoted_as_computed():
    """The default recipe was chosen on seed 0's validation runs: embeddings.md quotes the
    other seeds' mean macro F1 of each experiment, recomputed here."""
    experiments = json.loads(RESULT.read_text())["experiments"]
    page = (REPO / "docs/embeddings.md").read_text()
    quoted = re.search(r"seeds 1-4 alone.*?give macro F1 at 0.5 of\s+([\d.]+) % \(fine-tuned\), "
                       r"([\d.]+) % \(probe\) and ([\d.]+) % \(CNN\)", page, re.S)  # fmt: skip
    assert quoted, "the sentence moved"
    for name, text in zip((FINETUNED, *OTHERS), quoted.groups(), strict=True):
        others = [r["macro_f1"] for r in experiments[name]["per_seed"] if r["seed"] != 0]
        assert len(others) == 4 and f"{statistics.mean(others):.1f}" == text, name
