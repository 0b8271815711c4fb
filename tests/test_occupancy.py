"""The occupancy step's science: occasions and effort, detection histories, their R files, the
naive estimate, call density, posterior presence and the biolith fits (anuraflow/ecology/)."""

import json
import sys

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy import stats
from workflow_helpers import in_fresh_process

from anuraflow.detect.predict_outputs import ScoredRecording
from anuraflow.ecology.call_density import WindowSites, species_call_density
from anuraflow.ecology.histories import detection_histories, recording_inventory, wide
from anuraflow.ecology.history_files import (
    read_history_csv,
    species_file_names,
    write_history_files,
)
from anuraflow.ecology.occasions import Occasions, effort_by_occasion
from anuraflow.ecology.occupancy_models import (
    FitSettings,
    Survey,
    fit_model,
    naive_estimate,
    posterior_presence,
)
from anuraflow.simulate.occupancy_season import REGIMES, simulate_season, target_threshold


def record(rid, site, start, duration=60.0, status="ok", n_windows=58, problem=None):
    return ScoredRecording(recording_id=rid, site=site, start_datetime=start, duration_s=duration,
                           status=status, problem=problem, n_windows=n_windows,
                           file=f"audio/{rid}.wav")  # fmt: skip


def test_a_night_spans_midnight_and_effort_splits_at_its_boundary():
    night = Occasions("night", night_starts_at=12)
    times = pd.Series(pd.to_datetime(["2020-09-04 18:00", "2020-09-05 03:00", "2020-09-05 12:00"]))
    assert night.label(night.start_of(times)).tolist() == ["2020-09-04", "2020-09-04", "2020-09-05"]
    day = Occasions("day")
    assert day.label(day.start_of(times)).tolist() == ["2020-09-04", "2020-09-05", "2020-09-05"]
    hours = Occasions("hours", hours=6)
    assert hours.label(hours.start_of(times)).tolist() == [
        "2020-09-04T18", "2020-09-05T00", "2020-09-05T12"]  # fmt: skip
    # a 2 h recording from 11:00 gives the night before 60 minutes and the next 60
    used = pd.DataFrame([{"recording_id": "r", "site": "A", "start_datetime": "2020-09-05T11:00:00",
                          "duration_s": 7200.0}])  # fmt: skip
    effort = effort_by_occasion(used, night)
    assert effort[["occasion", "effort_min", "recordings"]].values.tolist() == [
        ["2020-09-04", 60.0, 1], ["2020-09-05", 60.0, 1]]  # fmt: skip
    with pytest.raises(ValueError, match="divide 24"):
        Occasions("hours", hours=5)
    with pytest.raises(ValueError, match="must be one of"):
        Occasions("week")


def hand_archive():
    """Two sites; site A recorded on the nights of the 4th and 6th (not the 5th), site B on the
    4th only; one unreadable file at B, one without a time in its name, and a site C whose only
    recording is unreadable."""
    records = [
        record("A_20200904_200000", "A", "2020-09-04T20:00:00"),
        record("A_20200905_010000", "A", "2020-09-05T01:00:00"),  # the night of the 4th
        record("A_20200906_210000", "A", "2020-09-06T21:00:00"),
        record("B_20200904_230000", "B", "2020-09-04T23:00:00"),
        record("B_broken", "B", "2020-09-05T02:00:00", status="skipped", problem="not audio"),
        record("B_notime", "B", None),
        record("C_20200904_230000", "C", "2020-09-04T23:00:00", status="failed", problem="empty"),
    ]
    rows = []
    for r in records[:4]:
        for k in range(3):  # three windows each
            rows.append({"recording_id": r.recording_id, "start_s": float(k),
                         "end_s": k + 3.0, "X": 0.1, "Y": 0.1})  # fmt: skip
    scores = pd.DataFrame(rows)
    scores.loc[1, "X"] = 0.9  # A's first recording: one window of X
    scores.loc[(scores.recording_id == "B_20200904_230000") & (scores.start_s == 2), "X"] = 0.95
    scores.loc[(scores.recording_id == "A_20200906_210000"), "Y"] = [0.4, 0.6, 0.2]
    return records, scores


