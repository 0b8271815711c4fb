"""Workflow test of detection: train a small model, then `snakemake predict` on recordings it
never saw (synthetic, with known calls) and on its own test recordings."""

import json

import numpy as np
import pandas as pd
import pytest
import yaml
from sklearn.metrics import precision_score, recall_score
from workflow_helpers import parse_planned_jobs, planned_jobs, snakemake

from anuraflow.data.raven import parse_raven_table
from anuraflow.data.review_labels import labels_file_text, read_review_file
from anuraflow.data.windows import window_labels
from anuraflow.simulate.writer import write_new_recordings

CODES = ["SPHSUR", "BOABIS", "BOAFAB", "LEPPOD"]
SYNTHETIC_SEED = 3
CONFIG = {
    "results_dir": "results",
    "data": {"source": "synthetic", "audio_dir": "data/raw", "annotation_dir": "data/raw"},
    "synthetic": {
        "seed": SYNTHETIC_SEED,
        "n_recordings": 36,
        "duration_s": 30,
        "min_recordings_per_species": 6,
    },
    "species": [{"code": c} for c in CODES],
    "frequency_groups": {"frequent_min_windows": 100, "common_min_windows": 50},
    "features": {"n_mels": 64, "hop_length": 256},
    "experiments_dir": "experiments",
    "experiments": ["det_cnn"],
    "report": {"title": "detection test"},
    "on_bad_recording": "skip",
}
EXPERIMENT = {
    "name": "det_cnn",
    "model": "small_cnn",
    "seeds": [0],
    # 6 epochs: at 4, the bf16 run (precision auto on a CPU with bf16 instructions) called
    # BOAFAB at precision 0.45 while fp32 passed; at 6 both pass
    "epochs": 6,
    "batch_size": 32,
    "optimizer": {"name": "adamw", "lr": 0.003, "weight_decay": 0.0001},
    "scheduler": "cosine",
    "augment": {"time_shift": 1.0},
}
RUN = "results/runs/det_cnn/seed0"


def write_config(workdir, **extra):
    (workdir / "config.yaml").write_text(yaml.safe_dump({**CONFIG, **extra}))


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("detect")
    (workdir / "experiments").mkdir()
    (workdir / "experiments" / "det_cnn.yaml").write_text(yaml.safe_dump(EXPERIMENT))
    write_config(workdir)
    snakemake(workdir)
    return workdir


@pytest.fixture(scope="module")
def new_season(trained):
    """Twelve new recordings with known calls, one unreadable file and one 2 s recording."""
    new = trained / "next_season"
    truth = write_new_recordings(new, CODES, SYNTHETIC_SEED, 12, seed=11, duration_s=30)
    (new / "broken.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk")
    rate = 16000
    short = np.random.default_rng(0).normal(0, 0.05, 2 * rate).astype(np.float32)
    import soundfile as sf

    sf.write(str(new / "short_clip.wav"), short, rate)
    write_config(trained, predict={"audio_dir": "next_season", "experiment": "det_cnn", "seed": 0})
    # fresh interpreters, not the warm job server's forks: predict's jobs as users run them
    snakemake(trained, "predict", fresh=True)
    return trained / "results/predict/det_cnn", {p.stem: labels for p, labels in truth}


def records_of(out):
    """Recording id -> its record, from every shard's records file."""
    records = [json.loads(p.read_text()) for p in sorted((out / "records").glob("*.json"))]
    return {r["recording_id"]: r for shard in records for r in shard}


def overlaps(a0, a1, b0, b1):
    return (np.minimum(a1, b1) - np.maximum(a0, b0)) > 0


