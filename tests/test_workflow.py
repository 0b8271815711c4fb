"""Workflow tests: run the real `snakemake` on a tiny synthetic config in a temporary directory."""

import json
import re
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest
import yaml
from browser import check_report, install_browser
from workflow_helpers import SNAKEMAKE, planned_jobs, snakemake

REPO = Path(__file__).resolve().parent.parent
CODES = ["SPHSUR", "BOABIS", "BOAFAB", "LEPPOD"]
PER_RECORDING_RULES = {"ingest_recording", "parse_annotations", "compute_features"}
AGGREGATE_RULES = {
    "recordings_manifest",
    "merge_annotations",
    "segment_windows",
    "split_recordings",
    "train_model",
    "build_report",
    "all",
}

TINY_CONFIG = {
    "results_dir": "results",
    "data": {"source": "synthetic", "audio_dir": "data/raw", "annotation_dir": "data/raw"},
    "synthetic": {"seed": 3, "n_recordings": 8, "duration_s": 12, "min_recordings_per_species": 3},
    "species": [{"code": c} for c in CODES],
    "frequency_groups": {"frequent_min_windows": 30, "common_min_windows": 15},
    "experiments_dir": "experiments",
    "experiments": ["tiny_cnn", "tiny_mobilenet"],
    "report": {"title": "tiny workflow test"},
}
EXPERIMENTS = {
    "tiny_cnn": {
        "name": "tiny_cnn",
        "model": "small_cnn",
        "seeds": [0, 1],
        "epochs": 2,
        "batch_size": 16,
        "augment": {
            "spec_augment": {"freq_masks": 1, "freq_width": 4, "time_masks": 1, "time_width": 10},
            "time_shift": 0.5,
        },
    },
    "tiny_mobilenet": {
        "name": "tiny_mobilenet",
        "model": "mobilenetv3_large",
        "seeds": [0],
        "epochs": 1,
        "batch_size": 16,
    },
}


