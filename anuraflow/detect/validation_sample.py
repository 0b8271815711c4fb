"""The reviewed sample of `validate`: per species, windows of predict's archive drawn at random
within score strata (`evaluate/reviewed_precision.py`), the archive's decisions on them merged
from the review folder, and the labelling page that asks about the ones not decided yet.

The draw depends only on the archive's scores and the seed, never on what has been decided:
the page shows the sample less its decided windows, so a window is never asked twice and a
reviewer who stops halfway leaves a sample whose decided part is still stratified. Scores are
not shown on the page (a reviewer who sees 0.97 hears a call more readily), and each species'
windows come in a shuffled order, not bin by bin.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from anuraflow.core.fileio import write_json, write_parquet, write_text
from anuraflow.data.label_rows import AnnotationError
from anuraflow.data.review_labels import (
    COLUMNS,
    decisions_record,
    read_decision_rows,
    resolve_decisions,
)
from anuraflow.data.windows import window_keys
from anuraflow.detect.predict_outputs import ScoredRecording, read_records, read_scores
from anuraflow.evaluate.reviewed_precision import draw_sample, stratify
from anuraflow.report.review import write_review_page

SAMPLE_COLUMNS = ["species", "bin", "recording_id", "start_s", "end_s", "window_id", "score"]
STRATA_COLUMNS = ["species", "bin", "low", "high", "windows", "drawn"]


@dataclass(frozen=True)
class SampleDesign:
    """The config's `validate` bins, per_bin, spacing and seed."""

    bins: int = 8
    per_bin: int = 25
    spacing: str = "top"
    seed: int = 0


def species_edges(scores: np.ndarray, design: SampleDesign) -> np.ndarray:
    """The strata's edges for one species' archive scores; one bin when every score is equal."""
    edges = stratify(scores, design.bins, design.spacing)
    return np.r_[edges, edges] if len(edges) == 1 else edges