@pytest.mark.workflow
def test_detections_find_the_true_calls(new_season):
    """Per species: the share of true calls that a selection overlaps (recall on calls), and
    precision and recall of the windows called at the tuned thresholds against the windows
    the true calls make active (the workflow's overlap rule); every one above 0.8. Selections
    that overlap no true call are counted too, pooled over species (a species has few)."""
    out, truth = new_season
    detections = pd.read_csv(out / "detections.csv")
    record = records_of(out)[next(iter(truth))]
    thresholds = np.array([record["thresholds"][c] for c in CODES])
    all_scores = pd.read_parquet(out / "scores")
    called, active, right_selections = [], [], 0
    found = {c: [] for c in CODES}
    for rec, labels in truth.items():
        calls = pd.DataFrame(
            [(s, e, lab.split("_")[0]) for s, e, lab in labels],
            columns=["start_s", "end_s", "species"],
        )
        scores = all_scores[all_scores.recording_id == rec]
        called.append(scores[CODES].to_numpy() >= thresholds)
        active.append(window_labels(scores["start_s"].to_numpy(), 3.0, calls, CODES))
        mine = detections[detections.recording_id == rec]
        for code in CODES:
            sel = mine[mine.species == code]
            own = calls[calls.species == code]
            hits = [
                overlaps(own.start_s, own.end_s, d.begin_s, d.end_s).any() for d in sel.itertuples()
            ]
            right_selections += sum(hits)
            found[code] += [
                overlaps(sel.begin_s, sel.end_s, c.start_s, c.end_s).any() for c in own.itertuples()
            ]
    called, active = np.concatenate(called), np.concatenate(active).astype(bool)
    for j, code in enumerate(CODES):
        assert np.mean(found[code]) > 0.8, (code, found[code])
        assert active[:, j].sum() > 10, code  # the new recordings exercise every species
        assert precision_score(active[:, j], called[:, j]) > 0.8, code
        assert recall_score(active[:, j], called[:, j]) > 0.8, code
    assert right_selections / len(detections) > 0.8


@pytest.mark.workflow
def test_raven_tables_parse_back_and_match_the_detections(new_season):
    out, truth = new_season
    detections = pd.read_csv(out / "detections.csv")
    for rec in truth:
        table, skipped = parse_raven_table(out / "raven" / f"{rec}.Table.1.selections.txt", rec)
        assert skipped == []
        mine = detections[detections.recording_id == rec]
        assert len(table) == len(mine)
        assert np.allclose(np.sort(table["start_s"]), np.sort(mine["begin_s"]), atol=1e-6)
        assert sorted(table["species"]) == sorted(mine["species"])


@pytest.mark.workflow
def test_bad_and_short_recordings_follow_the_policy(new_season, trained):
    out, _ = new_season
    status = pd.read_csv(out / "recordings.tsv", sep="\t").set_index("recording_id")
    assert status.loc["broken", "status"] == "skipped"
    assert "broken.wav" in status.loc["broken", "problem"]
    assert status.loc["short_clip", "status"] == "ok"
    assert status.loc["short_clip", "windows"] == 0
    assert "shorter than one 3 s window" in status.loc["short_clip", "notes"]
    scores = pd.read_parquet(out / "scores")
    assert list(scores.columns) == ["recording_id", "start_s", "end_s", *CODES]
    assert not scores.recording_id.isin(["short_clip", "broken"]).any()
    for rec in ("short_clip", "broken"):
        table, _ = parse_raven_table(out / "raven" / f"{rec}.Table.1.selections.txt", rec)
        assert table.empty
    assert records_of(out)["broken"]["selections"] == []
    # under fail, the unreadable file stops the run and is named: applied once, in
    # predict_summary, from the records the predict_shard jobs wrote
    proc = snakemake(
        trained,
        "results/predict/det_cnn/recordings.tsv",
        "--forcerun",
        "predict_summary",
        "--config",
        "on_bad_recording=fail",
        # the policy is also a parameter of the training data's manifest step: without this,
        # the changed parameter would rebuild the manifest and retrain the model first
        "--rerun-triggers",
        "mtime",
        check=False,
    )
    assert proc.returncode != 0
    ran = {rule for rule, _ in parse_planned_jobs(proc.stdout + proc.stderr)}
    assert "predict_summary" in ran and "predict_shard" not in ran
    log = (trained / "results/logs/predict_summary.log").read_text()
    assert "1 unusable input(s) under on_bad_recording: fail" in log and "broken.wav" in log
    # back under the config's skip: the summary alone is made again, nothing rescored
    proc = snakemake(trained, "results/predict/det_cnn/recordings.tsv", "--rerun-triggers", "mtime")
    assert {rule for rule, _ in parse_planned_jobs(proc.stdout + proc.stderr)} == {
        "predict_summary"
    }


