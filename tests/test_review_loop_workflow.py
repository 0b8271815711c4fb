"""The review loop as a user runs it: `suggest` on a tiny synthetic dataset with unlabelled
recordings, a simulated reviewer's labels file, the incremental rerun it causes (never the
embeddings), partial labels in training, bad files refused by file and line, and a
relabelling listed in the report."""

import json

import pandas as pd
import pytest
import yaml
from test_embeddings import HAS_BIRDNET
from workflow_helpers import planned_jobs, snakemake

from anuraflow.data.audacity import parse_audacity_labels
from anuraflow.data.review_labels import labels_file_text, read_review_file

pytestmark = [
    pytest.mark.workflow,
    pytest.mark.skipif(not HAS_BIRDNET, reason="requirements-birdnet.txt not installed"),
]

CODES = ["SPHSUR", "BOABIS", "BOAFAB", "LEPPOD"]
UNLABELLED = 4
CONFIG = {
    "results_dir": "results",
    "data": {"source": "synthetic", "audio_dir": "data/raw", "annotation_dir": "data/raw"},
    "synthetic": {
        "seed": 5,
        "n_recordings": 14,
        "duration_s": 20,
        "min_recordings_per_species": 4,
        "unlabelled": UNLABELLED,
    },  # fmt: skip
    "species": [{"code": c} for c in CODES],
    "frequency_groups": {"frequent_min_windows": 60, "common_min_windows": 30},
    "experiments_dir": "experiments",
    "experiments": ["tiny_probe"],
    "review_labels": "review",
    "suggest": {"experiment": "tiny_probe", "per_species": 2},
    "report": {"title": "review loop test", "bootstrap_samples": 100},
}
PROBE = {"name": "tiny_probe", "model": "linear_probe", "seeds": [0], "epochs": 10,
         "batch_size": 32, "optimizer": {"name": "adamw", "lr": 0.003}}  # fmt: skip
SUGGESTIONS = "results/suggest/next/suggestions.csv"


def truth_decisions(workdir, suggestions: pd.DataFrame) -> pd.DataFrame:
    """What a careful reviewer decides for each suggested window's species: present when a
    call of it overlaps the window in the recording's true labels, else absent."""
    listing = {
        r["recording_id"]: r for r in json.loads((workdir / "data/raw/dataset.json").read_text())
    }
    rows = []
    for s in suggestions.itertuples():
        calls = parse_audacity_labels(workdir / listing[s.recording_id]["truth"], s.recording_id)
        hit = (
            (calls["species"] == s.species)
            & (calls["end_s"] > s.start_s)
            & (calls["start_s"] < s.end_s)
        )
        rows.append(
            (s.recording_id, s.start_s, s.end_s, s.species, "present" if hit.any() else "absent")
        )
    return pd.DataFrame(rows, columns=["recording", "start_s", "end_s", "species", "decision"])