def test_detection_histories_by_hand():
    records, scores = hand_archive()
    inventory = recording_inventory(records)
    assert inventory.excluded["recording_id"].tolist() == [
        "B_broken",
        "B_notime",
        "C_20200904_230000",
    ]
    assert inventory.excluded["reason"].tolist() == [
        "skipped: not audio", "no start date and time in its name", "failed: empty"]  # fmt: skip
    table = detection_histories(scores, inventory, ["X", "Y"], {"X": 0.5, "Y": 0.5},
                                Occasions("night"))  # fmt: skip
    assert set(table["site"]) == {"A", "B"}  # C has no usable recording: left out
    x = wide(table, "X", "detection")
    assert x.columns.tolist() == ["2020-09-04", "2020-09-05", "2020-09-06"]
    # A: detected the 4th, nothing recorded the 5th (missing, never 0), not detected the 6th
    assert x.loc["A"].isna().tolist() == [False, True, False]
    assert x.loc["A", "2020-09-04"] == 1 and x.loc["A", "2020-09-06"] == 0
    assert x.loc["B"].isna().tolist() == [False, True, True] and x.loc["B", "2020-09-04"] == 1
    y = wide(table, "Y", "detection")
    assert y.loc["A", "2020-09-04"] == 0 and y.loc["A", "2020-09-06"] == 1
    effort = wide(table, "X", "effort_min")
    assert effort.loc["A"].tolist() == [2.0, 0.0, 1.0] and effort.loc["B"].tolist() == [
        1.0,
        0.0,
        0.0,
    ]
    cell = table[(table.species == "X") & (table.site == "A") & (table.occasion == "2020-09-04")]
    assert cell[["windows", "detected_windows", "recordings"]].values.tolist() == [[6, 1, 2]]
    assert cell["max_score"].item() == pytest.approx(0.9)


def test_the_r_files_read_back_equal_the_table(tmp_path):
    records, scores = hand_archive()
    inventory = recording_inventory(records)
    codes = ["X", "Y"]
    table = detection_histories(scores, inventory, codes, {"X": 0.5, "Y": 0.5}, Occasions("night"))
    sidecar = write_history_files(table, inventory.used, {"codes": codes}, tmp_path)
    for code in codes:
        back = read_history_csv(tmp_path / sidecar["files"]["detection_histories"][code])
        expected = wide(table, code, "detection").astype(float)
        pd.testing.assert_frame_equal(back.astype(float), expected, check_names=False)
    text = (tmp_path / "detection_history_X.csv").read_text().splitlines()
    assert text[0] == "site,2020-09-04,2020-09-05,2020-09-06" and text[1] == "A,1,NA,0"
    sites = pd.read_csv(tmp_path / "site_covariates.csv")
    assert sites.set_index("site")["recordings"].to_dict() == {"A": 3, "B": 1}
    assert sites.set_index("site")["occasions_surveyed"].to_dict() == {"A": 2, "B": 1}
    assert json.loads((tmp_path / "histories.json").read_text())["codes"] == codes


def test_species_file_names_keep_every_code_apart():
    names = species_file_names(
        ["Rana catesbeiana", "Rana_catesbeiana", "Rana/catesbeiana", "rana-catesbeiana"]
    )
    assert len(set(map(str.lower, names.values()))) == 4
    assert names["Rana_catesbeiana"] == "detection_history_Rana_catesbeiana.csv"
    assert names["Rana catesbeiana"] == "detection_history_Rana-catesbeiana.csv"


def survey_of(y: np.ndarray) -> Survey:
    n_sites, n_occ = y.shape
    return Survey(sites=[f"s{i}" for i in range(n_sites)],
                  occasions=[f"o{j}" for j in range(n_occ)],
                  y=y.astype(float), score=np.where(np.isfinite(y), 0.0, np.nan),
                  effort=np.where(np.isfinite(y), 0.0, np.nan))  # fmt: skip


def test_the_naive_estimate_is_a_clopper_pearson_share_of_surveyed_sites():
    nan = np.nan
    y = np.array([[1, 0, nan], [0, 0, 0], [nan, 1, 1], [0, nan, 0], [nan, nan, nan]])
    est = naive_estimate(survey_of(y), level=0.9)
    ci = stats.binomtest(2, 4).proportion_ci(confidence_level=0.9, method="exact")
    assert est.values["psi"] == pytest.approx((0.5, ci.low, ci.high))
    assert est.presence[:4].tolist() == [1, 0, 1, 0] and np.isnan(est.presence[4])
    # degenerate: no detection anywhere, every site detected, one site, no surveyed site
    none = naive_estimate(survey_of(np.zeros((3, 2))), 0.9).values["psi"]
    assert none[:2] == (0.0, 0.0) and none[2] == pytest.approx(1 - 0.05 ** (1 / 3))
    every = naive_estimate(survey_of(np.ones((3, 2))), 0.9).values["psi"]
    assert every[0] == 1 and every[2] == 1 and every[1] == pytest.approx(0.05 ** (1 / 3))
    one = naive_estimate(survey_of(np.array([[1.0, 0.0]])), 0.9).values["psi"]
    assert one == pytest.approx((1.0, 0.05, 1.0))
    empty = naive_estimate(survey_of(np.full((2, 2), np.nan)))
    assert empty.status == "no surveyed site"