@pytest.mark.workflow
def test_activity_counts_every_detection_by_site_and_hour(new_season):
    out, _ = new_season
    detections = pd.read_csv(out / "detections.csv")
    activity = pd.read_csv(out / "activity.csv")
    assert activity["detections"].sum() == detections["begin_datetime"].notna().sum()
    assert (out / "activity.png").stat().st_size > 5000
    # 30 s recordings at the top of the hour: half a minute recorded per site and hour
    assert set(activity["recorded_min"]) == {0.5} or activity["recorded_min"].min() >= 0.5


@pytest.mark.workflow
def test_the_review_page_shows_each_species_best_windows(new_season):
    """predict's review page: every species' top windows by score (at most two of one
    recording), each with a playable clip and the labelling controls."""
    out, truth = new_season
    scores = pd.read_parquet(out / "scores")
    page = (out / "review.html").read_text()
    for code in CODES:
        best = scores.sort_values(code, ascending=False, kind="stable")
        best = best[best.groupby("recording_id").cumcount() < 2].iloc[0]
        assert f"{best['recording_id']}_{best['start_s']:g}_{best['end_s']:g}" in page
    assert page.count('class="hit"') == 5 * len(CODES)
    assert len(list((out / "review_clips").glob("*.wav"))) == 5 * len(CODES)
    assert "labels-predict-det_cnn.tsv" in page


def truth_of_windows(rows: pd.DataFrame, truth: dict) -> np.ndarray:
    """[n, species] 0/1: whether each (recording_id, start_s) window holds a true call (the
    workflow's overlap rule), what a reviewer who hears perfectly decides."""
    out = np.zeros((len(rows), len(CODES)), dtype=int)
    for rec, idx in rows.groupby("recording_id").groups.items():
        calls = pd.DataFrame([(s, e, lab.split("_")[0]) for s, e, lab in truth[rec]],
                             columns=["start_s", "end_s", "species"])  # fmt: skip
        pos = rows.index.get_indexer(idx)
        out[pos] = window_labels(rows.loc[idx, "start_s"].to_numpy(), 3.0, calls, CODES)
    return out


def weighted_precision(sample, decided, scores, code, t):
    """Independent of the workflow's estimator: per bin, the reviewed windows scored >= t
    weighted by the bin's archive windows over its reviewed ones (N_b / n_b)."""
    edges = np.r_[0, np.quantile(scores[code], [0.5, 0.75, 0.875]), 1.000001]
    mine = decided[decided.species == code]
    b_rev = np.digitize(mine["score"], edges[1:-1])
    n_archive = np.bincount(np.digitize(scores[code], edges[1:-1]), minlength=4)
    n_reviewed = np.bincount(b_rev, minlength=4)
    w = n_archive[b_rev] / n_reviewed[b_rev]
    above = mine["score"].to_numpy() >= t
    return (w * mine["present"].to_numpy())[above].sum() / w[above].sum()


