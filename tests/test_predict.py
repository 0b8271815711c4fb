"""Unit tests of detection: thresholds, the model bundle and its ONNX export, streamed
scoring, selections, Raven tables and the activity table."""

from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
import torch
from sklearn.metrics import f1_score

from anuraflow.data.audio import AudioError, read_audio, standardise_recording, to_mono
from anuraflow.data.raven import parse_raven_table
from anuraflow.detect.detections import (
    activity_table,
    detections_table,
    merge_runs,
    recorded_seconds_by_hour,
    write_raven_table,
)
from anuraflow.detect.predict import audio_facts, frame_blocks, score_recording
from anuraflow.detect.predict_outputs import ScoredRecording, read_records
from anuraflow.evaluate.thresholds import best_f1_threshold, threshold_vector, tune_thresholds
from anuraflow.features.frontend import Frontend
from anuraflow.features.logmel import LogMelConfig, logmel
from anuraflow.learn.bundle import WindowScorer, export_onnx, load_bundle, save_bundle
from anuraflow.learn.experiments import experiment_settings
from anuraflow.learn.models import build_model

CFG = LogMelConfig(n_mels=32, hop_length=256)


# --- thresholds ---------------------------------------------------------------------------


def brute_force_best(true, prob):
    """The best F1 over every cut at a score that occurs, by scikit-learn, highest on ties;
    the threshold halfway to the next lower score."""
    best = None
    values = sorted(set(prob), reverse=True)
    for i, t in enumerate(values):
        f1 = f1_score(true, (prob >= t).astype(int), zero_division=0)
        if best is None or f1 > best[1] + 1e-12:
            below = values[i + 1] if i + 1 < len(values) else t
            best = ((t + below) / 2, f1)
    return best


@pytest.mark.parametrize("seed", range(6))
def test_best_f1_threshold_equals_a_brute_force_search(seed):
    rng = np.random.default_rng(seed)
    true = rng.random(60) < 0.3
    true[0] = True
    prob = np.round(np.clip(true * 0.3 + rng.random(60) * 0.7, 0, 1), 2)  # ties included
    threshold, f1 = best_f1_threshold(true, prob)
    expected = brute_force_best(true.astype(int), prob)
    assert threshold == pytest.approx(expected[0])
    assert f1 == pytest.approx(expected[1])


def test_best_f1_threshold_hand_case_and_degenerate_cases():
    # scores 0.9 (pos), 0.8 (neg), 0.6 (pos), 0.1 (neg): cut at 0.6 -> P 2/3, R 1, F1 0.8;
    # the threshold halfway between 0.6 and 0.1
    threshold, f1 = best_f1_threshold(np.array([1, 0, 1, 0]), np.array([0.9, 0.8, 0.6, 0.1]))
    assert (threshold, f1) == (pytest.approx(0.35), pytest.approx(0.8))
    # saturated positives at 1.0: not 1.0 itself
    assert best_f1_threshold(np.array([1, 1, 0]), np.array([1.0, 1.0, 0.2]))[0] == 0.6
    assert best_f1_threshold(np.zeros(5), np.linspace(0, 1, 5)) is None  # no positive
    assert best_f1_threshold(np.ones(3), np.array([0.2, 0.4, 0.3])) == (0.2, 1.0)  # all positive


def test_tune_thresholds_falls_back_where_validation_has_no_positive():
    true = np.array([[1, 0], [0, 0], [1, 0]])
    prob = np.array([[0.7, 0.9], [0.2, 0.1], [0.4, 0.3]])
    tuned = tune_thresholds(true, prob, ["A", "B"], fallback=0.5)
    assert tuned["A"] == {"threshold": pytest.approx(0.3), "val_f1": 1.0, "source": "validation"}
    assert tuned["B"] == {"threshold": 0.5, "val_f1": None, "source": "fallback"}
    assert threshold_vector(tuned, ["B", "A"]) == pytest.approx([0.5, 0.3])
    assert threshold_vector(0.3, ["A", "B"]).tolist() == [0.3, 0.3]
    with pytest.raises(KeyError, match="C"):
        threshold_vector(tuned, ["C"])