def test_posterior_presence_equals_bayes_rule_by_hand():
    """One draw: psi 0.4, p 0.5 (effort 0), fp 0.1; a site with (1, 0) and one with (0, nan)."""
    y = np.array([[1.0, 0.0], [0.0, np.nan]])
    effort = np.where(np.isfinite(y), 0.0, np.nan)
    draws = {"psi": np.array([[0.4]]), "cov_det_0": np.array([[0.0]]),
             "cov_det_1": np.array([[0.7]]),
             "prob_fp_constant": np.array([0.1])}  # fmt: skip
    got = posterior_presence("false_positive", draws, y, np.zeros_like(y), effort)
    hit1 = 1 - 0.5 * 0.9
    l1, l0 = hit1 * (1 - hit1), 0.1 * 0.9
    assert got[0] == pytest.approx(0.4 * l1 / (0.4 * l1 + 0.6 * l0))
    assert got[1] == pytest.approx(0.4 * (1 - hit1) / (0.4 * (1 - hit1) + 0.6 * 0.9))
    # the continuous-score model: scores 2.0 and -1.0, one occasion missing
    draws_cs = {"psi": np.array([[0.3]]), "cov_det_0": np.array([[0.0]]),
                "cov_det_1": np.array([[0.0]]), "mu0": np.array([-1.0]), "mu1": np.array([2.0]),
                "sigma0": np.array([1.0]), "sigma1": np.array([0.5])}  # fmt: skip
    score = np.array([[2.0, np.nan]])
    got = posterior_presence("continuous_score", draws_cs, score, score, np.array([[0.0, np.nan]]))
    d0, d1 = stats.norm.pdf(2.0, -1, 1), stats.norm.pdf(2.0, 2, 0.5)
    mix = 0.5 * d1 + 0.5 * d0
    assert got[0] == pytest.approx(0.3 * mix / (0.3 * mix + 0.7 * d0))


def test_call_density_by_hand_and_its_degenerate_cases():
    """Two bins (edges 0, 0.5, 1): bin 0 reviewed 1 of 4 present, bin 1 3 of 4. Site A holds
    6 windows in bin 0 and 2 in bin 1; site B 0 and 2."""
    scores = np.array([0.1] * 6 + [0.8] * 2 + [0.9] * 2)
    sites = np.array(["A"] * 8 + ["B"] * 2)
    edges = np.array([0.0, 0.5, 1.0])
    reviewed = pd.DataFrame({"score": [0.1, 0.2, 0.3, 0.4, 0.6, 0.7, 0.8, 0.9],
                             "present": [1, 0, 0, 0, 1, 1, 1, 0]})  # fmt: skip
    table = species_call_density(
        "X", scores, WindowSites.of(sites), edges, reviewed, draws=20000
    ).set_index("site")
    assert table.loc["all", "density"] == pytest.approx(0.6 * 0.25 + 0.4 * 0.75)
    assert table.loc["A", "density"] == pytest.approx(0.75 * 0.25 + 0.25 * 0.75)
    assert table.loc["B", "density"] == pytest.approx(0.75)
    # B's interval: the 5 % and 95 % quantiles of Beta(3.1, 1.1)
    assert table.loc["B", "density_low"] == pytest.approx(stats.beta.ppf(0.05, 3.1, 1.1), abs=0.01)
    assert table.loc["B", "density_high"] == pytest.approx(stats.beta.ppf(0.95, 3.1, 1.1), abs=0.01)
    assert (table["windows"] == [10, 8, 2]).all() and (table["reviewed"] == 8).all()
    # the archive's sites found from its recordings, as from each window's site name
    by_recording = WindowSites.of_recordings(pd.Series(["r1", "r2", "r1"]), {"r1": "B", "r2": "A"})
    by_name = WindowSites.of(["B", "A", "B"])
    assert by_recording.names == by_name.names == ["A", "B"]
    assert by_recording.index.tolist() == by_name.index.tolist() == [1, 0, 1]
    # no positive at all: density 0; a bin with windows but no review: unknown, said why
    none = species_call_density(
        "X", scores, WindowSites.of(sites), edges, reviewed.assign(present=0)
    )
    assert (none["density"] == 0).all()
    top_only = species_call_density(
        "X", scores, WindowSites.of(sites), edges, reviewed[reviewed.score > 0.5]
    )
    top_only = top_only.set_index("site")
    assert np.isnan(top_only.loc["A", "density"]) and "bins [0]" in top_only.loc["A", "note"]
    assert top_only.loc["B", "density"] == pytest.approx(0.75)  # B has no window in bin 0