@pytest.mark.workflow
def test_validate_estimates_precision_from_a_reviewed_sample(new_season, trained):
    """`validate`: a stratified sample per species on a page without scores; a reviewer who
    answers from the truth decides half of it; the precision at the tuned threshold equals an
    independent bin-weighted computation, the detections are cut again at the published
    thresholds, decided windows leave the page, and no training job reruns."""
    out, truth = new_season
    design = {"bins": 4, "per_bin": 8, "min_reviews": 12, "n_boot": 200}
    write_config(trained, predict={"audio_dir": "next_season", "experiment": "det_cnn", "seed": 0},
                 validate=design, review_labels="review")  # fmt: skip
    snakemake(trained, "validate")
    val = out / "validate"
    sample = pd.read_parquet(val / "sample.parquet")
    assert sorted(sample.species.unique()) == sorted(CODES)
    assert (sample.groupby("species").size() <= 4 * 8).all()
    page = (val / "review.html").read_text()
    assert page.count('class="hit"') == len(sample) and "score 0." not in page
    first = pd.read_csv(val / "precision.csv")
    assert first["rule"].str.startswith("tuned: 0 reviews").all()

    # the reviewer decides every other window of the sample, from the truth
    half = sample.iloc[::2].reset_index(drop=True)
    present = truth_of_windows(half[["recording_id", "start_s"]], truth)
    column = half["species"].map({c: j for j, c in enumerate(CODES)}).to_numpy()
    said = present[np.arange(len(half)), column]
    (trained / "review").mkdir()
    labels = half.assign(recording=half.recording_id, decision=np.where(said, "present", "absent"))
    (trained / "review" / "labels-validate-det_cnn.tsv").write_text(
        labels_file_text(
            labels[["recording", "start_s", "end_s", "species", "decision"]],
            "sim",
            "2026-12-06T00:00:00Z",
        )
    )
    planned = {rule for rule, _ in planned_jobs(trained, "validate")}
    assert planned == {"merge_archive_labels", "validate_review", "validate_precision", "validate"}
    # the training chain is untouched by the archive's file: only the report reruns, as it
    # shows validate's table
    rerun = {rule for rule, _ in planned_jobs(trained, "--rerun-triggers", "mtime", "input")}
    assert rerun == {"merge_archive_labels", "validate_precision", "build_report", "all"}
    snakemake(trained, "validate", fresh=True)  # validate's jobs in fresh interpreters
    page = (val / "review.html").read_text()
    assert page.count('class="hit"') == len(sample) - len(half)
    table = pd.read_csv(val / "precision.csv").set_index("species")
    scores = pd.read_parquet(out / "scores")
    record = records_of(out)[next(iter(truth))]
    decided = half.assign(present=said)
    for code in CODES:
        row = table.loc[code]
        assert row["reviewed"] == (half.species == code).sum() and row["unstratified"] == 0
        t = record["thresholds"][code]
        assert row["tuned_threshold"] == pytest.approx(t, abs=1e-6)
        expected = weighted_precision(sample, decided, scores, code, t)
        assert row["precision_at_tuned"] == pytest.approx(expected, abs=1e-5)
        assert (
            row["precision_at_tuned_low"]
            <= expected + 1e-9
            <= row["precision_at_tuned_high"] + 2e-9
        )
        assert row["detections_at_tuned"] == (scores[code] >= t).sum()
        if row["rule"] == "validated":
            assert row["precision_low"] >= 0.9  # the default rule: the lower bound reaches it
    # per site: every species at every site of the archive, the detections adding up
    per_site = pd.read_csv(val / "per_site.csv", keep_default_na=False, na_values=[""])
    scored = set(scores["recording_id"])  # a file predict could not read has no window
    sites = {r["site"] for r in records_of(out).values() if r["recording_id"] in scored}
    assert set(per_site["site"]) == sites and set(per_site["species"]) == set(CODES)
    for code in CODES:
        assert per_site.loc[per_site.species == code, "detections"].sum() == table.loc[
            code, "detections"]
    recut = pd.read_csv(val / "detections.csv")
    for code in CODES:
        mine = recut[recut.species == code]
        assert (mine["rule"] == table.loc[code, "rule"]).all()
        assert (mine["max_score"] >= table.loc[code, "threshold"] - 1e-6).all()
    assert (val / "precision.png").stat().st_size > 10000
    assert "How precise are the detections?" in (val / "validation.html").read_text()
    # the report shows the same table, each species' row as the page has it
    snakemake(trained, "results/report/report.html")
    report = (trained / "results/report/report.html").read_text()
    assert '<h2 id="validation">Precision on the archive</h2>' in report
    assert 'href="#validation"' in report
    for code in CODES:
        row = table.loc[code]
        cells = f"<td>{code}</td><td>{row['reviewed']}</td><td>{row['present']}</td>"
        assert cells in report


