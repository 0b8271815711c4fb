"""Search by example (agile modelling): rank every window of an archive by the cosine
similarity of its embedding to a few query windows.

A query is given as a Raven table over one recording (each selection picks the grid window
centred on it) or as window ids (`{recording}_{start}_{end}`). A window's score is its best
cosine similarity to any query window, so a query window itself scores 1 and ranks first. The
top k go out as one Raven table per recording, their Annotation column filled with the query's
label for a reviewer to confirm, correct or delete, and as a review page of spectrograms and
playable clips. Confirmed tables added to the annotations retrain only what they change.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from anuraflow.core.fileio import write_text
from anuraflow.data.raven import parse_raven_table, raven_table_name, write_selection_table
from anuraflow.data.windows import window_id, window_starts
from anuraflow.features.embeddings import read_embedding_cache, window_rows
from anuraflow.report.review import write_review_page

HIT_COLUMNS = ["rank", "recording_id", "start_s", "end_s", "window_id", "similarity", "query"]


@dataclass
class Archive:
    """Every window's embedding of a set of recordings, in one matrix."""

    recording_ids: np.ndarray  # [n] str
    starts: np.ndarray  # [n] float64
    embeddings: np.ndarray  # [n, dim] float32
    window_s: float

    @classmethod
    def from_caches(cls, paths: list[str | Path]) -> Archive:
        recs, starts, blocks, window_s = [], [], [], 3.0
        for path in sorted(map(str, paths)):
            s, e, meta = read_embedding_cache(path)
            recs.append(np.full(len(s), meta["recording_id"], dtype=object))
            starts.append(s)
            blocks.append(e)
            window_s = float(meta["window_s"])
        if not blocks:
            raise ValueError("the archive has no embedding cache to search")
        return cls(np.concatenate(recs), np.concatenate(starts), np.concatenate(blocks), window_s)

    def ranked(self, rows: np.ndarray) -> pd.DataFrame:
        """rank, recording_id, start_s, end_s, window_id of the windows at `rows`, in order."""
        starts = self.starts[rows]
        ends = np.round(starts + self.window_s, 6)
        recs = self.recording_ids[rows]
        return pd.DataFrame(
            {
                "rank": np.arange(1, len(rows) + 1),
                "recording_id": recs,
                "start_s": starts,
                "end_s": ends,
                "window_id": [window_id(*w) for w in zip(recs, starts, ends, strict=True)],
            }
        )


def selection_windows(
    table: str | Path, recording_id: str, duration_s: float, window_s: float, hop_s: float
) -> tuple[np.ndarray, str | None]:
    """The grid window centred on each selection of a Raven `table` over one recording
    (clamped to the recording), and the table's label when all its selections share one."""
    calls, _ = parse_raven_table(table, recording_id)
    if calls.empty:
        raise ValueError(f"{table}: has no selection to search with")
    centre = (calls["start_s"].to_numpy() + calls["end_s"].to_numpy()) / 2
    grid = window_starts(duration_s, window_s, hop_s)
    last = grid[-1] if len(grid) else 0.0
    starts = np.clip(np.round((centre - window_s / 2) / hop_s) * hop_s, 0.0, last)
    labels = set(calls["species"])
    return np.unique(np.round(starts, 6)), (labels.pop() if len(labels) == 1 else None)


def parse_window_id(text: str) -> tuple[str, float, float]:
    """`{recording}_{start}_{end}` -> (recording, start, end); an error naming the id."""
    parts = text.rsplit("_", 2)
    try:
        return parts[0], float(parts[1]), float(parts[2])
    except (IndexError, ValueError):
        raise ValueError(
            f"window id {text!r} is not {{recording}}_{{start}}_{{end}} (as windows.parquet's "
            "window_id column writes it)"
        ) from None