def test_the_target_threshold_walks_down_from_the_top():
    scores = np.array([0.9, 0.8, 0.7, 0.6, 0.5])
    truth = np.array([True, True, False, True, False])
    # precision from the top: 1, 1, 2/3, 3/4, 3/5; 0.9 holds down to 0.8
    assert target_threshold(scores, truth, 0.9) == (0.8, 1.0)
    assert target_threshold(scores, truth, 0.6) == (0.5, 0.6)


def test_fit_settings_are_built_by_name_from_the_schema_keys():
    schema = yaml.safe_load(open("config/schemas/config.schema.yaml"))
    keys = set(schema["properties"]["occupancy"]["properties"])
    settings = FitSettings.from_config({"chains": 3, "models": ["continuous_score"], "seed": 7})
    assert (settings.chains, settings.models, settings.seed) == (3, ("continuous_score",), 7)
    default = schema["properties"]["occupancy"]["properties"]["models"]["default"]
    assert FitSettings().models == tuple(default) == ("false_positive",)
    fields = set(FitSettings.__dataclass_fields__)
    assert fields <= keys and keys - fields == {"occasion", "occasion_hours", "night_starts_at"}
    with pytest.raises(ValueError, match="unknown"):
        FitSettings.from_config({"models": ["royle_nichols"]})


def fit_a_good_season() -> tuple:
    """(survey, default fit, fit held to R-hat 1.0, memory maps the second fit left behind), in
    the process that fits (run by `in_fresh_process`)."""
    season = simulate_season(REGIMES["good"], 7, n_sites=40, n_occasions=15)
    survey = Survey.from_histories(season.histories, "SIM")
    fit = fit_model(survey, "false_positive", FitSettings(warmup=300, samples=300))
    maps = len(open("/proc/self/maps").readlines())
    strict = fit_model(survey, "false_positive", FitSettings(warmup=100, samples=100, max_rhat=1.0))
    return survey, fit, strict, len(open("/proc/self/maps").readlines()) - maps


def test_the_false_positive_model_finds_a_simulated_occupancy():
    """A good-classifier season (seed 7 of benchmarks/science/occupancy.py's simulator): the model's
    interval holds the true psi, the naive one does not (false detections inflate it), and a
    fit held to R-hat 1.0 reports no numbers."""
    survey, fit, strict, new_maps = in_fresh_process(fit_a_good_season)
    assert fit.status == "ok" and fit.diagnostics["divergences"] == 0
    psi, low, high = fit.values["psi"]
    assert low <= REGIMES["good"].psi <= high
    naive = naive_estimate(survey).values["psi"]
    assert naive[1] > REGIMES["good"].psi  # the naive interval lies above the truth
    assert 0 < fit.values["fp"][0] < 0.2 and fit.presence.shape == (40,)
    # a site detected in many occasions is almost surely occupied; one never detected is less
    # likely occupied than a site picked at random
    detections = np.nansum(survey.y, axis=1)
    assert (detections >= 4).any() and (fit.presence[detections >= 4] > 0.95).all()
    assert (detections == 0).any() and (fit.presence[detections == 0] < psi).all()
    assert strict.status.startswith("not converged: R-hat") and strict.values == {}
    # JAX's compiled code is released after each fit (without it, about 850 maps a fit: a
    # process stopped after about 75 fits)
    assert new_maps < 100
    assert "jax" not in sys.modules  # this worker never held JAX's threads


def test_thresholds_come_from_validate_where_it_ran_else_from_the_model(tmp_path):
    from anuraflow.detect.predict_outputs import ModelFacts
    from anuraflow.ecology.run import published_thresholds

    records = ModelFacts(["X", "Y"], ["X", "Y"], {"X": 0.3, "Y": 0.6}, (0.0, 8000.0))
    thresholds, source, validation = published_thresholds(records, None)
    assert thresholds == {"X": 0.3, "Y": 0.6} and source.startswith("predict") and validation == {}
    table = pd.DataFrame({"species": ["X", "Y"], "threshold": [0.8, 0.6], "reviewed": [60, 60],
                          "precision": [0.95, np.nan], "precision_low": [0.91, np.nan],
                          "precision_high": [0.99, np.nan], "target_met": [True, False],
                          "rule": ["validated", "tuned: 0 reviews"]})  # fmt: skip
    table.to_csv(tmp_path / "precision.csv", index=False)
    thresholds, source, validation = published_thresholds(records, str(tmp_path / "precision.csv"))
    assert thresholds == {"X": 0.8, "Y": 0.6} and source == "validate: precision.csv"
    assert validation["X"]["precision"] == 0.95 and validation["Y"]["precision"] is None