# --- bundle and ONNX ----------------------------------------------------------------------


def make_bundle(path, model_name="small_cnn", normalisation="dataset", **extra):
    torch.manual_seed(0)
    frontend = Frontend(
        CFG, 3.0, normalisation, torch.linspace(-60, -40, 32), torch.linspace(5, 15, 32)
    )
    settings = experiment_settings(
        {"name": "t", "model": model_name, "normalise": normalisation, **extra}
    )
    model = build_model(
        model_name, 3, n_mels=32, n_frames=frontend.n_frames,
        dense_head=settings["dense_head"], **settings["model_args"],
    ).eval()  # fmt: skip
    thresholds = tune_thresholds(
        np.array([[1, 0, 0], [0, 1, 0]]), np.array([[0.7, 0.2, 0.1], [0.3, 0.6, 0.2]]),
        ["AAA", "BBB", "CCC"], 0.5,
    )  # fmt: skip
    save_bundle(
        path, model, frontend, settings, {"AAA": "A a", "BBB": "B b", "CCC": "C c"},
        thresholds, {"experiment": "t", "seed": 0, "fold": None, "epoch": 1, "provenance": {}},
    )  # fmt: skip
    return model, frontend


def random_frames(n=900, seed=0):
    g = torch.Generator().manual_seed(seed)
    return Frontend.store((torch.randn(n, 32, generator=g) * 10 - 50).numpy())


@pytest.mark.parametrize("dense_head", [None, {"units": [16]}])
def test_bundle_reloads_the_same_scorer_without_the_config(tmp_path, dense_head):
    model, frontend = make_bundle(tmp_path / "m.pt", dense_head=dense_head)
    bundle = load_bundle(tmp_path / "m.pt")
    frames, firsts = random_frames(), torch.tensor([0, 125, 250, 500])
    expected = torch.sigmoid(model(frontend.model_input(frames, firsts))).detach().numpy()
    assert np.allclose(bundle.score(frames, firsts), expected, atol=1e-6)
    assert bundle.codes == ["AAA", "BBB", "CCC"] and bundle.names[0] == "A a"
    assert bundle.frontend.features == CFG and bundle.frontend.n_frames == 188
    # AAA: halfway between 0.7 and 0.3; BBB: between 0.6 and 0.2; CCC: no positive, fixed
    assert bundle.decision_thresholds("tuned") == pytest.approx([0.5, 0.4, 0.5])
    assert bundle.decision_thresholds("fixed").tolist() == [0.5, 0.5, 0.5]
    assert bundle.decision_thresholds(0.25).tolist() == [0.25] * 3


def test_a_file_that_is_no_bundle_is_refused(tmp_path):
    torch.save({"model": {}}, tmp_path / "old.pt")
    with pytest.raises(ValueError, match="not an anuraflow model bundle"):
        load_bundle(tmp_path / "old.pt")


@pytest.mark.parametrize("normalisation", ["dataset", "sample_z"])
def test_onnx_export_matches_pytorch_in_onnxruntime(tmp_path, normalisation):
    import onnx
    import onnxruntime as ort

    make_bundle(tmp_path / "m.pt", normalisation=normalisation)
    export_onnx(tmp_path / "m.pt", tmp_path / "m.onnx")
    bundle = load_bundle(tmp_path / "m.pt")
    frames, firsts = random_frames(seed=1), torch.arange(0, 700, 100)
    expected = bundle.score(frames, firsts)
    raw = bundle.frontend.windows(frames, firsts).numpy()
    session = ort.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
    (got,) = session.run(None, {"logmel_db": raw})
    assert got.shape == expected.shape == (7, 3)
    assert np.abs(got - expected).max() < 1e-4
    meta = {p.key: p.value for p in onnx.load(str(tmp_path / "m.onnx")).metadata_props}
    assert meta["anuraflow.codes"] == '["AAA", "BBB", "CCC"]'
    # the exported graph is the scorer the bundle runs
    torch_out = WindowScorer(bundle)(torch.from_numpy(raw)).detach().numpy()
    assert np.allclose(torch_out, expected, atol=1e-6)


