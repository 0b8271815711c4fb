"""How precise each species' detections are on the archive, from the reviewed sample (rule
validate_precision; the estimators are `evaluate/reviewed_precision.py`'s).

Per species: the present/absent decisions on its windows, each with the archive score and a
flag saying whether the window was in the stratified draw. The estimates rest on the draw's
decisions alone: decisions on other windows (predict's review page, a search) were picked for
high scores or similarity, not at random within their bin, and would bias them up; they are
counted beside (`unstratified`, `unstratified_present`) and enter only with
`include_unstratified`. From the draw: the bin-weighted precision and true detections at
every reviewed score, with intervals (by default the wider of a recording bootstrap's and
per-bin Beta posteriors'); Wood & Kahl's logistic curve; and the threshold published: by
default the lowest whose interval's lower bound reaches the target (`rule: lower_bound`;
`estimate` reads the estimate itself, which then falls short of the target in about a
quarter of archives: benchmarks/science/validate_loop.py). Where the lower bound falls short, the
row says how many more reviews in which bins would lift it (`plan_at`), at the tuned
threshold where its estimate is above the target.
A species keeps its tuned threshold, and says why, with fewer than `min_reviews` decisions or
where no threshold reaches the target.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from anuraflow.core.fileio import write_text
from anuraflow.core.settings import settings_from
from anuraflow.data.review_labels import COLUMNS
from anuraflow.data.windows import window_keys
from anuraflow.detect.detections import (
    SELECTION_COLUMNS,
    activity_table,
    detections_table,
    merge_runs,
)
from anuraflow.detect.predict_outputs import ScoredRecording, read_records, read_scores
from anuraflow.detect.validation_sample import species_edges
from anuraflow.evaluate.reviewed_precision import (
    BOUNDS,
    THRESHOLD_RULES,
    LogisticFit,
    ReviewedSample,
    ReviewPlan,
    bin_weights,
    fit_logistic,
    plan_reviews,
    precision_intervals,
    threshold_for,
)
from anuraflow.report.render import render_report
from anuraflow.report.validation_page import plot_validation, validation_page_context


@dataclass(frozen=True)
class ValidateSettings:
    """The config's `validate` estimation keys."""

    target_precision: float = 0.9
    min_reviews: int = 50
    rule: str = "lower_bound"  # lower_bound | estimate (THRESHOLD_RULES)
    include_unstratified: bool = False
    interval: str = "wider"  # wider | bootstrap (over recordings) | beta (per bin, Perch's)
    level: float = 0.9
    n_boot: int = 1000
    seed: int = 0

    def __post_init__(self):
        if self.rule not in THRESHOLD_RULES:
            raise ValueError(f"validate.rule must be one of {', '.join(THRESHOLD_RULES)}, "
                             f"not {self.rule!r}")  # fmt: skip

    @classmethod
    def from_config(cls, section: dict) -> ValidateSettings:
        """The settings by name from the config's `validate` section (its other keys, the
        draw's, are SampleDesign's): a reordered field can never take another's value."""
        return settings_from(cls, section)


def reviewed_windows(
    code: str, decisions: pd.DataFrame, sample: pd.DataFrame, scores: pd.DataFrame
) -> pd.DataFrame:
    """One species' present/absent decisions: recording_id, start_s, score (the archive's),
    present (0/1) and stratified (whether the draw chose the window for this species)."""
    mine = decisions[(decisions["species"] == code) & (decisions["decision"] != "unsure")]
    near = scores[scores["recording_id"].isin(set(mine["recording"]))]  # not the whole archive
    # decisions on recordings the archive leaves out (the model's training recordings) say
    # nothing of it
    mine = mine[mine["recording"].isin(set(near["recording_id"]))]
    where = dict(zip(window_keys(near["recording_id"], near["start_s"]), near[code], strict=True))
    keys = window_keys(mine["recording"], mine["start_s"])
    drawn = set(window_keys(*sample.loc[sample["species"] == code, ["recording_id", "start_s"]]
                            .to_numpy().T))  # fmt: skip
    return pd.DataFrame(
        {
            "recording_id": mine["recording"].to_numpy(),
            "start_s": mine["start_s"].to_numpy(dtype=float),
            "score": np.array([where[k] for k in keys], dtype=float),
            "present": (mine["decision"] == "present").to_numpy().astype(int),
            "stratified": np.array([k in drawn for k in keys], dtype=bool),
        }
    )


