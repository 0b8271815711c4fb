"""`validate` (issue 42) without Snakemake: labels files sorted between the dataset's and the
archive's merges, the stratified draw per species, the page's undecided windows, the archive's
decisions checked, every species' estimates worked by hand, the detections cut again, and the
degenerate cases (one species, no reviews, no positive, one score, too few reviews)."""

import json

import numpy as np
import pandas as pd
import pytest

from anuraflow.data.label_rows import AnnotationError
from anuraflow.data.review_labels import (
    label_files_by_use,
    labels_file_text,
    read_review_labels,
    recordings_by_file,
)
from anuraflow.detect.detections import merge_runs
from anuraflow.detect.predict_outputs import ScoredRecording
from anuraflow.detect.validation import (
    ValidateSettings,
    recut_detections,
    reviewed_windows,
    selection_precision,
    validate_species,
)
from anuraflow.detect.validation_sample import (
    SampleDesign,
    draw_validation_sample,
    merge_archive_labels,
    pending_windows,
    species_edges,
)

TIME = "2026-12-06T10:00:00Z"


def labels(path, rows, reviewer="ana", time=TIME):
    """A labels file as the page downloads it: rows of (recording, start, species, decision)."""
    table = pd.DataFrame(rows, columns=["recording", "start_s", "species", "decision"])
    table["end_s"] = table["start_s"] + 3
    path.write_text(
        labels_file_text(
            table[["recording", "start_s", "end_s", "species", "decision"]], reviewer, time
        )
    )
    return str(path)


def test_labels_files_go_to_the_merges_that_read_them(tmp_path):
    dataset, archive = {"d1", "both"}, {"a1", "both"}
    only_archive = labels(tmp_path / "a.tsv", [("a1", 0, "AAA", "present")])
    only_dataset = labels(tmp_path / "d.tsv", [("d1", 0, "AAA", "absent")])
    mixed = labels(tmp_path / "m.tsv", [("d1", 1, "AAA", "present"), ("a1", 2, "AAA", "absent")])
    shared = labels(tmp_path / "s.tsv", [("both", 0, "AAA", "present")])
    broken = tmp_path / "b.tsv"
    broken.write_text("recording\tstart\n")
    files = [only_archive, only_dataset, mixed, shared, str(broken)]
    to_dataset, to_archive, aside = label_files_by_use(recordings_by_file(files), dataset, archive)
    assert to_archive == [only_archive, mixed, shared]
    # the unreadable file goes where its error is reported as before: the dataset's merge
    assert to_dataset == [only_dataset, mixed, shared, str(broken)]
    assert aside == ["a1"]
    # the dataset's merge leaves the mixed file's archive rows out, and counts them
    decisions, record = read_review_labels([mixed], {"d1": 10.0}, ["AAA"], 3.0, 1.0,
                                           frozenset(aside))  # fmt: skip
    assert decisions["recording"].tolist() == ["d1"] and record["n_archive_rows"] == 1
    with pytest.raises(AnnotationError, match=r"m.tsv:4: recording 'a1' is not a recording"):
        read_review_labels([mixed], {"d1": 10.0}, ["AAA"], 3.0, 1.0)


def archive_scores(n_recordings=6, n_windows=10, seed=0, codes=("AAA", "BBB")) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frames = []
    for r in range(n_recordings):
        t = pd.DataFrame({"recording_id": f"r{r}", "start_s": np.arange(n_windows, dtype=float)})
        t["end_s"] = t["start_s"] + 3
        for code in codes:
            t[code] = rng.uniform(size=n_windows)
        frames.append(t)
    scores = pd.concat(frames, ignore_index=True)
    scores["window_id"] = [
        f"{r}_{s:g}_{s + 3:g}" for r, s in zip(scores.recording_id, scores.start_s, strict=True)
    ]
    return scores


def test_the_draw_is_per_species_per_bin_and_independent_of_row_order():
    scores = archive_scores()
    design = SampleDesign(bins=3, per_bin=4, spacing="top", seed=1)
    sample, strata = draw_validation_sample(scores, ["AAA", "BBB"], design)
    for code in ("AAA", "BBB"):
        mine = strata[strata.species == code]
        assert mine["windows"].sum() == len(scores)
        # top spacing: quantiles 0, 1/2, 3/4, 1 of 60 windows: 30, 15, 15
        assert mine["windows"].tolist() == [30, 15, 15]
        assert mine["drawn"].tolist() == [4, 4, 4]
        drawn = sample[sample.species == code]
        edges = np.r_[mine["low"].iloc[0], mine["high"].to_numpy()]
        assert (
            (drawn["score"] >= edges[drawn["bin"]]) & (drawn["score"] <= edges[drawn["bin"] + 1])
        ).all()
        assert (
            drawn["score"].to_numpy() == scores.set_index("window_id").loc[drawn["window_id"], code]
        ).all()
    again, _ = draw_validation_sample(scores.sample(frac=1, random_state=3), ["AAA", "BBB"], design)
    pd.testing.assert_frame_equal(sample, again)
    # each species its own stream of the seed: not the same positions in both species' bins
    a, b = (sample[sample.species == c]["window_id"].tolist() for c in ("AAA", "BBB"))
    assert a != b