# --- streamed scoring ---------------------------------------------------------------------


@pytest.mark.parametrize("rate,channels", [(16000, 1), (22050, 2), (44100, 1), (48000, 2)])
def test_streamed_frames_equal_the_whole_recording_after_ingest(tmp_path, rate, channels):
    """Blocks of 4 s with their context give, frame for frame, the log-mels of the file
    standardised by ingest and computed in one piece."""
    x = np.random.default_rng(rate).normal(0, 0.1, (int(rate * 13.7) + 5, channels))
    sf.write(str(tmp_path / "a.flac"), x.astype(np.float32), rate)
    standardise_recording(tmp_path / "a.flac", tmp_path / "s.wav", tmp_path / "s.json", 16000)
    samples, sr = read_audio(tmp_path / "s.wav")
    whole = Frontend.store(logmel(to_mono(samples), sr, CFG))
    frontend = Frontend(CFG, 3.0, "none", torch.zeros(32), torch.ones(32))
    blocks = list(frame_blocks(tmp_path / "a.flac", audio_facts(tmp_path / "a.flac"), frontend, 4))
    assert len(blocks) >= 3
    assert [b[0] for b in blocks] == sorted(b[0] for b in blocks)
    assert torch.equal(torch.cat([b for _, b in blocks]), whole)


def test_score_recording_windows_and_short_and_bad_files(tmp_path):
    make_bundle(tmp_path / "m.pt")
    bundle = load_bundle(tmp_path / "m.pt")
    rng = np.random.default_rng(0)
    sf.write(str(tmp_path / "ten.wav"), rng.normal(0, 0.1, 160000).astype(np.float32), 16000)
    scores, facts = score_recording(tmp_path / "ten.wav", bundle, hop_s=1.0, block_s=10)
    assert scores["start_s"].tolist() == [float(s) for s in range(8)]  # 10 s: starts 0..7
    assert list(scores.columns) == ["start_s", "end_s", "AAA", "BBB", "CCC"]
    assert facts.duration_s == 10.0
    # the same scores whatever the block size
    small, _ = score_recording(tmp_path / "ten.wav", bundle, hop_s=1.0, block_s=3.3)
    assert np.allclose(small[["AAA", "BBB", "CCC"]], scores[["AAA", "BBB", "CCC"]], atol=1e-6)
    sf.write(str(tmp_path / "short.wav"), rng.normal(0, 0.1, 20000).astype(np.float32), 16000)
    short, _ = score_recording(tmp_path / "short.wav", bundle)
    assert len(short) == 0
    sf.write(str(tmp_path / "zero.wav"), np.zeros(64000, np.float32), 16000)
    with pytest.raises(AudioError, match="zero.wav: every sample is zero"):
        score_recording(tmp_path / "zero.wav", bundle)
    (tmp_path / "junk.wav").write_bytes(b"not audio at all")
    with pytest.raises(AudioError, match="junk.wav: cannot be read"):
        score_recording(tmp_path / "junk.wav", bundle)
    nan = rng.normal(0, 0.1, 64000).astype(np.float32)
    nan[40000] = np.nan
    sf.write(str(tmp_path / "nan.wav"), nan, 16000, subtype="FLOAT")
    with pytest.raises(AudioError, match="nan.wav: contains NaN"):
        score_recording(tmp_path / "nan.wav", bundle)