@pytest.mark.workflow
def test_occupancy_counts_the_detections_and_the_effort(new_season, trained):
    """`occupancy` after validate (its review file from the test above): the detection
    histories equal an independent count of validate's detections.csv and predict's
    recordings.tsv per site and 3 h occasion, the R files read back equal, the bad recordings
    are listed, every species has its estimates (numbers or why not), call density sums up,
    and the report shows the section."""
    out, _ = new_season
    design = {"bins": 4, "per_bin": 8, "min_reviews": 12, "n_boot": 200}
    occupancy = {"occasion": "hours", "occasion_hours": 3, "warmup": 150, "samples": 150}
    write_config(trained, predict={"audio_dir": "next_season", "experiment": "det_cnn", "seed": 0},
                 validate=design, review_labels="review", occupancy=occupancy)  # fmt: skip
    snakemake(trained, "occupancy", fresh=True)  # JAX imported by a fresh job, as users run it
    occ = out / "occupancy"
    histories = pd.read_parquet(occ / "histories.parquet")
    # the independent count: selections at the published thresholds, by site and 3 h block
    detections = pd.read_csv(out / "validate/detections.csv")
    detections["occasion"] = pd.to_datetime(detections["begin_datetime"]).dt.floor("3h")
    expected = detections.groupby(["species", "site", "occasion"])["n_windows"].sum()
    recordings = pd.read_csv(out / "recordings.tsv", sep="\t")
    ok = recordings[(recordings.status == "ok") & recordings.start_datetime.notna()
                    & (recordings.windows > 0)]  # fmt: skip
    effort = (ok.assign(occasion=pd.to_datetime(ok.start_datetime).dt.floor("3h"))
              .groupby(["site", "occasion"])["duration_s"].sum() / 60)  # fmt: skip
    for row in histories.itertuples():
        key = (row.site, pd.Timestamp(row.occasion_start))
        assert row.effort_min == pytest.approx(effort.get(key, 0.0))
        hits = expected.get((row.species, *key), 0)
        assert row.detected_windows == hits
        if row.effort_min == 0:
            assert pd.isna(row.detection)
        else:
            assert row.detection == int(hits > 0)
    assert set(histories["site"]) == set(ok["site"])
    assert histories.groupby("species").size().nunique() == 1  # every species x site x occasion
    excluded = pd.read_csv(occ / "excluded_recordings.tsv", sep="\t")
    bad = set(recordings.loc[~recordings.recording_id.isin(ok.recording_id), "recording_id"])
    assert set(excluded["recording_id"]) == bad and {"broken", "short_clip"} <= bad
    sidecar = json.loads((occ / "for_r/histories.json").read_text())
    assert sidecar["threshold_source"] == "validate: precision.csv"
    published = pd.read_csv(out / "validate/precision.csv").set_index("species")["threshold"]
    assert sidecar["thresholds"] == pytest.approx(published.to_dict())
    for code, name in sidecar["files"]["detection_histories"].items():
        back = pd.read_csv(occ / "for_r" / name, index_col="site")
        mine = histories[histories.species == code]
        wide = mine.pivot(index="site", columns="occasion", values="detection").astype(float)
        pd.testing.assert_frame_equal(back.astype(float), wide, check_names=False)
    estimates = pd.read_csv(occ / "estimates.csv")
    # the default models: the naive estimate and the false-positive model
    assert sorted(estimates.groupby("species").size().items()) == [(c, 2) for c in sorted(CODES)]
    naive = estimates[estimates.model == "naive"].set_index("species")
    for code in CODES:
        detected = histories[(histories.species == code) & (histories.detection == 1)]["site"]
        assert naive.loc[code, "psi"] == pytest.approx(detected.nunique() / len(set(ok["site"])))
        assert "only 3 sites" in naive.loc[code, "note"]
    # a reviewed call makes its site occupied for certain: counted beside the posterior
    labels = read_review_file(trained / "review" / "labels-validate-det_cnn.tsv")
    site_of = dict(zip(ok.recording_id, ok.site, strict=True))
    calls = labels[labels.decision == "present"].assign(site=lambda t: t.recording.map(site_of))
    presence = pd.read_csv(occ / "site_presence.csv").set_index(["species", "site"])
    counted = calls.groupby(["species", "site"]).size()
    assert presence["confirmed_calls"].sum() == len(calls) > 0
    for key, n in counted.items():
        assert presence.loc[key, "confirmed_calls"] == n
    fitted = estimates[estimates.model != "naive"]
    assert ((fitted.status == "ok") == fitted.psi.notna()).all()
    assert fitted.status.str.match(r"^(ok|not converged: )").all()
    density = pd.read_csv(occ / "call_density.csv", keep_default_na=False, na_values=[""])
    for _, part in density.groupby("species"):
        every = part[part.site == "all"]["windows"].item()
        assert part[part.site != "all"]["windows"].sum() == every
    snakemake(trained, "results/report/report.html")
    report = (trained / "results/report/report.html").read_text()
    assert '<h2 id="occupancy">Occupancy and call density</h2>' in report
    for code in CODES:
        assert f"<td>{code}</td><td>false_positive</td>" in report