def test_one_score_everywhere_is_one_bin_drawn_whole():
    scores = archive_scores(n_recordings=1, n_windows=5, codes=("AAA",))
    scores["AAA"] = 0.25
    assert species_edges(scores["AAA"].to_numpy(), SampleDesign(bins=4)).tolist() == [0.25, 0.25]
    sample, strata = draw_validation_sample(scores, ["AAA"], SampleDesign(bins=4, per_bin=10))
    assert len(sample) == 5 and strata[["windows", "drawn"]].values.tolist() == [[5, 5]]


def test_the_page_leaves_out_decided_windows_unsure_included():
    sample = pd.DataFrame({"species": ["AAA"] * 3 + ["BBB"] * 2, "recording_id": "r0",
                           "start_s": [0.0, 1.0, 2.0, 0.0, 1.0]})  # fmt: skip
    decisions = pd.DataFrame({"recording": ["r0", "r0", "r0"], "start_s": [0.0, 2.0, 1.0],
                              "species": ["AAA", "AAA", "AAA"],
                              "decision": ["present", "unsure", "absent"]})  # fmt: skip
    left = pending_windows(sample, decisions, seed=0)
    # r0 at 1 s was decided for AAA only: still asked for BBB
    assert left[["species", "start_s"]].values.tolist() in (
        [["BBB", 0.0], ["BBB", 1.0]],
        [["BBB", 1.0], ["BBB", 0.0]],
    )
    assert len(pending_windows(sample, decisions.iloc[:0], seed=0)) == 5
    assert (
        list(pending_windows(sample, decisions.iloc[:0], 0)["species"]) == ["AAA"] * 3 + ["BBB"] * 2
    )


def write_archive(tmp_path, scores, skipped=()):
    """A predict output: one shard's scores and records, as predict_shard writes them."""
    scores.drop(columns="window_id").to_parquet(tmp_path / "scores.parquet")
    codes = [
        c for c in scores.columns if c not in ("recording_id", "start_s", "end_s", "window_id")
    ]
    records = [{"recording_id": r, "file": f"{r}.wav", "site": "S", "start_datetime": None,
                "codes": codes, "names": codes, "thresholds": dict.fromkeys(codes, 0.5),
                "band_hz": [0.0, 8000.0], "status": "ok", "problem": None, "n_windows": 10,
                "selections": [], "notes": []}
               for r in sorted(scores["recording_id"].unique())]  # fmt: skip
    records += [{**records[0], "recording_id": r, "status": "skipped", "problem": "empty file"}
                for r in skipped]  # fmt: skip
    (tmp_path / "records.json").write_text(json.dumps(records))
    return [tmp_path / "scores.parquet"], [tmp_path / "records.json"]


def test_the_archive_decisions_are_checked_naming_file_and_line(tmp_path):
    scores = archive_scores(n_recordings=2)
    score_paths, record_paths = write_archive(tmp_path, scores, skipped=["bad"])
    out = (tmp_path / "d.parquet", tmp_path / "d.json")
    good = labels(tmp_path / "good.tsv", [("r0", 2, "AAA", "present"), ("r1", 4, "BBB", "absent"),
                                          ("elsewhere", 0, "AAA", "present")])  # fmt: skip
    decisions = merge_archive_labels([good], score_paths, record_paths, *out)
    # the dataset's recording in the file is the dataset merge's
    assert decisions[["recording", "start_s", "decision"]].values.tolist() == [
        ["r0", 2.0, "present"], ["r1", 4.0, "absent"]]  # fmt: skip
    assert json.loads(out[1].read_text())["n_decisions"]["present"] == 1
    cases = {
        "unknown species 'CCC'": [("r0", 2, "CCC", "present")],
        "bad could not be scored \\(empty file\\)": [("bad", 0, "AAA", "present")],
        "2.5-5.5 s of r0 is not a window predict scored": [("r0", 2.5, "AAA", "present")],
    }
    for message, rows in cases.items():
        path = labels(tmp_path / "x.tsv", rows)
        with pytest.raises(AnnotationError, match=f"x.tsv:3: {message}"):
            merge_archive_labels([path], score_paths, record_paths, *out)
    other = labels(tmp_path / "y.tsv", [("r0", 2, "AAA", "absent")], reviewer="bea")
    with pytest.raises(AnnotationError, match="Reviewers disagree"):
        merge_archive_labels([good, other], score_paths, record_paths, *out)


