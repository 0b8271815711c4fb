"""benchmarks/speed/first_run.py: what it reads from a finished demo run (the README's "Two
commands" figures come from it)."""

import json

import pandas as pd

from benchmarks.speed.first_run import demo_scores


def test_the_first_run_reads_each_seed_and_the_reports_mean_and_std(tmp_path):
    """Per seed from its metrics.json (as a percentage, 2 digits), mean and std from the
    report's table."""
    f1 = {0: 0.9199, 1: 0.9123, 2: 0.9379}
    for seed, value in f1.items():
        run = tmp_path / "runs" / "demo_cnn" / f"seed{seed}"
        run.mkdir(parents=True)
        metrics = {"experiment": "demo_cnn", "seed": seed, "macro_f1": {"all": value},
                   "train_seconds": 20.04 + seed}  # fmt: skip
        (run / "metrics.json").write_text(json.dumps(metrics))
    (tmp_path / "report").mkdir()
    table = pd.DataFrame([{"experiment": "demo_cnn", "all_mean": 92.337, "all_std": 1.316}])
    table.to_csv(tmp_path / "report" / "metrics_table.tsv", sep="\t", index=False)
    scores = demo_scores(tmp_path)
    assert [r["macro_f1_percent"] for r in scores["runs"]] == [91.99, 91.23, 93.79]
    assert [r["train_seconds"] for r in scores["runs"]] == [20.0, 21.0, 22.0]
    # mean ± std as the report computed them, not recomputed
    assert scores["macro_f1_percent"] == [
        {"experiment": "demo_cnn", "all_mean": 92.337, "all_std": 1.316}
    ]