def test_a_shard_scores_each_recording_as_alone_and_a_bad_one_costs_only_itself(tmp_path):
    """predict_shard over a long recording (streamed, a block ahead), short ones (read ahead
    whole), a silent, an empty and a junk file: the scores of each good one equal
    score_recording's on it alone, each bad one is a skipped record with its reason."""

    from anuraflow.detect.predict import PredictSettings
    from anuraflow.detect.shard import blocks_ahead, predict_shard

    make_bundle(tmp_path / "m.pt")
    bundle = load_bundle(tmp_path / "m.pt")
    rng = np.random.default_rng(1)
    files = {}
    for name, seconds in (("long", 25.3), ("a", 6.0), ("b", 4.5)):
        files[name] = str(tmp_path / f"{name}.wav")
        sf.write(files[name], rng.normal(0, 0.1, int(16000 * seconds)).astype(np.float32), 16000)
    files["silent"] = str(tmp_path / "silent.wav")
    sf.write(files["silent"], np.zeros(64000, np.float32), 16000)
    files["empty"] = str(tmp_path / "empty.wav")
    (tmp_path / "empty.wav").write_bytes(b"")
    files["junk"] = str(tmp_path / "junk.wav")
    (tmp_path / "junk.wav").write_text("not audio")
    files["cut"] = str(tmp_path / "cut.wav")  # a's bytes cut at 4 s: its header says 6 s
    (tmp_path / "cut.wav").write_bytes(Path(files["a"]).read_bytes()[: 44 + 4 * 16000 * 2])
    order = ["a", "silent", "long", "empty", "b", "junk", "cut"]
    outputs = {"scores": str(tmp_path / "s.parquet"), "records": str(tmp_path / "r.json")}
    settings = PredictSettings(block_s=10.0, on_bad_recording="skip")
    records = predict_shard({r: files[r] for r in order}, tmp_path / "m.pt", outputs, settings)
    assert [r.recording_id for r in records] == order
    on_disk = read_records([tmp_path / "r.json"])  # read back as written, the model's facts once
    assert on_disk.recordings == sorted(records, key=lambda r: r.recording_id)
    assert on_disk.model.codes == bundle.codes and on_disk.model.band_hz == (0.0, 8000.0)
    scores = pd.read_parquet(outputs["scores"])
    for rec in ("a", "long", "b"):
        alone, _ = score_recording(files[rec], bundle, 1.0, 10.0)
        mine = scores[scores.recording_id == rec].drop(columns="recording_id")
        assert len(mine) == len(alone) > 0
        np.testing.assert_allclose(mine.to_numpy(), alone.to_numpy(), rtol=0, atol=1e-6)
    status = {r.recording_id: (r.status, r.problem) for r in records}
    assert status["silent"] == ("skipped", f"{files['silent']}: every sample is zero "
                                "(a dead microphone or failed recorder?)")  # fmt: skip
    assert status["empty"] == ("skipped", f"{files['empty']}: empty file (0 bytes)")
    assert status["junk"][0] == "skipped" and "junk.wav: cannot be read" in status["junk"][1]
    # a file cut short is scored for what it holds, and says so
    cut = next(r for r in records if r.recording_id == "cut")
    assert cut.status == "ok" and cut.duration_s == 4.0
    assert any(n.startswith("cut short: its header promises 6.0 s, the file holds 4.0 s")
               for n in cut.notes)  # fmt: skip
    assert not any("cut short" in n for r in records if r.recording_id != "cut"
                   for n in r.notes)  # fmt: skip
    # the read-ahead iterator: order kept, a producer's error raised at its place
    assert list(blocks_ahead(iter(range(50)), depth=2)) == list(range(50))

    def failing():
        yield 1
        raise AudioError("x.wav: broken after one block")

    got = []
    with pytest.raises(AudioError, match="broken after one block"):
        for item in blocks_ahead(failing()):
            got.append(item)
    assert got == [1]
    # a consumer that stops early (a scoring error) ends the reader too: nothing hangs
    import itertools
    import threading

    stream = blocks_ahead(itertools.count(), depth=2)
    assert next(stream) == 0
    stream.close()
    assert not [t for t in threading.enumerate() if t.name == "block-reader"]


# --- selections, Raven, activity ----------------------------------------------------------