def hand_case():
    """An archive of one species, 8 windows in 2 recordings; bins [0, 0.5) (4 windows) and
    [0.5, 0.9] (4): 2 reviewed in the low bin (weight 2 each), 2 in the high (weight 2),
    one more decided outside the draw."""
    scores = pd.DataFrame({"recording_id": ["a"] * 4 + ["b"] * 4,
                           "start_s": [0.0, 1.0, 2.0, 3.0] * 2,
                           "AAA": [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 0.9]})  # fmt: skip
    sample = pd.DataFrame({"species": "AAA", "recording_id": ["a", "a", "b", "b"],
                           "start_s": [0.0, 2.0, 0.0, 3.0]})  # fmt: skip
    decisions = pd.DataFrame(
        {
            "recording": ["a", "a", "b", "b", "b"],
            "start_s": [0.0, 2.0, 0.0, 3.0, 2.0],
            "species": "AAA",
            "decision": ["absent", "present", "present", "present", "absent"],
        }
    )
    return scores, sample, decisions


def test_one_species_estimates_by_hand():
    scores, sample, decisions = hand_case()
    reviewed = reviewed_windows("AAA", decisions, sample, scores)
    assert reviewed["score"].tolist() == [0.1, 0.3, 0.5, 0.9, 0.8]
    assert reviewed["stratified"].tolist() == [True, True, True, True, False]
    edges = np.array([0.1, 0.5, 0.9])
    # today's behaviour, asked for: the decision outside the draw counted, the estimate's rule
    settings = ValidateSettings(target_precision=0.9, min_reviews=5, n_boot=200,
                                rule="estimate", include_unstratified=True)  # fmt: skip
    result = validate_species("AAA", reviewed, scores["AAA"].to_numpy(), edges, 0.3, settings)
    row = result.row
    # at 0.3: low bin {0.3 present} weight 4/2 = 2; high bin {0.5 P, 0.9 P, 0.8 A} weight 4/3
    expected = (2 * 1 + 4 / 3 * 2) / (2 + 4 / 3 * 3)
    assert row["precision_at_tuned"] == pytest.approx(expected)
    assert row["detections_at_tuned"] == 6 and row["reviewed"] == 5 and row["present"] == 3
    assert row["unstratified"] == 1 and row["unstratified_in_estimate"]
    # at 0.9 only the present 0.9: precision 1; at 0.8 the absent 0.8 joins: 0.5, so 0.9 is
    # the lowest threshold with every one from the first that reaches 0.9 at or above it
    assert row["threshold_for_target"] == pytest.approx(0.9)
    assert row["rule"] == "validated" and row["threshold"] == pytest.approx(0.9)
    assert row["detections"] == 1 and row["true_detections"] == pytest.approx(1.0)
    assert row["reviewed_above"] == 1  # the published threshold rests on one review: shown
    assert row["logistic_note"] is None and np.isfinite(row["logistic_slope"])
    # one review is no confidence: its interval's lower bound is below the target
    assert not row["target_met"] and row["precision_low"] < 0.9
    fewer = validate_species("AAA", reviewed, scores["AAA"].to_numpy(), edges, 0.3,
                             ValidateSettings(min_reviews=6, n_boot=200,
                                              include_unstratified=True)).row  # fmt: skip
    assert fewer["rule"] == "tuned: 5 reviews, fewer than validate.min_reviews (6)"
    assert fewer["threshold"] == 0.3 and fewer["detections"] == 6
    assert fewer["precision"] == pytest.approx(expected) and fewer["reviewed_above"] == 4
    strict = validate_species("AAA", reviewed.assign(present=[0, 1, 1, 0, 1]),
                              scores["AAA"].to_numpy(), edges, 0.3, settings).row  # fmt: skip
    assert strict["rule"] == "tuned: no threshold's estimate reaches precision 0.9"