def unit_rows(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (a zero row stays zero: it matches nothing)."""
    x = np.asarray(x, dtype=np.float64)
    norm = np.linalg.norm(x, axis=1, keepdims=True)
    return np.divide(x, norm, out=np.zeros_like(x), where=norm > 0)


def best_similarity(archive: np.ndarray, queries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each archive row's cosine similarity to its closest query row, and which query that is
    (ties: the first query)."""
    sim = unit_rows(archive) @ unit_rows(queries).T  # [n, q]
    best_query = sim.argmax(1)
    return sim[np.arange(len(sim)), best_query], best_query


def rank_windows(
    archive: np.ndarray, queries: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(rows of the top `k` archive windows, their similarity, the query each is closest to):
    similarity is the cosine to the closest query; ties go to the earlier row."""
    if len(queries) == 0:
        raise ValueError("no query window to search with")
    score, best_query = best_similarity(archive, queries)
    order = np.lexsort((np.arange(len(score)), -score))[: max(0, k)]
    return order, score[order], best_query[order]


def hits_table(
    archive: Archive, rows: np.ndarray, scores: np.ndarray, query_ids: list[str], nearest
) -> pd.DataFrame:
    """The ranked hits: rank, recording, window, similarity and the closest query window."""
    hits = archive.ranked(rows)
    hits["similarity"] = scores
    hits["query"] = [query_ids[q] for q in nearest]
    return hits[HIT_COLUMNS]


def write_search_tables(
    hits: pd.DataFrame, raven_dir: str | Path, label: str | None, band_hz: tuple[float, float]
) -> list[Path]:
    """One Raven selection table per recording with hits (in time order), the Annotation
    column pre-filled with `label` (blank when the query had none) for the reviewer."""
    raven_dir = Path(raven_dir)
    raven_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for rec, group in hits.groupby("recording_id", sort=True):
        group = group.sort_values("start_s")
        columns = {
            "Annotation": [label or ""] * len(group),
            "Similarity": [f"{x:.6f}" for x in group["similarity"]],
            "Rank": list(group["rank"]),
        }
        path = raven_dir / raven_table_name(rec)
        write_selection_table(path, group["start_s"], group["end_s"], band_hz, columns)
        written.append(path)
    return written


@dataclass(frozen=True)
class SearchQuery:
    """The query windows: selections of a Raven `table` over `recording_id`, or `window_ids`;
    their embeddings are in `cache` (the recording's embedding cache)."""

    cache: str | Path
    recording_id: str
    table: str | Path | None = None
    window_ids: tuple[str, ...] = ()
    label: str | None = None  # pre-filled in the Annotation column (default: the table's)

    def windows(self) -> tuple[np.ndarray, np.ndarray, str | None]:
        """(query window starts, their embeddings, the label)."""
        starts, embeddings, meta = read_embedding_cache(self.cache)
        label = self.label
        if self.table is not None:
            duration = (starts.max() + meta["window_s"]) if len(starts) else 0.0
            want, table_label = selection_windows(
                self.table, self.recording_id, duration, meta["window_s"], meta["hop_s"]
            )
            label = label or table_label
        else:
            parsed = [parse_window_id(w) for w in self.window_ids]
            others = sorted({r for r, _, _ in parsed} - {self.recording_id})
            if others:
                raise ValueError(
                    f"window ids of {others} are not of the query recording {self.recording_id}"
                )
            want = np.array([s for _, s, _ in parsed], dtype=np.float64)
        return want, embeddings[window_rows(starts, want, self.recording_id)], label


@dataclass(frozen=True)
class SearchOutputs:
    hits: str | Path  # CSV of the ranked hits
    raven_dir: str | Path  # one Raven table per recording with hits
    page: str | Path  # the review page
    clips_dir: str | Path  # its clips, beside it


def search_archive(
    archive_caches: list[str | Path],
    query: SearchQuery,
    audio_of: dict[str, str],
    top_k: int,
    outputs: SearchOutputs,
    band_hz: tuple[float, float] = (0.0, 24000.0),
    codes: list[str] = (),
    name: str = "query",
) -> pd.DataFrame:
    """Rank the archive's windows by similarity to the query windows and write the hits, the
    Raven tables and the review page (clips cut from `audio_of[recording]`; the page labels
    any of `codes` and downloads labels-`name`.tsv)."""

    archive = Archive.from_caches(archive_caches)
    starts, vectors, label = query.windows()
    query_ids = [window_id(query.recording_id, s, round(s + archive.window_s, 6)) for s in starts]
    rows, scores, nearest = rank_windows(archive.embeddings, vectors, top_k)
    hits = hits_table(archive, rows, scores, query_ids, nearest)
    write_text(hits.to_csv(index=False, float_format="%.6f"), outputs.hits)
    write_search_tables(hits, outputs.raven_dir, label, band_hz)
    notes = [
        "query window" if w in query_ids else f"nearest query {q}" if len(query_ids) > 1 else None
        for w, q in zip(hits["window_id"], hits["query"], strict=True)
    ]
    cards = hits.assign(score=hits["similarity"], species=label, note=notes)
    context = {
        "title": f"Search by example: {query.recording_id}",
        "name": name,
        "codes": list(codes) or ([label] if label else []),
        "query_recording": query.recording_id,
        "query_source": str(query.table) if query.table is not None else "window ids",
        "query_ids": query_ids,
        "label": label,
        "n_archive": len(archive.embeddings),
        "n_recordings": len(set(archive.recording_ids)),
        "top_k": len(hits),
    }
    write_review_page("search.html.j2", context, cards, audio_of, outputs.clips_dir, outputs.page)
    return hits