def test_merge_runs_hand_case():
    starts = np.arange(9.0)
    scores = pd.DataFrame(
        {
            "start_s": starts,
            "end_s": starts + 3,
            # A: windows 0-1 above, 2 below, 3-4 above (overlapping 0-1's spans: one
            # selection), 5-7 below, 8 above (starts after 4's end at 7: a second one)
            "A": [0.9, 0.6, 0.2, 0.7, 0.7, 0.1, 0.1, 0.1, 0.95],
            "B": [0.1] * 9,
            "C": [0.0] * 9,
        }
    )
    sel = merge_runs(scores, ["A", "B", "C"], np.array([0.5, 0.1, 0.5]))
    assert sel.to_dict("records") == [
        {"species": "A", "begin_s": 0.0, "end_s": 7.0, "max_score": 0.9, "n_windows": 4},
        {"species": "B", "begin_s": 0.0, "end_s": 11.0, "max_score": 0.1, "n_windows": 9},
        {"species": "A", "begin_s": 8.0, "end_s": 11.0, "max_score": 0.95, "n_windows": 1},
    ]
    # windows that only touch (hop = window length) are consecutive: one selection
    touching = pd.DataFrame({"start_s": [0.0, 3.0], "end_s": [3.0, 6.0], "A": [0.9, 0.8]})
    assert merge_runs(touching, ["A"], np.array([0.5]))["end_s"].tolist() == [6.0]
    assert merge_runs(scores.iloc[:0], ["A"], np.array([0.5])).empty


def test_raven_table_parses_back_with_our_parser(tmp_path):
    sel = pd.DataFrame(
        {
            "species": ["A", "B"],
            "begin_s": [0.0, 3.0],
            "end_s": [4.0, 7.0],
            "max_score": [0.9, 0.7],
            "n_windows": [2, 2],
        }
    )
    write_raven_table(sel, tmp_path / "r.txt", (0.0, 8000.0))
    table, skipped = parse_raven_table(tmp_path / "r.txt", "rec")
    assert skipped == []
    assert table[["start_s", "end_s", "species"]].values.tolist() == [
        [0.0, 4.0, "A"],
        [3.0, 7.0, "B"],
    ]
    assert table["high_freq_hz"].tolist() == [8000.0, 8000.0]
    write_raven_table(sel.iloc[:0], tmp_path / "empty.txt", (0.0, 8000.0))
    assert parse_raven_table(tmp_path / "empty.txt", "rec")[0].empty


def test_recorded_seconds_split_at_hour_boundaries():
    assert recorded_seconds_by_hour(datetime(2020, 1, 1, 5, 59, 0), 180) == {5: 60.0, 6: 120.0}
    assert recorded_seconds_by_hour(datetime(2020, 1, 1, 23, 30), 3600) == {23: 1800.0, 0: 1800.0}


def test_activity_table_hand_case():
    records = [
        ScoredRecording("S1_20200101_050000", "a.wav", "S1", "2020-01-01T05:00:00",
                        duration_s=3600.0),
        ScoredRecording("S2_20200101_060000", "b.wav", "S2", "2020-01-01T06:00:00",
                        duration_s=1800.0),
        ScoredRecording("nodate", "c.wav", "x", None, duration_s=60.0),
    ]  # fmt: skip

    def sel(rows):
        return pd.DataFrame(rows, columns=["species", "begin_s", "end_s", "max_score", "n_windows"])

    detections = detections_table(
        records,
        [
            sel([["A", 10.0, 13.0, 0.9, 1], ["A", 3590.0, 3593.0, 0.8, 1]]),
            sel([["B", 0.0, 3.0, 0.7, 1]]),
            sel([["A", 0.0, 3.0, 0.9, 1]]),
        ],
    )
    assert len(detections) == 4
    assert detections["begin_datetime"].tolist()[:3] == [
        "2020-01-01T05:00:10",
        "2020-01-01T05:59:50",
        "2020-01-01T06:00:00",
    ]
    assert detections["begin_datetime"].iloc[3] is None
    activity = activity_table(detections, records, ["A", "B"]).set_index(
        ["species", "site", "hour"]
    )
    assert activity.loc[("A", "S1", 5), "detections"] == 2
    assert activity.loc[("A", "S1", 5), "detections_per_hour"] == 2.0
    assert activity.loc[("B", "S2", 6), "detections"] == 1
    assert activity.loc[("B", "S2", 6), "recorded_min"] == 30.0
    assert activity.loc[("B", "S2", 6), "detections_per_hour"] == 2.0
    assert activity.loc[("A", "S2", 6), "detections"] == 0  # zeros are rows too
    assert len(activity) == 4  # 2 species x 2 (site, hour) cells recorded; no-date left out