def test_by_default_the_draw_alone_estimates_and_the_rest_is_counted_beside():
    """The decision outside the draw (0.8, absent) leaves the estimate; the bins' weights are
    the draw's: 2 reviews in each bin of 4 windows, weight 2 each."""
    scores, sample, decisions = hand_case()
    reviewed = reviewed_windows("AAA", decisions, sample, scores)
    edges = np.array([0.1, 0.5, 0.9])
    settings = ValidateSettings(target_precision=0.9, min_reviews=4, n_boot=200)
    assert settings.rule == "lower_bound" and not settings.include_unstratified
    result = validate_species("AAA", reviewed, scores["AAA"].to_numpy(), edges, 0.3, settings)
    row = result.row
    assert row["reviewed"] == 4 and row["present"] == 3
    assert row["unstratified"] == 1 and row["unstratified_present"] == 0
    assert not row["unstratified_in_estimate"]
    # at 0.3: 0.3, 0.5 and 0.9, every one present, weight 2 each: 1.0; at 0.1 the absent 0.1
    # joins: 6 / 8
    assert row["precision_at_tuned"] == 1.0
    curve = result.curve.set_index("threshold")
    assert curve.loc[0.1, "precision"] == pytest.approx(6 / 8)
    assert len(result.curve) == 4  # the draw's scores (the tuned 0.3 among them), not 0.8
    # four reviews do not put the lower bound at 0.9: the tuned threshold stays, says why,
    # and the plan names the reviews that would lift it at 0.3, where the estimate is 1
    assert row["rule"] == "tuned: no threshold's lower bound reaches precision 0.9"
    assert row["threshold"] == 0.3 and not row["target_met"]
    assert row["more_reviews"] is None and "at threshold 0.3, more than" in row["review_plan"]
    with pytest.raises(ValueError, match="validate.rule must be one of lower_bound, estimate"):
        ValidateSettings(rule="mean")


def test_settings_are_built_by_name_from_every_key_of_the_schema():
    import dataclasses

    import yaml
    from workflow_helpers import REPO

    from anuraflow.detect.validation_sample import SampleDesign

    schema = yaml.safe_load((REPO / "config/schemas/config.schema.yaml").read_text())
    keys = schema["properties"]["validate"]["properties"]
    section = {k: v["default"] for k, v in keys.items()}
    settings = ValidateSettings.from_config({**section, "rule": "estimate", "level": 0.8})
    assert settings.rule == "estimate" and settings.level == 0.8
    own = {f.name for f in dataclasses.fields(ValidateSettings)}
    design = {f.name for f in dataclasses.fields(SampleDesign)}
    # every schema key is one of the two objects' fields, and each default agrees
    assert set(keys) == own | design
    assert all(getattr(ValidateSettings(), k) == section[k] for k in own)


def test_the_selections_precision_by_hand():
    """One recording, windows of 3 s at a 1 s hop scored .9 .8 .2 .7, four of .1, .95: at 0.5
    windows 0, 1 and 3 are one selection (0-6 s: their spans overlap across window 2) and
    window 9 another (9-12 s)."""
    scores = pd.DataFrame({"recording_id": "a", "start_s": np.arange(10.0),
                           "AAA": [0.9, 0.8, 0.2, 0.7, 0.1, 0.1, 0.1, 0.1, 0.1, 0.95]})  # fmt: skip
    scores["end_s"] = scores["start_s"] + 3
    selections = merge_runs(scores, ["AAA"], np.array([0.5])).assign(recording_id="a")
    assert selections[["begin_s", "end_s", "n_windows"]].values.tolist() == [
        [0.0, 6.0, 3], [9.0, 12.0, 1]]  # fmt: skip
    # one bin over all ten windows; the draw decided windows 1 (absent) and 9 (absent), and
    # window 3 was decided present outside the draw
    sample = pd.DataFrame({"species": "AAA", "recording_id": "a", "start_s": [1.0, 9.0]})
    decisions = pd.DataFrame({"recording": "a", "start_s": [1.0, 9.0, 3.0], "species": "AAA",
                              "decision": ["absent", "absent", "present"]})  # fmt: skip
    reviewed = reviewed_windows("AAA", decisions, sample, scores)
    settings = ValidateSettings(min_reviews=1, n_boot=100, rule="estimate", target_precision=0.0)
    result = validate_species("AAA", reviewed, scores["AAA"].to_numpy(), np.array([0.1, 0.95]),
                              0.5, settings)  # fmt: skip
    assert result.row["threshold"] == 0.5
    got = selection_precision(result, selections)
    # weight 10 / 2 = 5 each: window 1's share 5 / 3 windows, in the selection known true
    # (window 3 present); window 9's 5 / 1, its selection false: (5 / 3) / (5 / 3 + 5)
    assert got["selection_precision"] == pytest.approx(0.25)
    assert got["selections"] == 2 and got["selections_reviewed"] == 2
    assert got["true_selections"] == pytest.approx(0.5)
    # per window the same draw says 0: both drawn windows are absent
    assert result.row["precision"] == 0.0
    none = selection_precision(result, selections.iloc[:0])
    assert none["selections"] == 0 and np.isnan(none["selection_precision"])