def draw_validation_sample(
    scores: pd.DataFrame, codes: list[str], design: SampleDesign
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(sample, strata): per species `design.per_bin` windows of each score stratum
    (SAMPLE_COLUMNS), and each stratum's score range, windows in the archive and windows
    drawn. Each species draws with its own stream of the seed."""
    samples, strata = [], []
    windows = scores[["window_id", "recording_id", "start_s", "end_s"]]
    for j, code in enumerate(codes):
        values = scores[code].to_numpy(dtype=float)
        edges = species_edges(values, design)
        drawn = draw_sample(windows.assign(score=values), edges, design.per_bin, [design.seed, j])
        drawn = drawn.assign(species=code, recording_id=drawn["recording_id"].astype(str))
        samples.append(drawn[SAMPLE_COLUMNS])
        archive = np.bincount(np.searchsorted(edges[1:-1], values, side="right"),
                              minlength=len(edges) - 1)  # fmt: skip
        picked = np.bincount(drawn["bin"], minlength=len(edges) - 1)
        for b in range(len(edges) - 1):
            strata.append([code, b, edges[b], edges[b + 1], int(archive[b]), int(picked[b])])
    sample = pd.concat(samples, ignore_index=True)
    return sample, pd.DataFrame(strata, columns=STRATA_COLUMNS)


def write_validation_sample(
    score_paths: list[str | Path],
    codes: list[str],
    design: SampleDesign,
    sample_out: str | Path,
    strata_out: str | Path,
    exclude: frozenset[str] = frozenset(),
) -> pd.DataFrame:
    """Rule validate_sample: the draw over the whole archive but the model's training
    recordings (`exclude`), as sample.parquet and strata.csv."""
    if exclude:
        print(f"{len(exclude)} recordings of the archive trained the model: left out of the "
              "draw and the estimates", flush=True)  # fmt: skip
    scores = read_scores(score_paths, exclude=exclude)
    sample, strata = draw_validation_sample(scores, codes, design)
    write_parquet(sample, sample_out)
    write_text(strata.to_csv(index=False, float_format="%.6g"), strata_out)
    print(
        f"{len(sample)} windows drawn for {len(codes)} species "
        f"({design.bins} bins x {design.per_bin}, spacing {design.spacing})",
        flush=True,
    )
    return sample


def check_archive_rows(
    rows: pd.DataFrame, records: list[ScoredRecording], scored: set, codes: list[str]
) -> None:
    """Refuse, naming the file and line, a decision on an unknown species, on a recording
    predict could not use, or on a window predict did not score."""
    status = {r.recording_id: r for r in records}
    for row, key in zip(rows.itertuples(index=False),
                        window_keys(rows["recording"], rows["start_s"]), strict=True):  # fmt: skip
        if row.species not in codes:
            raise AnnotationError(row.file, row.line, f"unknown species {row.species!r}; the "
                                  f"model's species are {', '.join(codes)}")  # fmt: skip
        record = status[row.recording]
        if record.status != "ok":
            raise AnnotationError(row.file, row.line, f"{row.recording} could not be scored "
                                  f"({record.problem})")  # fmt: skip
        if key not in scored:
            raise AnnotationError(
                row.file, row.line, f"{row.start_s:g}-{row.end_s:g} s of {row.recording} is not a "
                "window predict scored (predict.hop_s and the model's window length set the grid)",
            )  # fmt: skip


def merge_archive_labels(
    paths: list[str | Path],
    score_paths: list[str | Path],
    record_paths: list[str | Path],
    decisions_out: str | Path,
    record_out: str | Path,
) -> pd.DataFrame:
    """Rule merge_archive_labels: the labels files' decisions on the archive's recordings,
    checked against the windows predict scored and resolved as the dataset's are (a later
    decision of the same reviewer wins; reviewers who disagree are refused)."""
    run = read_records(record_paths)
    records, codes = run.recordings, run.model.codes
    rows = read_decision_rows(paths)
    rows = rows[rows["recording"].isin({r.recording_id for r in records})]
    scores = read_scores(score_paths, with_ids=False, columns=["recording_id", "start_s"],
                         allow_empty=True)  # fmt: skip
    check_archive_rows(rows, records, set(window_keys(scores["recording_id"], scores["start_s"])),
                       codes)  # fmt: skip
    decisions, overrides = resolve_decisions(rows) if len(rows) else (rows, [])
    record = decisions_record(paths, rows, decisions, overrides)
    write_parquet(decisions.assign(time=decisions["time"].astype(str))[COLUMNS], decisions_out)
    write_json(record, record_out)
    print(
        f"{len(rows)} decisions on the archive's windows in {len(paths)} labels files: "
        + ", ".join(f"{n} {d}" for d, n in record["n_decisions"].items()),
        flush=True,
    )
    return decisions


def pending_windows(sample: pd.DataFrame, decisions: pd.DataFrame, seed: int) -> pd.DataFrame:
    """The sample's windows not decided yet for their species (unsure counts as decided: asked
    again, the same reviewer would hear the same), each species' in a shuffled order."""
    decided = set(
        zip(
            window_keys(decisions["recording"], decisions["start_s"]),
            decisions["species"],
            strict=True,
        )
    )
    keys = window_keys(sample["recording_id"], sample["start_s"])
    left = sample[[(k, s) not in decided for k, s in zip(keys, sample["species"], strict=True)]]
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(left))
    left = left.iloc[order].sort_values("species", kind="stable", key=_code_order(sample))
    return left.reset_index(drop=True)


def _code_order(sample: pd.DataFrame):
    first = {c: i for i, c in enumerate(dict.fromkeys(sample["species"]))}
    return lambda column: column.map(first)


def write_validation_page(
    sample_path: str | Path,
    decisions_path: str | Path | None,
    record_paths: list[str | Path],
    outputs: tuple[str | Path, str | Path],
    name: str,
    seed: int = 0,
) -> pd.DataFrame:
    """Rule validate_review: the labelling page of the sample's undecided windows, with how
    many each species has decided and left; `outputs` the page and its clips folder."""
    sample = pd.read_parquet(sample_path)
    run = read_records(record_paths)
    decisions = pd.read_parquet(decisions_path) if decisions_path else pd.DataFrame(columns=COLUMNS)
    left = pending_windows(sample, decisions, seed)
    hits = left.assign(rank=np.arange(1, len(left) + 1), note=None)
    counts = [{"code": c, "sampled": int((sample["species"] == c).sum()),
               "left": int((left["species"] == c).sum())} for c in run.model.codes]  # fmt: skip
    page, clips = outputs
    context = {
        "title": f"Validation sample: {name}",
        "name": name,
        "codes": run.model.codes,
        "counts": counts,
    }
    write_review_page("validate_review.html.j2", context, hits, run.file_of, clips, page)
    print(f"{len(left)} of the sample's {len(sample)} windows left to review", flush=True)
    return left