def curve_with_interval(
    sample: ReviewedSample, thresholds: np.ndarray, settings: ValidateSettings
) -> tuple[pd.DataFrame, str | None]:
    """The estimates at `thresholds` with their interval columns (`precision_intervals`), and
    why an interval is missing (NaN) where it is."""
    curve = sample.curve(thresholds)
    if len(sample.reviewed) == 0:
        return curve.assign(**{c: np.nan for c in BOUNDS}), "no reviews"
    try:
        bounds = precision_intervals(sample, thresholds, settings.interval, settings.n_boot,
                                     settings.seed, settings.level)  # fmt: skip
    except ValueError as err:  # the bootstrap alone, with too few recordings per bin
        return curve.assign(**{c: np.nan for c in BOUNDS}), str(err)
    return curve.merge(bounds, on="threshold"), None


def threshold_rule(n: int, chosen: float | None, settings: ValidateSettings) -> str | None:
    """Why a species keeps its tuned threshold (None: the validated one is used)."""
    if n < settings.min_reviews:
        return f"{n} reviews, fewer than validate.min_reviews ({settings.min_reviews})"
    if chosen is None:
        what = "lower bound" if settings.rule == "lower_bound" else "estimate"
        return f"no threshold's {what} reaches precision {settings.target_precision:g}"
    return None


def plan_at(sample: ReviewedSample, curve: pd.DataFrame, tuned: float, target: float,
            level: float) -> ReviewPlan:  # fmt: skip
    """The reviews that would bring the lower bound to the target (`plan_reviews`) at the tuned
    threshold where its estimate exceeds the target (the question is then whether more
    reviews confirm the threshold the user has), else at the lowest threshold whose estimate
    reaches the target."""
    at_tuned = curve[np.isclose(curve["threshold"], tuned)].iloc[0]
    where = tuned if at_tuned["precision"] > target else threshold_for(curve, target, "precision")
    there = curve[np.isclose(curve["threshold"], -1 if where is None else where)]
    estimate, low = (there[["precision", "precision_low"]].iloc[0] if len(there)
                     else (np.nan, np.nan))  # fmt: skip
    return plan_reviews(sample, where, estimate, low, target, level)


@dataclass(frozen=True)
class SpeciesValidation:
    """One species' estimates: its row of the published table, its curve and logistic fit."""

    row: dict
    curve: pd.DataFrame
    reviewed: pd.DataFrame
    fit: LogisticFit | str
    sample: ReviewedSample  # the decisions the estimates rest on, with the archive's bins


def validate_species(
    code: str, reviewed: pd.DataFrame, archive_scores: np.ndarray, edges: np.ndarray,
    tuned: float, settings: ValidateSettings,
) -> SpeciesValidation:  # fmt: skip
    """The estimates for one species at its tuned threshold, at every reviewed score and at
    the threshold published; `reviewed` holds every decision, the draw's flagged
    `stratified`."""
    used_rows = reviewed if settings.include_unstratified else reviewed[reviewed["stratified"]]
    sample = ReviewedSample(used_rows, archive_scores, edges)
    thresholds = np.unique(np.r_[tuned, used_rows["score"].to_numpy()])
    curve, no_interval = curve_with_interval(sample, thresholds, settings)
    target = settings.target_precision
    column = THRESHOLD_RULES[settings.rule]
    chosen = threshold_for(curve, target, column) if len(used_rows) else None
    kept = threshold_rule(len(used_rows), chosen, settings)
    used = tuned if kept else chosen
    at = {t: curve[np.isclose(curve["threshold"], t)].iloc[0] for t in {tuned, used}}
    met = bool(at[used]["precision_low"] >= target)  # NaN (no interval) is not met
    plan = None
    if not met and len(used_rows):
        plan = plan_at(sample, curve, tuned, target, settings.level)
    fit = fit_logistic(used_rows["score"], used_rows["present"]) if len(used_rows) else "no reviews"
    outside = reviewed[~reviewed["stratified"]]
    row = {
        "species": code, "reviewed": len(used_rows), "present": int(used_rows["present"].sum()),
        "unstratified": len(outside), "unstratified_present": int(outside["present"].sum()),
        "unstratified_in_estimate": settings.include_unstratified,
        "tuned_threshold": tuned,
        "detections_at_tuned": int(at[tuned]["detections"]),
        "precision_at_tuned": at[tuned]["precision"],
        "precision_at_tuned_low": at[tuned]["precision_low"],
        "precision_at_tuned_high": at[tuned]["precision_high"],
        "threshold_rule": settings.rule, "threshold_for_target": chosen, "threshold": used,
        "rule": "validated" if kept is None else f"tuned: {kept}",
        "detections": int(at[used]["detections"]), "precision": at[used]["precision"],
        "precision_low": at[used]["precision_low"], "precision_high": at[used]["precision_high"],
        "target_met": met, "reviewed_above": int(at[used]["reviewed"]),
        "more_reviews": None if plan is None else plan.total,
        "review_plan": None if plan is None else plan.describe(),
        "true_detections": at[used]["true_detections"],
        "true_detections_low": at[used]["true_detections_low"],
        "true_detections_high": at[used]["true_detections_high"],
        "interval_note": no_interval,
        "logistic_intercept": getattr(fit, "intercept", np.nan),
        "logistic_slope": getattr(fit, "slope", np.nan),
        "logistic_score_for_target": (fit.score_for(target)
                                      if isinstance(fit, LogisticFit) else None),
        "logistic_note": fit if isinstance(fit, str) else None,
    }  # fmt: skip
    return SpeciesValidation(row, curve.assign(species=code), reviewed, fit, sample)