def test_the_published_table_formats_every_row_missing_values_as_dashes(tmp_path):
    """validation.html's and the report's rows, from precision.csv as written and read back."""
    from anuraflow.report.page import CONTENTS, contents, validation_context
    from anuraflow.report.validation_page import HEADER, table_rows

    scores, sample, decisions = hand_case()
    values, edges = scores["AAA"].to_numpy(), np.array([0.1, 0.5, 0.9])
    settings = ValidateSettings(min_reviews=4, n_boot=100)
    rows = [validate_species("AAA", reviewed_windows("AAA", d, sample, scores), values, edges, 0.3,
                             settings).row for d in (decisions, decisions.iloc[:0])]  # fmt: skip
    pd.DataFrame(rows).to_csv(tmp_path / "precision.csv", index=False)
    (tmp_path / "precision.png").write_bytes(b"\x89PNG")
    section = validation_context([tmp_path / "precision.csv", tmp_path / "precision.png"])
    cells = [r["cells"] for r in section["table"]["rows"]]
    assert cells == table_rows(rows) and len(cells[0]) == len(HEADER)
    # the draw's 4 decisions (3 present); the one outside it counted beside, none present
    assert cells[0][:5] == ["AAA", 4, 3, "1 (0)", "0.3"]
    assert cells[0][6:12] == ["–", "0.3", "tuned: no threshold's lower bound reaches precision 0.9",
                              3, f"1.00 ({rows[0]['precision_low']:.2f}–1.00)", "no"]  # fmt: skip
    low, high = rows[0]["precision_at_tuned_low"], rows[0]["precision_at_tuned_high"]
    assert cells[0][5] == f"{rows[0]['precision_at_tuned']:.2f} ({low:.2f}–{high:.2f})"
    # the plan is at the tuned threshold (its estimate 1 is above 0.9), and asks for more
    # windows than the hand case's bins of 4 hold: not reachable, no number
    assert cells[0][-1] == "–" and rows[0]["more_reviews"] is None
    assert cells[1][5] == "–" and cells[1][-1] == "–"  # no reviews: no estimate, no plan
    plan = rows[0]["review_plan"]
    assert plan.endswith("more than the bins have left to draw (bin 1: 41 of 2, bin 2: 50 of "
                         "2): not reachable there") and "at threshold 0.3" in plan
    # each note said once (the missing interval and fit of the second row say the same)
    assert section["notes"] == [
        "AAA: separated: every window reviewed as present scores above every absent one",
        f"AAA: {plan}", "AAA: no reviews"]  # fmt: skip
    anchors = [a for a, _ in contents(section, None)]
    assert anchors.index("validation") == anchors.index("review") + 1
    anchors = [a for a, _ in contents(section, {"table": {}})]
    assert anchors.index("occupancy") == anchors.index("validation") + 1
    assert validation_context(None) is None and contents(None, None) == CONTENTS


def test_no_reviews_and_no_positive_say_why():
    scores, sample, decisions = hand_case()
    values, edges = scores["AAA"].to_numpy(), np.array([0.1, 0.5, 0.9])
    settings = ValidateSettings(min_reviews=1, n_boot=100)
    nothing = reviewed_windows("AAA", decisions.iloc[:0], sample, scores)
    row = validate_species("AAA", nothing, values, edges, 0.3, settings).row
    assert row["rule"] == "tuned: 0 reviews, fewer than validate.min_reviews (1)"
    assert np.isnan(row["precision_at_tuned"]) and row["interval_note"] == "no reviews"
    assert row["logistic_note"] == "no reviews" and row["detections"] == 6
    absent = reviewed_windows("AAA", decisions.assign(decision="absent"), sample, scores)
    row = validate_species("AAA", absent, values, edges, 0.3, settings).row
    assert (
        row["precision_at_tuned"] == 0 and row["logistic_note"] == "no window reviewed as present"
    )
    assert row["rule"] == "tuned: no threshold's lower bound reaches precision 0.9"
    assert row["true_detections"] == 0