@pytest.fixture(scope="module")
def workflow_run(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("tiny")
    (workdir / "config.yaml").write_text(yaml.safe_dump(TINY_CONFIG))
    (workdir / "experiments").mkdir()
    for name, exp in EXPERIMENTS.items():
        (workdir / "experiments" / f"{name}.yaml").write_text(yaml.safe_dump(exp))
    # the whole chain once in fresh interpreters, as ./run_workflow.sh runs it: a module that
    # leans on an import the warm job server made for it fails here
    snakemake(workdir, fresh=True)
    return workdir


@pytest.mark.workflow
def test_outputs_of_the_whole_chain(workflow_run):
    res = workflow_run / "results"
    manifest = pd.read_parquet(res / "recordings.parquet")
    assert len(manifest) == 8 and (manifest["sample_rate"] == 16000).all()
    assert set(manifest["orig_sample_rate"]) == {22050, 44100}  # the FLAC of format variety
    windows = pd.read_parquet(res / "windows.parquet")
    assert len(windows) == 8 * 10  # 12 s -> 10 windows of 3 s with 1 s hop
    assert set(CODES) <= set(windows.columns) and {"polyphony", "empty"} <= set(windows.columns)
    splits = pd.read_parquet(res / "splits.parquet")
    assert splits["recording_id"].is_unique and set(splits["subset"]) == {"train", "val", "test"}
    n_test = windows.merge(splits).query("subset == 'test'").shape[0]
    for run in ("tiny_cnn/seed0", "tiny_cnn/seed1", "tiny_mobilenet/seed0"):
        metrics = json.loads((res / "runs" / run / "metrics.json").read_text())
        assert set(metrics["macro_f1"]) == {"all", "frequent", "common", "rare"}
        assert metrics["n_windows"]["test"] == n_test
        preds = pd.read_parquet(res / "runs" / run / "predictions.parquet")
        assert len(preds) == n_test and {f"prob_{c}" for c in CODES} <= set(preds.columns)
        history = pd.read_csv(res / "runs" / run / "history.tsv", sep="\t")
        assert len(history) == metrics["epochs"]
        assert (res / "runs" / run / "model.pt").stat().st_size > 0
    features = sorted((res / "features").glob("*.parquet"))
    assert len(features) == 8
    html = (res / "report" / "report.html").read_text()
    for needle in ("tiny_cnn", "tiny_mobilenet", "Results on the test split", "data:image/png"):
        assert needle in html
    assert "trained under <code>experiment_overrides</code>" not in html  # none were set
    table = pd.read_csv(res / "report" / "metrics_table.tsv", sep="\t")
    assert table["experiment"].tolist() == ["tiny_cnn", "tiny_mobilenet"]
    assert table["n_seeds"].tolist() == [2, 1]


@pytest.mark.workflow
def test_complete_run_has_nothing_to_do(workflow_run):
    assert planned_jobs(workflow_run) == []


@pytest.mark.workflow
def test_synthetic_data_is_one_output_of_its_generator(workflow_run):
    # per-recording jobs depend on the dataset listing, not on 2 x n_recordings outputs of one
    # job (which makes Snakemake's bookkeeping quadratic: 1,612 recordings took 31 s to plan)
    listing = json.loads((workflow_run / "data" / "raw" / "dataset.json").read_text())
    assert len(listing) == 8 and all(Path(workflow_run / r["audio"]).exists() for r in listing)
    (workflow_run / "data" / "raw" / "dataset.json").touch()  # small: count mtimes, not sums
    jobs = planned_jobs(workflow_run, "--max-checksum-file-size", "0")
    assert {r for r, _ in jobs if r in PER_RECORDING_RULES} == PER_RECORDING_RULES
    assert len([r for r, _ in jobs if r == "ingest_recording"]) == 8


@pytest.mark.workflow
def test_snakemake_report_carries_figures(workflow_run, tmp_path):
    out = workflow_run / "snakemake_report.html"
    snakemake(workflow_run, "--report", str(out))
    text = out.read_text()
    assert "species_frequency.png" in text and "f1_by_polyphony.png" in text


def test_lint_is_clean():
    proc = subprocess.run(
        SNAKEMAKE + ["--lint", "--directory", str(REPO)], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Lints for" not in proc.stdout + proc.stderr, proc.stdout + proc.stderr


def test_bad_config_key_fails_at_start(tmp_path):
    (tmp_path / "config.yaml").write_text(yaml.safe_dump({"windows": {"lenght_s": 3}}))
    proc = snakemake(tmp_path, "-n", check=False)
    assert proc.returncode != 0
    assert "lenght_s" in proc.stdout + proc.stderr


@pytest.mark.workflow
def test_local_profile_never_shares_the_gpu_between_training_jobs(workflow_run):
    """profiles/local: every train_model job holds the one `gpu`, so they run one at a time
    while the other cores stay free for other jobs (checked on the scheduler's own log)."""
    # one thread per training job: the 2 cores would fit two at once, only the GPU stops it
    # (with --resources gpu=2 the same run has two training jobs at once)
    proc = snakemake(
        workflow_run,
        *("--profile", str(REPO / "profiles" / "local"), "--forcerun", "train_model"),
        *("--set-threads", "train_model=1"),
    )
    running, started, peak = set(), 0, 0
    # the log is a sequence of blocks, each opened by a "[timestamp]" line
    for block in re.split(r"\n(?=\[\w{3} \w{3} )", proc.stdout + proc.stderr):
        if re.search(r"^\s*(?:local)?rule train_model:", block, re.M):
            assert re.search(r"^\s+resources: .*\bgpu=1\b", block, re.M), block
            running.add(re.search(r"^\s+jobid: (\d+)", block, re.M).group(1))
            started, peak = started + 1, max(peak, len(running))
        for done in re.findall(r"^Finished jobid: (\d+) \(Rule: train_model\)", block, re.M):
            running.discard(done)
    assert started == 3 and peak == 1


class _TableShapes(HTMLParser):
    """The width (cells, counting colspan) of every row of every <table> in a page."""

    def __init__(self):
        super().__init__()
        self.tables, self.open_tables = [], []

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.open_tables.append([])
        elif tag == "tr" and self.open_tables:
            self.open_tables[-1].append(0)
        elif tag in ("td", "th") and self.open_tables:
            self.open_tables[-1][-1] += int(dict(attrs).get("colspan") or 1)

    def handle_endtag(self, tag):
        if tag == "table":
            self.tables.append(self.open_tables.pop())


@pytest.mark.workflow
def test_report_tables_are_well_formed(workflow_run):
    html = (workflow_run / "results" / "report" / "report.html").read_text()
    parser = _TableShapes()
    parser.feed(html)
    assert not parser.open_tables and len(parser.tables) >= 8
    for rows in parser.tables:
        assert rows and all(width == rows[0] for width in rows), rows
    assert "Per-species results" in html and "intra-class mean d_c" in html
    assert "silhouette</th>" in html
    species = pd.read_csv(workflow_run / "results/report/per_species_table.tsv", sep="\t")
    assert set(species["species"]) == set(CODES)
    assert set(species["experiment"]) == {"tiny_cnn", "tiny_mobilenet"}


@pytest.mark.workflow
def test_reported_macro_f1_equals_sklearn_on_the_predictions(workflow_run):
    """Every group figure in metrics.json is the mean of scikit-learn's per-species F1 on the
    saved predictions: over active species, and over all species (absent ones count 0)."""
    from sklearn.metrics import f1_score

    res = workflow_run / "results"
    for run in ("tiny_cnn/seed0", "tiny_cnn/seed1", "tiny_mobilenet/seed0"):
        metrics = json.loads((res / "runs" / run / "metrics.json").read_text())
        preds = pd.read_parquet(res / "runs" / run / "predictions.parquet")
        f1, active = {}, {}
        for c in metrics["codes"]:
            true = preds[f"true_{c}"].to_numpy()
            f1[c] = f1_score(true, preds[f"prob_{c}"].to_numpy() >= 0.5, zero_division=0)
            active[c] = true.sum() > 0
            assert metrics["per_species"][c]["f1"] == pytest.approx(f1[c])
        for group in ("all", "frequent", "common", "rare"):
            members = [
                c for c in metrics["codes"] if group == "all" or metrics["groups"][c] == group
            ]
            on = [f1[c] for c in members if active[c]]
            got = metrics["macro_f1"][group]
            assert (got is None and not on) or got == pytest.approx(sum(on) / len(on))
            got_all = metrics["macro_f1_all_species"][group]
            expected_all = [f1[c] for c in members]
            assert (got_all is None and not members) or got_all == pytest.approx(
                sum(expected_all) / len(expected_all)
            )


@pytest.mark.workflow
def test_leave_one_site_out_trains_once_per_site(tmp_path):
    config = {
        **TINY_CONFIG,
        "synthetic": {**TINY_CONFIG["synthetic"], "sites": {"SITEA": 0.5, "SITEB": 0.5}},
        "experiments": ["tiny_cnn"],
        "split": {"method": "by_site"},
    }
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    (tmp_path / "experiments").mkdir()
    exp = {**EXPERIMENTS["tiny_cnn"], "seeds": [0], "epochs": 1}
    (tmp_path / "experiments" / "tiny_cnn.yaml").write_text(yaml.safe_dump(exp))
    snakemake(tmp_path)
    runs = tmp_path / "results/runs/tiny_cnn"
    assert sorted(p.name for p in runs.iterdir()) == ["fold0", "fold1"]
    for fold, site in enumerate(["SITEA", "SITEB"]):
        test = pd.read_parquet(runs / f"fold{fold}/seed0/predictions.parquet")
        assert set(test["site"]) == {site}
        val = pd.read_parquet(runs / f"fold{fold}/seed0/val_predictions.parquet")
        assert site not in set(val["site"])
    per_site = pd.read_csv(tmp_path / "results/report/per_site_table.tsv", sep="\t")
    assert sorted(zip(per_site["fold"], per_site["site"], strict=True)) == [
        (0, "SITEA"),
        (1, "SITEB"),
    ]
    assert "Leave one site out" in (tmp_path / "results/report/report.html").read_text()


@pytest.mark.workflow
def test_report_reads_in_a_real_browser(workflow_run, tmp_path):
    """Headless Chromium loads report.html: no console message, every image decodes, every
    review clip loads; the screenshot is kept in the test's temporary directory."""
    browser = install_browser()
    if browser is None:
        pytest.skip("no Chromium, and it cannot be installed here (needs root and apt-get)")
    report = workflow_run / "results/report/report.html"
    found = check_report(browser, report, tmp_path / "report.png")
    assert "error" not in found, found
    assert found["console"] == []
    assert len(found["images"]) >= 10 and all(i["ok"] for i in found["images"]), found
    assert found["audio"] and all(a["ok"] for a in found["audio"]), found["audio"]
    assert (tmp_path / "report.png").stat().st_size > 100_000


@pytest.mark.workflow
def test_report_has_the_evaluation_sections(workflow_run):
    """Threshold-free metrics, recording-bootstrap intervals, per-site table, co-detection,
    selection on test and the review gallery, each where a reader looks for it."""
    text = (workflow_run / "results/report/report.html").read_text()
    for needle in (
        "<th>AP</th>",
        "<th>AUROC</th>",
        'alt="precision-recall curves per species"',
        'alt="score histograms per species"',
        "macro F1 [95 % CI]",
        "macro AP [95 % CI]",
        'id="sites"',
        'alt="co-detection matrix"',
        "test macro F1 if chosen on test",
        '<audio controls preload="none" src="review/',
        "<h3>Software</h3>",
    ):
        assert needle in text, needle
    per_site = pd.read_csv(workflow_run / "results/report/per_site_table.tsv", sep="\t")
    assert set(per_site["experiment"]) == {"tiny_cnn", "tiny_mobilenet"}
    codet = pd.read_csv(workflow_run / "results/report/codetection.tsv", sep="\t", index_col=0)
    assert list(codet.index) == list(codet.columns) == CODES
    history = pd.read_csv(workflow_run / "results/runs/tiny_cnn/seed0/history.tsv", sep="\t")
    metrics = json.loads((workflow_run / "results/runs/tiny_cnn/seed0/metrics.json").read_text())
    intervals = json.loads(
        (workflow_run / "results/runs/tiny_cnn/seed0/intervals.json").read_text()
    )
    assert intervals["n_boot"] == 1000 and intervals["test_recordings"] >= 1
    f1 = intervals["macro_f1"]
    assert f1["estimate"] == pytest.approx(metrics["macro_f1"]["all"])
    assert f1["low"] <= f1["estimate"] <= f1["high"]
    best = history.loc[history["test_macro_f1"].idxmax()]
    assert metrics["test_selected"] == {
        "epoch": int(best["epoch"]),
        "macro_f1": pytest.approx(best["test_macro_f1"]),
    }