def selection_precision(result: SpeciesValidation, selections: pd.DataFrame) -> dict:
    """The precision of the merged selections of detections.csv (one species' rows, cut at its
    threshold used), where a selection is a true detection when any of its windows is.
    Each reviewed window at or above the threshold stands for its bin's weight (N_b / n_b)
    divided among the `n_windows` windows of its selection, so the weights sum to an estimate
    of the number of selections; the selection counts as true where any decision on its
    windows (outside the draw too: they tell what is in it) is present. A selection whose
    decided windows are all absent counts as false, though an undecided window of it may
    hold a call: the estimate leans low, and is exact where every selection is one window
    (benchmarks/science/validate_loop.py measures it against the truth)."""
    threshold = result.row["threshold"]
    sample = result.sample
    used = sample.reviewed.assign(weight=bin_weights(sample.bins, sample.archive_counts))
    used = used[used["score"] >= threshold]
    if len(selections) == 0 or len(used) == 0:
        return {"selections": len(selections), "selections_reviewed": 0,
                "selection_precision": np.nan, "true_selections": np.nan}  # fmt: skip
    spans = selections[["recording_id", "begin_s", "end_s", "n_windows"]].reset_index(drop=True)
    spans = spans.assign(selection=np.arange(len(spans)))

    def locate(windows: pd.DataFrame) -> pd.DataFrame:
        """Each window's selection (-1: none; a window below the threshold is in none)."""
        found = pd.merge_asof(
            windows.reset_index(drop=True).sort_values("start_s"),
            spans.sort_values("begin_s"), left_on="start_s", right_on="begin_s",
            by="recording_id", direction="backward",
        )  # fmt: skip
        inside = found["start_s"] < found["end_s"]
        return found.assign(selection=found["selection"].where(inside, -1).astype(int))

    decided = locate(result.reviewed[result.reviewed["score"] >= threshold])
    true = set(decided.loc[decided["present"] == 1, "selection"]) - {-1}
    mine = locate(used)
    mine = mine[mine["selection"] >= 0]
    share = mine["weight"] / mine["n_windows"]
    hits = mine["selection"].isin(true).to_numpy()
    precision = float(share[hits].sum() / share.sum()) if share.sum() > 0 else np.nan
    return {"selections": len(selections), "selections_reviewed": mine["selection"].nunique(),
            "selection_precision": precision,
            "true_selections": precision * len(selections)}  # fmt: skip


def per_site_precision(
    result: SpeciesValidation, site_of: dict[str, str], site_windows: dict[str, np.ndarray],
    settings: ValidateSettings,
) -> list[dict]:  # fmt: skip
    """The precision at the threshold used, site by site: within a score bin the draw is
    uniform over the whole archive, so a site's reviewed windows of bin b are a random sample
    of that site's windows of bin b, and the bin weights N_b / n_b are the site's own
    (post-stratified by site). `site_windows`: each site's rows of the archive's scores (the
    same for every species: found once). A site with no review above the threshold has no
    estimate."""
    sample, t = result.sample, result.row["threshold"]
    reviewed_sites = sample.reviewed["recording_id"].map(site_of).to_numpy()
    rows = []
    for site in sorted(site_windows):
        mine = ReviewedSample(sample.reviewed[reviewed_sites == site],
                              sample.archive_scores[site_windows[site]], sample.edges)  # fmt: skip
        curve, note = curve_with_interval(mine, np.array([t]), settings)
        at = curve.iloc[0]
        rows.append({"species": result.row["species"], "site": site, "threshold": t,
                     "reviewed": len(mine.reviewed), "reviewed_above": int(at["reviewed"]),
                     "detections": int(at["detections"]), "precision": at["precision"],
                     "precision_low": at["precision_low"], "precision_high": at["precision_high"],
                     "interval_note": note})  # fmt: skip
    return rows