def test_detections_are_cut_again_at_the_thresholds_used():
    scores = archive_scores(n_recordings=3)
    records = [ScoredRecording(r, f"{r}.wav", "S", None) for r in ("r0", "r1", "r2", "skipped")]
    thresholds = {"AAA": 0.7, "BBB": 0.4}
    rules = {"AAA": "validated", "BBB": "tuned: 3 reviews, fewer than validate.min_reviews (50)"}
    table = recut_detections(scores.drop(columns="window_id"), records, ["AAA", "BBB"],
                             thresholds, rules)  # fmt: skip
    for r in ("r0", "r1", "r2"):
        own = scores[scores.recording_id == r]
        expected = merge_runs(own, ["AAA", "BBB"], np.array([0.7, 0.4]))
        got = table[table.recording_id == r]
        assert got[["species", "begin_s", "end_s", "n_windows"]].values.tolist() == (
            expected[["species", "begin_s", "end_s", "n_windows"]].values.tolist()
        )
    assert (table["rule"] == table["species"].map(rules)).all()
    assert (table["threshold"] == table["species"].map(thresholds)).all()
    assert "skipped" not in set(table["recording_id"])


def test_the_simulated_reviewer_answers_from_the_truth(tmp_path):
    """new_season's `write` puts the calls under truth/ (not beside the audio, where predict
    would not read them anyway), and `review` decides present exactly where a true call of the
    species overlaps the window."""
    from anuraflow.data.review_labels import read_review_file
    from anuraflow.simulate.new_season import main

    config = tmp_path / "config.yaml"
    config.write_text("synthetic: {seed: 7}\nspecies: [{code: BOAFAB}, {code: PHYCUV}]\n")
    main(["write", str(tmp_path / "season"), "--config", str(config), "--recordings", "3",
          "--duration-s", "12"])  # fmt: skip
    audio = sorted(p for p in (tmp_path / "season").iterdir()
                   if p.suffix in (".wav", ".flac"))  # fmt: skip
    assert len(audio) == 3 and len(list((tmp_path / "season" / "truth").glob("*.txt"))) == 3
    # the simulator marks the folder as its own: the demo's model may score it (predict)
    assert (tmp_path / "season" / "anuraflow-simulated.json").is_file()
    sample = pd.DataFrame([(p.stem, float(s), c) for p in audio for s in range(10)
                           for c in ("BOAFAB", "PHYCUV")],
                          columns=["recording_id", "start_s", "species"])  # fmt: skip
    sample["end_s"] = sample["start_s"] + 3
    # one recording asked about one species only: the other's calls there are not asked
    sample = sample[~((sample.recording_id == audio[0].stem) & (sample.species == "PHYCUV"))]
    sample = sample.reset_index(drop=True)
    sample.to_parquet(tmp_path / "sample.parquet")
    out = tmp_path / "labels.tsv"
    main(["review", str(tmp_path / "sample.parquet"), str(tmp_path / "season" / "truth"), str(out)])
    got = read_review_file(out)
    assert len(got) == len(sample)
    expected = []
    for row in sample.itertuples():
        lines = (tmp_path / "season" / "truth" / f"{row.recording_id}.txt").read_text().split("\n")
        calls = [line.split("\t") for line in lines if line]
        expected.append(
            any(
                lab.startswith(row.species)
                and min(float(e), row.end_s) - max(float(s), row.start_s) > 0
                for s, e, lab in calls
            )
        )
    assert (got["decision"] == "present").tolist() == expected
    assert 0 < sum(expected) < len(expected)


