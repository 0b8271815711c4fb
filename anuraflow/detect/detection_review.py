"""The review page of `predict`: per species, the highest-scoring windows of the new
recordings, to confirm or reject with the labelling page the search and `suggest` use.

A call usually spans several overlapping windows, so at most `per_recording` windows of one
recording are shown per species (the best ones), the rest of the budget going to other
recordings. The downloaded labels name the predict recordings: in the review folder they
count in `validate` (outside its draw) and train with `predict.train_on_reviews`
(docs/detection.md).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from anuraflow.data.windows import window_id
from anuraflow.detect.predict_outputs import read_records, read_scores
from anuraflow.report.review import write_review_page


def top_windows(
    scores: pd.DataFrame,
    thresholds: dict[str, float],
    codes: list[str],
    k: int = 5,
    per_recording: int = 2,
) -> pd.DataFrame:
    """Per species the `k` highest-scoring windows (ties: the earlier recording and time), at
    most `per_recording` of one recording: rank, recording_id, start_s, end_s, window_id,
    species, score, note."""
    rows = []
    for code in codes:
        ranked = scores.sort_values([code, "recording_id", "start_s"],
                                    ascending=[False, True, True], kind="stable")  # fmt: skip
        ranked = ranked[ranked.groupby("recording_id").cumcount() < per_recording].head(k)
        t = thresholds[code]
        for w in ranked.itertuples(index=False):
            s = float(getattr(w, code))
            side = "above" if s >= t else "below"
            rows.append({
                "recording_id": w.recording_id, "start_s": w.start_s, "end_s": w.end_s,
                "window_id": window_id(w.recording_id, w.start_s, w.end_s), "species": code,
                "score": s, "note": f"{code}: score {s:.2f}, {side} its threshold {t:.2f}",
            })  # fmt: skip
    hits = pd.DataFrame(
        rows,
        columns=["recording_id", "start_s", "end_s", "window_id", "species", "score", "note"],
    )
    hits.insert(0, "rank", range(1, len(hits) + 1))
    return hits


def write_detection_review(
    record_paths: list[str | Path],
    score_paths: list[str | Path],
    page: str | Path,
    clips_dir: str | Path,
    name: str,
    k: int = 5,
) -> pd.DataFrame:
    """Rule predict_review: the page of every species' top windows over the recordings
    scored (skipped recordings have none), clips cut from the original files."""
    run = read_records(record_paths)
    records, codes, thresholds = run.recordings, run.model.codes, run.model.thresholds
    scores = read_scores(score_paths, with_ids=False, allow_empty=True)
    hits = top_windows(scores, thresholds, codes, k)
    audio_of = run.file_of
    context = {
        "title": f"Detections to review: {name}",
        "name": name,
        "codes": codes,
        "k": k,
        "n_recordings": len(records),
        "n_windows": int(len(scores)),
        "unusable": [
            {"file": r.file, "problem": str(r.problem).removeprefix(f"{r.file}: ")}
            for r in records
            if r.status != "ok"
        ],
        "max_listed": 200,
    }
    write_review_page("detection_review.html.j2", context, hits, audio_of, clips_dir, page)
    return hits