@pytest.mark.workflow
def test_predict_scores_equal_the_evaluation_scores(trained):
    """The same frontend: scores of the run's own test recordings, read from the raw files,
    equal the evaluation's scores of the same windows."""
    write_config(
        trained,
        predict={"audio_dir": "data/raw", "experiment": "own", "model": f"{RUN}/model.pt"},
    )
    evaluated = pd.read_parquet(trained / RUN / "predictions.parquet")
    tested = sorted(evaluated["recording_id"].unique())
    snakemake(trained, "results/predict/own/detections.csv")
    checked = 0
    every = pd.read_parquet(trained / "results/predict/own/scores")
    assert set(tested) <= set(every.recording_id)
    for rec, rows in evaluated.groupby("recording_id"):
        scores = every[every.recording_id == rec]
        merged = rows.merge(scores, on="start_s")
        assert len(merged) == len(rows)
        for code in CODES:
            assert np.abs(merged[f"prob_{code}"] - merged[code]).max() < 1e-5
        checked += len(merged)
    assert checked == len(evaluated) > 0


@pytest.mark.workflow
def test_predict_on_an_audiomoth_tree_with_a_symlinked_site(trained):
    """The same file names in two site folders (one a symlink), AppleDouble twins beside
    them, one recorder at 8 kHz: every file scored under its own id, timed by its name."""
    import os

    import soundfile as sf

    root, elsewhere = trained / "moth", trained / "moth_elsewhere"
    noise = np.random.default_rng(5).normal(0, 0.05, 16000 * 6).astype(np.float32)
    for folder in (root / "siteA", elsewhere / "siteB"):
        folder.mkdir(parents=True)
        sf.write(str(folder / "20191113_190000.WAV"), noise, 16000)
        (folder / "._20191113_190000.WAV").write_bytes(b"\x00\x05\x16\x07")
    sf.write(str(root / "siteA" / "20191113_200000.WAV"), noise[::2], 8000)
    os.symlink(elsewhere / "siteB", root / "siteB")
    # the synthetic model on a folder the simulator did not write: refused, unless asked for
    write_config(trained, predict={"audio_dir": "moth", "experiment": "det_cnn", "seed": 0})
    refused = snakemake(trained, "-n", "predict", check=False)
    assert refused.returncode != 0
    assert ("'moth' holds recordings anuraflow did not simulate, and 'det_cnn' is trained on "
            "the demo's synthetic species") in refused.stdout + refused.stderr
    said = refused.stdout + refused.stderr
    assert "./run_workflow.sh predict --configfile config/own-data.yaml" in said
    write_config(trained, predict={"audio_dir": "moth", "experiment": "det_cnn", "seed": 0,
                                   "allow_synthetic_model": True})  # fmt: skip
    snakemake(trained, "predict")
    status = pd.read_csv(trained / "results/predict/det_cnn/recordings.tsv", sep="\t").set_index(
        "recording_id"
    )
    moth = status[status["file"].str.startswith("moth/")]
    assert sorted(moth.index) == [
        "siteA_20191113_190000",
        "siteA_20191113_200000",
        "siteB_20191113_190000",
    ]
    assert moth["status"].eq("ok").all() and moth["windows"].eq(4).all()
    assert moth.loc["siteB_20191113_190000", "site"] == "siteB"
    assert moth.loc["siteA_20191113_200000", "start_datetime"] == "2019-11-13T20:00:00"
    assert (
        "recorded at 8000 Hz: no content above 4000 Hz"
        in (moth.loc["siteA_20191113_200000", "notes"])
    )
    activity = pd.read_csv(trained / "results/predict/det_cnn/activity.csv")
    hours = activity[activity["site"].isin(["siteA", "siteB"])]
    assert set(zip(hours["site"], hours["hour"], strict=True)) == {
        ("siteA", 19),
        ("siteA", 20),
        ("siteB", 19),
    }
    assert hours["recorded_min"].eq(0.1).all()  # 6 s each