def test_the_validation_page_labels_in_chromium_and_its_labels_merge_back(chromium, tmp_path):
    """The page of `validate` in a real browser: no score on it, each card asking about the
    species it was drawn for; decisions made with keys and clicks, downloaded, merged as the
    archive's decisions, and the next page leaves the decided windows out."""
    import soundfile as sf
    from browser import DevTools

    from anuraflow.detect.validation_sample import write_validation_page

    scores = archive_scores(n_recordings=2, n_windows=4)
    score_paths, record_paths = write_archive(tmp_path, scores)
    for r in ("r0", "r1"):
        tone = 0.2 * np.sin(2 * np.pi * 800 * np.arange(8000 * 7) / 8000)
        sf.write(tmp_path / f"{r}.wav", tone, 8000, subtype="PCM_16")
    records = json.loads(record_paths[0].read_text())
    record_paths[0].write_text(json.dumps([{**r, "file": str(tmp_path / f"{r['recording_id']}.wav")}
                                           for r in records]))  # fmt: skip
    sample, _ = draw_validation_sample(scores, ["AAA", "BBB"], SampleDesign(bins=2, per_bin=1))
    sample.to_parquet(tmp_path / "sample.parquet")
    page = tmp_path / "review.html"
    write_validation_page(tmp_path / "sample.parquet", None, record_paths,
                          (page, tmp_path / "clips"), "validate-demo")  # fmt: skip
    text = page.read_text()
    assert text.count('class="hit"') == 4 and "score 0." not in text
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    tools = DevTools(chromium, downloads, tmp_path / "profile")
    try:
        tools.open(page.as_uri())
        shown = tools.js("[...document.querySelectorAll('.hit')].map(h => "
                         "[h.dataset.window, h.querySelector('select').value])")  # fmt: skip
        assert sorted(map(tuple, shown)) == sorted(
            zip(sample["window_id"], sample["species"], strict=True)
        )
        tools.press("1")  # the first card: present, for the species it asks about
        tools.press("j")
        tools.press("2")  # the second: absent
        tools.click(".hit:nth-child(3) button[data-decision='unsure']")
        assert tools.js("document.getElementById('count').textContent") == "3 decisions"
        tools.click("#reviewer")
        tools.type("Ana Tester")
        tools.click("#download")
        tools.wait_for("Browser.downloadProgress", state="completed")
    finally:
        tools.close()
    labels_path = downloads / "labels-validate-demo.tsv"
    decisions = merge_archive_labels([labels_path], score_paths, record_paths,
                                     tmp_path / "d.parquet", tmp_path / "d.json")  # fmt: skip
    ids = [f"{r}_{s:g}_{e:g}" for r, s, e in decisions[["recording", "start_s", "end_s"]].values]
    said = dict(zip(zip(ids, decisions.species, strict=True), decisions.decision, strict=True))
    expected = dict(
        zip([tuple(x) for x in shown[:3]], ["present", "absent", "unsure"], strict=True)
    )
    assert said == expected
    write_validation_page(
        tmp_path / "sample.parquet",
        tmp_path / "d.parquet",
        record_paths,
        (page, tmp_path / "clips"),
        "validate-demo",
    )
    left = page.read_text()
    assert left.count('class="hit"') == 1 and shown[3][0] in left


def test_the_wider_interval_is_the_union_of_the_bootstrap_and_the_beta_ones():
    from anuraflow.evaluate.reviewed_precision import (
        ReviewedSample,
        beta_precision,
        bootstrap_precision,
        precision_intervals,
    )

    scores, sample, decisions = hand_case()
    reviewed = reviewed_windows("AAA", decisions, sample, scores)
    drawn = ReviewedSample(reviewed, scores["AAA"].to_numpy(), np.array([0.1, 0.5, 0.9]))
    t = np.array([0.1, 0.3, 0.5, 0.9])
    boot = bootstrap_precision(drawn, t, 300, 2)
    beta = beta_precision(drawn, t, seed=2)
    wider = precision_intervals(drawn, t, "wider", 300, 2)
    for column in ("precision", "true_detections"):
        assert np.allclose(
            wider[f"{column}_low"], np.fmin(boot[f"{column}_low"], beta[f"{column}_low"])
        )
        assert np.allclose(
            wider[f"{column}_high"], np.fmax(boot[f"{column}_high"], beta[f"{column}_high"])
        )
    pd.testing.assert_frame_equal(precision_intervals(drawn, t, "bootstrap", 300, 2), boot)
    pd.testing.assert_frame_equal(precision_intervals(drawn, t, "beta", 300, 2), beta)
    with pytest.raises(ValueError, match="interval must be one of"):
        precision_intervals(drawn, t, "widest")


def test_the_plan_is_at_the_tuned_threshold_where_its_estimate_is_above_the_target():
    """A bin of 1,000 windows scored evenly, 40 reviewed: the twenty below 0.5 absent, the
    twenty above present but the one at 0.51. At a tuned 0.5 the estimate (19/20) is above
    0.9: the plan is there. At a tuned 0.2 (19 of 32) it is at the lowest threshold whose
    estimate reaches 0.9, walking down: 0.49 (19 of 21 = 0.905; at the next, 19 of 22)."""
    from anuraflow.detect.validation import curve_with_interval, plan_at
    from anuraflow.evaluate.reviewed_precision import ReviewedSample

    archive = (np.arange(1000) + 0.5) / 1000
    scores = np.r_[np.linspace(0.01, 0.49, 20), np.linspace(0.51, 0.99, 20)]
    present = np.r_[np.zeros(20), 0, np.ones(19)]
    reviewed = pd.DataFrame({"recording_id": [f"r{i % 7}" for i in range(40)], "score": scores,
                             "present": present})  # fmt: skip
    sample = ReviewedSample(reviewed, archive, np.array([0.0, 1.0]))
    thresholds = np.unique(np.r_[0.2, 0.5, scores])
    curve, _ = curve_with_interval(sample, thresholds, ValidateSettings(n_boot=200))
    at = curve.set_index("threshold")["precision"]
    assert at[0.5] == 0.95 and at[0.2] == pytest.approx(19 / 32)
    plan = plan_at(sample, curve, 0.5, 0.9, 0.9)
    assert plan.threshold == 0.5 and plan.total > 0 and plan.note is None
    lower = plan_at(sample, curve, 0.2, 0.9, 0.9)
    assert lower.threshold == pytest.approx(0.49) and at[0.49] == pytest.approx(19 / 21)