def recording_spans(recording_ids: np.ndarray) -> dict[str, tuple[int, int]]:
    """Recording -> (first row, row after its last) of a table sorted by recording."""
    ids = np.asarray(recording_ids, dtype=object)
    starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
    ends = np.r_[starts[1:], len(ids)]
    return {ids[a]: (int(a), int(b)) for a, b in zip(starts, ends, strict=True)}


def recut_detections(
    scores: pd.DataFrame, records: list[ScoredRecording], codes: list[str],
    thresholds: dict[str, float],
    rules: dict[str, str],
) -> pd.DataFrame:  # fmt: skip
    """The detections table again (`detections_table`'s columns) at `thresholds`, with each
    species' threshold and the rule that set it; `scores` sorted by recording and time, as
    `read_scores` reads them."""
    cut = np.array([thresholds[c] for c in codes])
    spans = recording_spans(scores["recording_id"].to_numpy())
    empty = pd.DataFrame(columns=SELECTION_COLUMNS)
    selections = []
    for r in records:
        lo, hi = spans.get(r.recording_id, (0, 0))
        selections.append(merge_runs(scores.iloc[lo:hi], codes, cut) if hi > lo else empty)
    table = detections_table(records, selections)
    return table.assign(threshold=table["species"].map(thresholds),
                        rule=table["species"].map(rules))  # fmt: skip


@dataclass(frozen=True)
class ValidateInputs:
    """What validate_precision reads: predict's scores and records, the draw, the decisions."""

    scores: list[str]
    records: list[str]
    sample: str
    decisions: str | None  # validate/decisions.parquet; None without a review folder
    exclude: frozenset[str] = frozenset()  # the archive's recordings that trained the model


def validate_precision(
    inputs: ValidateInputs, design, settings: ValidateSettings, outputs: dict[str, str]
) -> pd.DataFrame:
    """Rule validate_precision: every species' estimates (`validate_species`) as precision.csv
    and curves.csv, the figure, the detections and activity tables cut again at the published
    thresholds, and the page that shows them (`outputs` names each file)."""
    run = read_records(inputs.records)
    codes, tuned = run.model.codes, run.model.thresholds
    records = run.without(inputs.exclude).recordings
    scores = read_scores(inputs.scores, with_ids=False, exclude=inputs.exclude)
    if inputs.exclude:
        print(f"{len(inputs.exclude)} recordings of the archive trained the model: left out "
              "of the estimates and of the detections cut again", flush=True)  # fmt: skip
    sample = pd.read_parquet(inputs.sample)
    decisions = (pd.read_parquet(inputs.decisions) if inputs.decisions
                 else pd.DataFrame(columns=COLUMNS))  # fmt: skip
    results = []
    for code in codes:
        values = scores[code].to_numpy(dtype=float)
        reviewed = reviewed_windows(code, decisions, sample, scores)
        results.append(validate_species(code, reviewed, values, species_edges(values, design),
                                        float(tuned[code]), settings))  # fmt: skip
        print(f"{code}: {results[-1].row['reviewed']} reviews, {results[-1].row['rule']}",
              flush=True)  # fmt: skip
    used = {r.row["species"]: r.row["threshold"] for r in results}
    detections = recut_detections(scores, records, codes, used,
                                  {r.row["species"]: r.row["rule"] for r in results})  # fmt: skip
    for r in results:
        r.row.update(selection_precision(r, detections[detections["species"] == r.row["species"]]))
    site_of = {r.recording_id: r.site for r in records}
    site_windows = scores.groupby(scores["recording_id"].map(site_of).astype(str),
                                  observed=True).indices  # fmt: skip
    per_site = pd.DataFrame(
        [row for r in results for row in per_site_precision(r, site_of, site_windows, settings)]
    )
    write_text(per_site.to_csv(index=False, float_format="%.6g"), outputs["per_site"])
    table = pd.DataFrame([r.row for r in results])
    write_text(table.to_csv(index=False, float_format="%.6g"), outputs["precision"])
    curves = pd.concat([r.curve for r in results], ignore_index=True)
    write_text(curves.to_csv(index=False, float_format="%.6g"), outputs["curves"])
    write_text(detections.to_csv(index=False), outputs["detections"])
    activity = activity_table(detections, records, codes)
    write_text(activity.to_csv(index=False), outputs["activity"])
    plot_validation(results, settings.target_precision, outputs["figure"])
    context = validation_page_context(results, records, settings, outputs, per_site)
    write_text(render_report(context, "validation.html.j2"), outputs["page"])
    return table