def test_tuned_metrics_equal_sklearn_at_each_species_threshold():
    """Test metrics at per-species thresholds: every species' F1 by scikit-learn at its own
    threshold, macro over active species; a species without a test positive is left out
    (active) or counts 0 (all species); single-label runs have none."""
    from anuraflow.evaluate.scoring import tuned_metrics

    rng = np.random.default_rng(3)
    true = (rng.random((80, 3)) < 0.3).astype(int)
    true[:, 2] = 0  # no positive on test
    prob = rng.random((80, 3))
    thresholds = {
        "A": {"threshold": 0.2}, "B": {"threshold": 0.7}, "C": {"threshold": 0.5}
    }  # fmt: skip
    groups = {"A": "frequent", "B": "rare", "C": "rare"}
    out = tuned_metrics(true, prob, ["A", "B", "C"], groups, thresholds)
    f1 = [
        f1_score(true[:, j], prob[:, j] >= t, zero_division=0)
        for j, t in enumerate([0.2, 0.7, 0.5])
    ]
    assert out["macro_f1"]["all"] == pytest.approx((f1[0] + f1[1]) / 2)
    assert out["macro_f1"]["rare"] == pytest.approx(f1[1])  # C absent: left out
    assert out["macro_f1_all_species"]["all"] == pytest.approx(sum(f1) / 3)
    assert out["per_species"]["C"]["f1"] == 0.0 and out["per_species"]["C"]["support"] == 0
    assert tuned_metrics(true, prob, ["A", "B", "C"], groups, None) is None


def test_records_of_two_models_are_refused_and_the_facts_read_once(tmp_path):
    """predict_outputs.read_records: the model's facts once, recordings in id order; shards
    scored by two bundles (other thresholds) refused, naming the recording."""
    import json

    from anuraflow.detect.predict_outputs import read_records

    facts = {"codes": ["A", "B"], "names": ["a", "b"], "thresholds": {"A": 0.5, "B": 0.4},
             "band_hz": [0.0, 8000.0]}  # fmt: skip
    shard = [{"recording_id": r, "file": f"{r}.wav", "site": "S", **facts} for r in ("r2", "r1")]
    (tmp_path / "one.json").write_text(json.dumps(shard))
    run = read_records([tmp_path / "one.json"])
    assert [r.recording_id for r in run.recordings] == ["r1", "r2"]
    assert run.model.codes == ["A", "B"] and run.model.name_of == {"A": "a", "B": "b"}
    assert run.file_of == {"r1": "r1.wav", "r2": "r2.wav"}
    assert [r.recording_id for r in run.without(frozenset({"r1"})).recordings] == ["r2"]
    other = [{**shard[0], "recording_id": "r3", "thresholds": {"A": 0.9, "B": 0.4}}]
    (tmp_path / "two.json").write_text(json.dumps(other))
    with pytest.raises(ValueError, match="r3 was scored by another model than r1"):
        read_records([tmp_path / "one.json", tmp_path / "two.json"])
    (tmp_path / "none.json").write_text("[]")
    with pytest.raises(ValueError, match="no recordings were scored"):
        read_records([tmp_path / "none.json"])