def test_the_models_own_training_recordings_are_left_out_of_the_draw(tmp_path):
    """predict.audio_dir may hold the labelled recordings the model trained on: the draw, the
    strata's counts and the estimates leave them out (their scores would flatter it)."""
    from anuraflow.detect.predict_outputs import read_scores
    from anuraflow.detect.validation_sample import write_validation_sample

    scores = archive_scores(n_recordings=4)
    score_paths, _ = write_archive(tmp_path, scores)
    kept = read_scores(score_paths, exclude=frozenset({"r1", "r3"}))
    assert sorted(kept["recording_id"].unique()) == ["r0", "r2"] and len(kept) == 20
    sample = write_validation_sample(score_paths, ["AAA", "BBB"], SampleDesign(bins=2, per_bin=3),
                                     tmp_path / "s.parquet", tmp_path / "strata.csv",
                                     frozenset({"r1", "r3"}))  # fmt: skip
    assert set(sample["recording_id"]) <= {"r0", "r2"}
    strata = pd.read_csv(tmp_path / "strata.csv")
    assert (strata.groupby("species")["windows"].sum() == 20).all()


def test_precision_per_site_by_hand():
    """The hand case's two recordings at two sites; the draw's four decisions, b's 0.9 absent
    here. At the threshold used (the tuned 0.3: four reviews do not validate one), site S1
    (recording a, all in bin 0: 4 windows, 2 reviewed, weight 2) has the present 0.3 above:
    1.0 of its 2 detections (0.3, 0.4); S2 (b, bin 1, weight 2) the present 0.5 and the
    absent 0.9: (2 + 0) / (2 + 2) = 0.5 of its 4."""
    from anuraflow.detect.validation import per_site_precision

    scores, sample, decisions = hand_case()
    decisions = decisions.assign(decision=["absent", "present", "present", "absent", "absent"])
    reviewed = reviewed_windows("AAA", decisions, sample, scores)
    settings = ValidateSettings(min_reviews=4, n_boot=100)
    result = validate_species("AAA", reviewed, scores["AAA"].to_numpy(), np.array([0.1, 0.5, 0.9]),
                              0.3, settings)  # fmt: skip
    assert result.row["threshold"] == 0.3
    site_of = {"a": "S1", "b": "S2"}
    sites = scores["recording_id"].map(site_of).to_numpy()
    site_windows = {site: np.flatnonzero(sites == site) for site in ("S1", "S2")}
    rows = {r["site"]: r for r in per_site_precision(result, site_of, site_windows, settings)}
    assert rows["S1"]["precision"] == 1.0 and rows["S1"]["detections"] == 2
    assert rows["S1"]["reviewed"] == 2 and rows["S1"]["reviewed_above"] == 1
    assert rows["S2"]["precision"] == pytest.approx(0.5) and rows["S2"]["detections"] == 4
    # the sites' detections add up to the archive's, and the overall estimate lies between
    assert rows["S1"]["detections"] + rows["S2"]["detections"] == result.row["detections"]
    assert 0.5 <= result.row["precision"] <= 1.0
    # degenerate: S2's windows split off as a site with no review (an empty group), and one
    # with reviews but no window above the threshold: no estimate, no interval, no error
    site_windows = {"S1": np.flatnonzero(sites == "S1"), "S3": np.flatnonzero(sites == "S2")}
    empty = {r["site"]: r for r in per_site_precision(result, {"a": "S1", "b": "S9"},
                                                      site_windows, settings)}  # fmt: skip
    assert empty["S3"]["reviewed"] == 0 and empty["S3"]["detections"] == 4
    assert np.isnan(empty["S3"]["precision"]) and np.isnan(empty["S3"]["precision_low"])
    high = validate_species("AAA", reviewed, scores["AAA"].to_numpy(), np.array([0.1, 0.5, 0.9]),
                            0.95, settings)  # fmt: skip
    above = per_site_precision(high, site_of, {"S1": np.flatnonzero(sites == "S1")}, settings)
    assert above[0]["detections"] == 0 and np.isnan(above[0]["precision"])