@pytest.mark.workflow
def test_the_archive_decisions_train_with_train_on_reviews(new_season, trained):
    """predict.train_on_reviews (last here: it retrains the model): the decided recordings of
    predict.audio_dir join the dataset where they lie, only the decided ones are ingested,
    each keeps only its decided windows as partial labels, always in train, and the model
    trains on them, from the labels file of test_validate_estimates_precision_..."""
    labels_file = trained / "review" / "labels-validate-det_cnn.tsv"
    decided = read_review_file(labels_file)
    before = json.loads((trained / RUN / "metrics.json").read_text())["n_windows"]["train"]
    write_config(trained, predict={"audio_dir": "next_season", "experiment": "det_cnn", "seed": 0,
                                   "train_on_reviews": True},
                 validate={"bins": 4, "per_bin": 8, "min_reviews": 12, "n_boot": 200},
                 review_labels="review", experiment_overrides={"epochs": 2})  # fmt: skip
    planned = planned_jobs(trained, f"{RUN}/metrics.json")
    ingested = {rec for rule, rec in planned if rule == "ingest_recording"}
    assert ingested == set(decided["recording"])  # the reviewed recordings only
    assert {"merge_review_labels", "segment_windows", "train_model"} <= {
        rule for rule, _ in planned
    }
    snakemake(trained, f"{RUN}/metrics.json")
    windows = pd.read_parquet(trained / "results/windows.parquet")
    mine = windows[windows.recording_id.isin(ingested)]
    assert (
        mine["partial"].all()
        and not windows.loc[~windows.recording_id.isin(ingested), "partial"].any()
    )
    keys = set(zip(decided["recording"], decided["start_s"].round(6), strict=True))
    assert set(zip(mine["recording_id"], mine["start_s"].round(6), strict=True)) == keys
    for d in decided.itertuples():
        row = mine[(mine.recording_id == d.recording) & np.isclose(mine.start_s, d.start_s)].iloc[0]
        assert row[f"known_{d.species}"] == 1 and row[d.species] == (d.decision == "present")
    splits = pd.read_parquet(trained / "results/splits.parquet").set_index("recording_id")
    assert (splits.loc[sorted(ingested), "subset"] == "train").all()
    after = json.loads((trained / RUN / "metrics.json").read_text())["n_windows"]["train"]
    assert after == before + len(keys)
    # a probe trains on the same windows: the decided recordings' embeddings are computed as
    # the dataset's (planned here, not run: the embedding model is the probes' tests' subject)
    probe = {"name": "probe", "model": "linear_probe", "seeds": [0], "epochs": 2}
    (trained / "experiments" / "probe.yaml").write_text(yaml.safe_dump(probe))
    write_config(trained, experiments=["det_cnn", "probe"], review_labels="review",
                 predict={"audio_dir": "next_season", "experiment": "det_cnn", "seed": 0,
                          "train_on_reviews": True})  # fmt: skip
    planned = planned_jobs(trained, "results/runs/probe/seed0/metrics.json")
    embedded = {rec for rule, rec in planned if rule == "compute_embeddings"}
    assert ingested <= embedded and embedded <= set(windows["recording_id"])
