"""What to label next: unlabelled windows ranked for review, agile modelling's active step.

Each species gets `per_species` windows, chosen greedily in turns (one per species per round),
each time the window with the highest mixed score for that species:

    w_p * score + w_u * uncertainty + w_d * diversity + w_s * similarity

- score: the probe's score p for the species (top-scoring windows first, as BirdNET-Analyzer's
  review and Perch's agile modelling start);
- uncertainty: 1 - |p - t| / max(t, 1 - t) for the probe's score p and the species'
  threshold t: 1 at the threshold, 0 at the far end of [0, 1];
- diversity: the cosine distance of the window's embedding to the nearest window already
  labelled or already chosen, over the largest such distance among the candidates (greedy
  k-centre, Sener & Savarese 2018): a window far from everything labelled teaches most;
- similarity: the best cosine similarity (clipped at 0) to the search's query windows, for the
  query's species (every species when the query has no label).

A window is suggested once, for the species it was chosen for; each gets a sentence saying
why. The default is the score alone (each species' top-scoring windows): in
`benchmarks/science/review_loop.py` no mix with uncertainty or diversity taught a probe more in the
first rounds (docs/embeddings.md); diversity helps F1 later. `suggest_windows` writes the
ranked table and the same review page as the search.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from anuraflow.core.fileio import write_text
from anuraflow.data.windows import window_keys
from anuraflow.detect.search import Archive, best_similarity, unit_rows
from anuraflow.features.frontend import EmbeddingFrontend
from anuraflow.learn.bundle import load_bundle
from anuraflow.report.review import write_review_page

TERMS = ("score", "uncertainty", "diversity", "similarity")


@dataclass(frozen=True)
class Strategy:
    """How windows are chosen: the weights of the four terms and the per-species budget."""

    per_species: int = 5
    uncertainty: float = 0.0
    diversity: float = 0.0
    similarity: float = 0.0
    score: float = 1.0


def uncertainty(prob: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """[n, species]: 1 where the score is at the species' threshold, 0 at 0 or 1's far end."""
    t = np.asarray(thresholds, dtype=np.float64)[None, :]
    return 1.0 - np.abs(np.asarray(prob, dtype=np.float64) - t) / np.maximum(t, 1.0 - t)


def nearest_distance(unit: np.ndarray, labelled: np.ndarray, block: int = 1024) -> np.ndarray:
    """Each row's cosine distance to the nearest of the `labelled` rows (both unit length), 1
    when there is none, computed `block` rows at a time: an archive of 10^5 windows against
    10^4 labelled ones never holds their whole similarity matrix."""
    out = np.ones(len(unit))
    if len(labelled):
        for i in range(0, len(unit), block):
            best = (unit[i : i + block] @ labelled.T).max(axis=1)
            out[i : i + block] = np.clip(1.0 - best, 0.0, None)
    return out


def choose_windows(
    prob: np.ndarray,
    thresholds: np.ndarray,
    embeddings: np.ndarray,
    labelled: np.ndarray,
    strategy: Strategy,
    similarity: np.ndarray | None = None,
) -> pd.DataFrame:
    """The windows to review, in the order chosen: position (row of `prob`), species (column),
    and each term's value when it was chosen. `labelled`: embeddings of the windows already
    labelled (may be empty); `similarity`: [n, species] or None (the term is 0)."""
    n, n_species = prob.shape
    prob = np.asarray(prob, dtype=np.float64)
    unc = uncertainty(prob, thresholds)
    sim = np.zeros_like(unc) if similarity is None else np.clip(similarity, 0.0, None)
    unit = unit_rows(embeddings).astype(np.float32)
    nearest = nearest_distance(unit, unit_rows(labelled).astype(np.float32))
    free = np.ones(n, dtype=bool)
    rows = []
    w_p, w_u = strategy.score, strategy.uncertainty
    w_d, w_s = strategy.diversity, strategy.similarity
    for _ in range(strategy.per_species):
        for j in range(n_species):
            if not free.any():
                break
            top = nearest[free].max()
            div = nearest / top if top > 0 else np.zeros(n)
            total = w_p * prob[:, j] + w_u * unc[:, j] + w_d * div + w_s * sim[:, j]
            i = int(np.flatnonzero(free)[np.argmax(total[free])])  # ties: the earlier window
            rows.append((i, j, prob[i, j], unc[i, j], div[i], sim[i, j], total[i]))
            free[i] = False
            nearest = np.minimum(nearest, np.clip(1.0 - unit @ unit[i], 0.0, None))
    return pd.DataFrame(rows, columns=["position", "species", *TERMS, "total"])


def why(row, code: str, score: float, threshold: float, strategy: Strategy) -> str:
    """One sentence per suggestion: the terms that chose it, the largest first."""
    parts = {
        "score": f"a high score {score:.2f} (threshold {threshold:.2f})",
        "uncertainty": f"score {score:.2f} near the threshold {threshold:.2f} "
        f"(uncertainty {row.uncertainty:.2f})",
        "diversity": f"far from what is labelled (diversity {row.diversity:.2f})",
        "similarity": f"like the query (similarity {row.similarity:.2f})",
    }
    weighted = {t: getattr(strategy, t) * getattr(row, t) for t in TERMS if getattr(strategy, t)}
    order = sorted(weighted, key=weighted.get, reverse=True)
    return f"for {code}: " + "; ".join(parts[t] for t in order)


@dataclass(frozen=True)
class SuggestOutputs:
    table: str | Path  # suggestions.csv
    page: str | Path  # the review page
    clips_dir: str | Path  # its clips, beside it


def candidate_rows(archive: Archive, exclude: set[tuple[str, float]]) -> np.ndarray:
    """Rows of the archive not in `exclude` ((recording, start) already reviewed)."""
    keys = window_keys(archive.recording_ids, archive.starts)
    return np.array([k not in exclude for k in keys], dtype=bool)


def suggestion_table(
    archive: Archive, chosen: pd.DataFrame, prob, thresholds, codes, strategy: Strategy
) -> pd.DataFrame:
    """The ranked suggestions with their window, species, score, terms and reason."""
    pos = chosen["position"].to_numpy()
    species = [codes[j] for j in chosen["species"]]
    score = prob[pos, chosen["species"].to_numpy()]
    threshold = np.asarray(thresholds)[chosen["species"].to_numpy()]
    table = archive.ranked(pos).assign(species=species, score=score, threshold=threshold)
    for t in (*TERMS, "total"):
        table[t] = chosen[t].to_numpy()
    table["why"] = [
        why(r, c, s, t, strategy)
        for r, c, s, t in zip(chosen.itertuples(), species, score, threshold, strict=True)
    ]
    return table


def write_suggestions(
    table: pd.DataFrame,
    audio_of: dict[str, str],
    outputs: SuggestOutputs,
    context: dict,
) -> None:
    """suggestions.csv and the review page (the search's labelling page)."""

    write_text(table.to_csv(index=False, float_format="%.6f"), outputs.table)
    cards = table.assign(note=table["why"])
    write_review_page("suggest.html.j2", context, cards, audio_of, outputs.clips_dir,
                      outputs.page)  # fmt: skip


@dataclass(frozen=True)
class SuggestInputs:
    """What `suggest_windows` reads."""

    model: str | Path  # a probe's bundle (model.pt): its scores and thresholds
    archive: list[str]  # embedding caches of the recordings whose windows may be suggested
    dataset: list[str]  # embedding caches of the dataset (where the labelled windows are)
    windows: str | Path  # windows.parquet: the windows labelled so far
    review: str | Path | None = None  # review_labels.parquet: windows already reviewed
    unlabelled: frozenset[str] | None = None  # only these recordings' windows (None: all)
    query: object | None = None  # a detect.search.SearchQuery, for the similarity term


def labelled_embeddings(inputs: SuggestInputs, archive: Archive) -> np.ndarray:
    """Embeddings of the windows labelled so far (windows.parquet's), for diversity."""
    same = sorted(map(str, inputs.dataset)) == sorted(map(str, inputs.archive))
    dataset = archive if same else Archive.from_caches(inputs.dataset)
    windows = pd.read_parquet(inputs.windows, columns=["recording_id", "start_s"])
    keys = set(window_keys(windows["recording_id"], windows["start_s"]))
    return dataset.embeddings[~candidate_rows(dataset, keys)]


def query_similarity(query, archive: Archive, codes: list[str]) -> np.ndarray:
    """[n, species]: each window's best cosine to the query windows, in the query label's
    column (every column when the query has no label)."""
    _, vectors, label = query.windows()
    best, _ = best_similarity(archive.embeddings, vectors)
    sim = np.zeros((len(best), len(codes)))
    columns = [codes.index(label)] if label in codes else range(len(codes))
    sim[:, list(columns)] = best[:, None]
    return sim


def suggest_windows(
    inputs: SuggestInputs,
    audio_of: dict[str, str],
    strategy: Strategy,
    threshold: str | float,
    outputs: SuggestOutputs,
    name: str = "next",
) -> pd.DataFrame:
    """Rank the archive's unlabelled, unreviewed windows for review (module docstring) and
    write suggestions.csv and the review page."""

    bundle = load_bundle(inputs.model)
    if not isinstance(bundle.frontend, EmbeddingFrontend):
        reads = "samples" if bundle.frontend.kind == "waveform" else "spectrograms"
        raise ValueError(f"{inputs.model}: suggest needs a probe on embeddings (linear_probe or "
                         f"mlp_probe), this model reads {reads}")  # fmt: skip
    archive = Archive.from_caches(inputs.archive)
    reviewed: set = set()
    if inputs.review is not None:
        review = pd.read_parquet(inputs.review, columns=["recording", "start_s"])
        reviewed = set(window_keys(review["recording"], review["start_s"]))
    free = candidate_rows(archive, reviewed)
    if inputs.unlabelled is not None:
        free &= np.isin(archive.recording_ids, list(inputs.unlabelled))
    if not free.any():
        raise ValueError("no unlabelled window left to suggest: every window of the archive "
                         "has a label file or a decision")  # fmt: skip
    labelled = labelled_embeddings(inputs, archive)
    pool = Archive(archive.recording_ids[free], archive.starts[free],
                   archive.embeddings[free], archive.window_s)  # fmt: skip
    sim = None
    if strategy.similarity and inputs.query is not None:
        sim = query_similarity(inputs.query, pool, bundle.codes)
    rows = torch.from_numpy(np.ascontiguousarray(pool.embeddings))
    prob = bundle.score(rows, torch.arange(len(rows)))
    thresholds = bundle.decision_thresholds(threshold)
    chosen = choose_windows(prob, thresholds, pool.embeddings, labelled, strategy, sim)
    table = suggestion_table(pool, chosen, prob, thresholds, bundle.codes, strategy)
    context = {
        "title": f"What to label next: {name}",
        "name": name,
        "codes": bundle.codes,
        "model": str(inputs.model),
        "strategy": strategy,
        "n_pool": int(len(pool.embeddings)),
        "n_recordings": int(len(set(pool.recording_ids))),
        "n_labelled": int(len(labelled)),
    }
    write_suggestions(table, audio_of, outputs, context)
    print(f"{len(table)} windows suggested out of {len(pool.embeddings)} unlabelled ones",
          flush=True)  # fmt: skip
    return table