@pytest.fixture(scope="module")
def loop(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("review_loop")
    (workdir / "experiments").mkdir()
    (workdir / "experiments/tiny_probe.yaml").write_text(yaml.safe_dump(PROBE))
    (workdir / "config.yaml").write_text(yaml.safe_dump(CONFIG))
    snakemake(workdir, "suggest")
    return workdir


def test_suggest_asks_about_unlabelled_windows_within_the_budget(loop):
    listing = json.loads((loop / "data/raw/dataset.json").read_text())
    unlabelled = {r["recording_id"] for r in listing if r["labels"] is None}
    assert len(unlabelled) == UNLABELLED
    assert not list((loop / "data/raw").glob("*/" + next(iter(unlabelled)) + ".txt"))
    s = pd.read_csv(loop / SUGGESTIONS)
    assert set(s["recording_id"]) <= unlabelled
    assert len(s) == 2 * len(CODES) and s["window_id"].is_unique
    assert (s.groupby("species").size() == 2).all()
    assert s["why"].str.startswith("for ").all()
    page = (loop / "results/suggest/next/review.html").read_text()
    assert page.count('class="hit"') == len(s) and "labels-next.tsv" in page
    # recordings without a label file have no windows yet: nothing was decided
    windows = pd.read_parquet(loop / "results/windows.parquet")
    assert not set(windows["recording_id"]) & unlabelled


def test_a_labels_file_reruns_only_what_it_touches_then_trains_on_partial_labels(loop):
    first = pd.read_csv(loop / SUGGESTIONS)
    decisions = truth_decisions(loop, first)
    (loop / "review").mkdir(exist_ok=True)
    (loop / "review/labels-next.tsv").write_text(
        labels_file_text(decisions, "ana", "2026-12-04T10:00:00Z")
    )
    rules = {rule for rule, _ in planned_jobs(loop, "suggest")}
    assert rules == {"merge_review_labels", "segment_windows", "split_recordings",
                     "train_model", "suggest_windows", "suggest"}  # fmt: skip
    snakemake(loop, "suggest", fresh=True)  # these jobs in fresh interpreters, as users run them
    windows = pd.read_parquet(loop / "results/windows.parquet")
    reviewed = windows[windows["partial"]]
    assert len(reviewed) == len(decisions)  # one species decided per window
    for d in decisions.itertuples():
        w = reviewed[(reviewed["recording_id"] == d.recording) & (reviewed["start_s"] == d.start_s)]
        assert w[d.species].item() == (d.decision == "present")
        assert w[[f"known_{c}" for c in CODES]].to_numpy().sum() == 1
    splits = pd.read_parquet(loop / "results/splits.parquet").set_index("recording_id")
    assert (splits.loc[sorted(set(reviewed["recording_id"])), "subset"] == "train").all()
    log = loop / "results/logs/train/tiny_probe/seed0.log"
    assert log.is_file()
    second = pd.read_csv(loop / SUGGESTIONS)
    assert not set(second["window_id"]) & set(first["window_id"])  # reviewed: never again


@pytest.mark.parametrize("fault", ["half-written download", "is not a window of the grid"])
def test_a_bad_labels_file_stops_the_run_naming_file_and_line(loop, fault):
    rec = pd.read_csv(loop / SUGGESTIONS)["recording_id"][0]
    one = pd.DataFrame(
        [(rec, 0.0, 3.0, "SPHSUR", "present")],
        columns=["recording", "start_s", "end_s", "species", "decision"],
    )
    text = labels_file_text(one, "bo", "2026-12-05T10:00:00Z")
    if fault.startswith("half"):
        text = text.split("# end")[0]  # the download stopped before its end line
    else:
        text = text.replace(f"{rec}\t0\t3", f"{rec}\t0.5\t3.5")
    bad = loop / "review/labels-bad.tsv"
    bad.write_text(text)
    try:
        proc = snakemake(loop, "suggest", check=False)
    finally:
        bad.unlink()
    assert proc.returncode != 0
    log = _log(loop)
    assert "labels-bad.tsv:3: " in log and fault in log


def _log(workdir) -> str:
    return (workdir / "results/logs/merge_review_labels.log").read_text()


def test_a_relabelled_window_is_listed_in_the_report(loop):
    first = read_review_file(loop / "review/labels-next.tsv").iloc[[0]]
    flipped = first.assign(
        decision="absent" if first["decision"].item() == "present" else "present"
    )
    (loop / "review/labels-later.tsv").write_text(
        labels_file_text(flipped[["recording", "start_s", "end_s", "species", "decision"]], "ana",
                         "2026-12-06T10:00:00Z")
    )  # fmt: skip
    snakemake(loop)
    report = (loop / "results/report/report.html").read_text()
    assert "Review decisions replacing an earlier one by the same reviewer" in report
    assert "labels-later.tsv:3: " in report and "labels-next.tsv:" in report
    windows = pd.read_parquet(loop / "results/windows.parquet")
    row = first.iloc[0]
    w = windows[
        (windows["recording_id"] == row["recording"]) & (windows["start_s"] == row["start_s"])
    ]
    assert w[row["species"]].item() == (flipped["decision"].item() == "present")


def test_suggest_mixes_in_the_search_and_ranks_a_predict_archive(loop):
    """similarity: 1 with a search section raises the query species' term only; archive:
    predict suggests windows of predict.audio_dir's recordings, embedded for it."""
    from anuraflow.simulate.writer import write_new_recordings

    windows = pd.read_parquet(loop / "results/windows.parquet")
    query = windows[(windows["BOAFAB"] == 1) & ~windows["partial"]].iloc[0]
    write_new_recordings(loop / "next_season", CODES, 5, 2, seed=11, duration_s=20)
    (loop / "next_season" / "notes.wav").write_text("not audio")  # costs only itself
    config = {
        **CONFIG,
        "search": {"recording": query["recording_id"], "window_ids": [query["window_id"]],
                   "label": "BOAFAB"},
        "predict": {"audio_dir": "next_season", "experiment": "tiny_probe"},
        "suggest": {"name": "mixed", "experiment": "tiny_probe", "per_species": 2,
                    "similarity": 1.0},
    }  # fmt: skip
    (loop / "config.yaml").write_text(yaml.safe_dump(config))
    snakemake(loop, "suggest")
    mixed = pd.read_csv(loop / "results/suggest/mixed/suggestions.csv")
    assert (mixed.loc[mixed["species"] == "BOAFAB", "similarity"] > 0).all()
    assert (mixed.loc[mixed["species"] != "BOAFAB", "similarity"] == 0).all()
    assert mixed["why"].str.contains("like the query").any()
    config["suggest"] = {"name": "season", "experiment": "tiny_probe", "archive": "predict"}
    (loop / "config.yaml").write_text(yaml.safe_dump(config))
    snakemake(loop, "suggest")
    season = pd.read_csv(loop / "results/suggest/season/suggestions.csv")
    new = {p.stem for p in (loop / "next_season").rglob("*") if p.suffix in (".wav", ".flac")}
    assert set(season["recording_id"]) <= new and len(season) == 5 * len(CODES)
    # embedded in predict's shards, one cache per recording, the unreadable one without rows
    caches = list((loop / "results/search/archive_embeddings").glob("*/*.parquet"))
    assert sorted(p.stem for p in caches) == sorted(new)
    logs = "".join(p.read_text() for p in (loop / "results/logs/archive_embeddings").iterdir())
    assert "notes: cannot be used, no windows" in logs and "notes.wav" in logs
    assert "notes" not in set(season["recording_id"])
    (loop / "config.yaml").write_text(yaml.safe_dump(CONFIG))
