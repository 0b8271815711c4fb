"""What to label next: the terms and the greedy choice against hand-worked cases."""

import numpy as np
import pandas as pd
import pytest

from anuraflow.detect.search import Archive
from anuraflow.detect.suggest import (
    Strategy,
    candidate_rows,
    choose_windows,
    suggestion_table,
    uncertainty,
)


def test_uncertainty_is_one_at_the_threshold_and_zero_at_the_far_end():
    prob = np.array([[0.5, 0.2], [0.0, 0.6], [1.0, 1.0], [0.75, 0.0]])
    got = uncertainty(prob, np.array([0.5, 0.2]))
    # t = 0.5: 1 - |p - .5| / .5; t = 0.2: 1 - |p - .2| / .8
    expected = np.array([[1.0, 1.0], [0.0, 0.5], [0.0, 0.0], [0.5, 0.75]])
    assert np.allclose(got, expected)


E = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.7071, 0.7071]])


def test_uncertainty_alone_picks_the_scores_nearest_each_threshold_once():
    prob = np.array([[0.5, 0.9], [0.45, 0.5], [0.1, 0.52], [0.9, 0.1]])
    out = choose_windows(prob, np.array([0.5, 0.5]), E, E[:0], Strategy(2, 1.0, 0.0, score=0.0))
    # turn 1: species 0 -> window 0 (score 0.5), species 1 -> window 1 (0.5, before 2's 0.52);
    # turn 2: species 0 -> windows 2 and 3 tie at 0.2, the earlier (2); species 1 -> 3, the
    # last one free
    assert out[["position", "species"]].values.tolist() == [[0, 0], [1, 1], [2, 0], [3, 1]]
    assert np.allclose(out["uncertainty"], [1.0, 1.0, 0.2, 0.2])


def test_diversity_alone_is_greedy_k_centre():
    """Labelled: window 0's direction. Distances 1 - cos: w1 1, w2 2, w3 0.2929. The farthest
    (w2) first; then from {w0, w2} w1 is 1 away, w3 0.29: w1; then w3."""
    prob = np.full((4, 1), 0.5)
    labelled = np.array([[2.0, 0.0]])  # length does not matter: cosine
    out = choose_windows(prob, np.array([0.5]), E, labelled, Strategy(3, 0.0, 1.0, score=0.0))
    assert out["position"].tolist() == [2, 1, 3]
    # each diversity is the chosen one's distance over the largest among the free windows: 1
    assert np.allclose(out["diversity"], [1.0, 1.0, 1.0])
    # window 0 itself is labelled: distance 0, never worth choosing before the others
    assert 0 not in out["position"].tolist()


def test_the_mix_weighs_the_terms():
    prob = np.array([[0.5], [0.9], [0.1]])
    emb = np.array([[1.0, 0.0], [0.0, 1.0], [0.0, -1.0]])
    labelled = np.array([[1.0, 0.0]])
    # window 0: uncertainty 1, distance 0; windows 1 and 2: uncertainty 0.2, distance 1
    out = choose_windows(prob, np.array([0.5]), emb, labelled, Strategy(1, 1.0, 1.0, score=0.0))
    assert out["position"].tolist() == [1]  # 0.2 + 1 beats 1 + 0
    assert out["total"].tolist() == pytest.approx([1.2])
    sim = np.array([[1.0], [0.0], [-0.5]])  # clipped at 0
    out = choose_windows(prob, np.array([0.5]), emb, labelled, Strategy(1, 1.0, 1.0, 1.0, 0.0), sim)
    assert out["position"].tolist() == [0] and out["total"].tolist() == pytest.approx([2.0])


def test_the_default_is_each_species_top_scores_in_turns():
    prob = np.array([[0.2, 0.1], [0.9, 0.2], [0.4, 0.3], [0.8, 0.6]])
    strategy = Strategy(2)
    assert (strategy.score, strategy.uncertainty, strategy.diversity) == (1.0, 0.0, 0.0)
    out = choose_windows(prob, np.array([0.5, 0.5]), E, E[:0], strategy)
    # species 0: w1 (0.9); species 1: w3 (0.6); species 0: w2 (0.4, w1 and w3 taken); 1: w0
    assert out[["position", "species"]].values.tolist() == [[1, 0], [3, 1], [2, 0], [0, 1]]
    assert out["score"].tolist() == pytest.approx([0.9, 0.6, 0.4, 0.1])
    assert out["total"].tolist() == pytest.approx([0.9, 0.6, 0.4, 0.1])


def test_score_and_diversity_mix():
    """Score 1, diversity 0.5. Nothing labelled: every distance is 1 (diversity 1), so species 0
    takes window 1 (0.9 + 0.5). Distances to window 1 are then w0 1, w2 1 (the start value caps
    them), w3 1 - cos 45 deg = 0.2929 (diversity 0.2929 over the largest, 1): species 1 takes
    w2 (0.3 + 0.5 = 0.8) over w3 (0.6 + 0.1464) and w0 (0.1 + 0.5)."""
    prob = np.array([[0.2, 0.1], [0.9, 0.2], [0.4, 0.3], [0.8, 0.6]])
    out = choose_windows(prob, np.array([0.5, 0.5]), E, E[:0], Strategy(1, 0.0, 0.5))
    assert out[["position", "species"]].values.tolist() == [[1, 0], [2, 1]]
    assert out["total"].tolist() == pytest.approx([1.4, 0.8])
    assert out["diversity"].tolist() == pytest.approx([1.0, 1.0])


def test_the_budget_stops_when_the_pool_runs_out():
    out = choose_windows(np.full((3, 2), 0.3), np.array([0.5, 0.5]), E[:3], E[:0],
                         Strategy(5, 1.0, 1.0, score=0.0))  # fmt: skip
    assert sorted(out["position"]) == [0, 1, 2]
    empty = choose_windows(np.zeros((0, 2)), np.array([0.5, 0.5]), E[:0], E[:0], Strategy())
    assert empty.empty


def test_the_table_says_why_each_window_was_chosen():
    archive = Archive(np.array(["r1", "r1", "r2"], dtype=object), np.array([0.0, 1.0, 0.0]),
                      E[:3].astype(np.float32), 3.0)  # fmt: skip
    prob = np.array([[0.45, 0.1], [0.9, 0.2], [0.2, 0.8]])
    strategy = Strategy(1, 1.0, 0.5, score=0.0)
    chosen = choose_windows(prob, np.array([0.5, 0.5]), archive.embeddings, E[:0], strategy)
    table = suggestion_table(archive, chosen, prob, [0.5, 0.5], ["AAA", "BBB"], strategy)
    # AAA: uncertainties .9, .2, .4, diversity 1 each (nothing labelled): r1_0_3 (1.4).
    # BBB: uncertainties .2, .4, .4; distances to r1_0_3 now 1 and 1 (capped by the start
    # value 1): r1_1_4 and r2_0_3 tie at 0.9, the earlier wins
    assert table[["rank", "window_id", "species"]].values.tolist() == [
        [1, "r1_0_3", "AAA"],
        [2, "r1_1_4", "BBB"],
    ]
    assert table["total"].tolist() == pytest.approx([1.4, 0.9])
    assert table["why"][0].startswith(
        "for AAA: score 0.45 near the threshold 0.50 (uncertainty 0.90)"
    )
    assert "diversity" in table["why"][0]


def test_reviewed_windows_are_no_candidates():
    archive = Archive(np.array(["r1", "r1", "r2"], dtype=object), np.array([0.0, 1.0, 0.0]),
                      E[:3].astype(np.float32), 3.0)  # fmt: skip
    assert candidate_rows(archive, {("r1", 1.0)}).tolist() == [True, False, True]


def test_predict_review_takes_each_species_top_windows_two_per_recording():
    from anuraflow.detect.detection_review import top_windows

    scores = pd.DataFrame(
        {
            "recording_id": ["a", "a", "a", "b", "b"],
            "start_s": [0.0, 1.0, 2.0, 0.0, 1.0],
            "end_s": [3.0, 4.0, 5.0, 3.0, 4.0],
            "X": [0.9, 0.8, 0.95, 0.1, 0.5],
            "Y": [0.2, 0.2, 0.2, 0.7, 0.6],
        }
    )
    hits = top_windows(scores, {"X": 0.6, "Y": 0.65}, ["X", "Y"], k=3)
    # X: a's best two (2, 0), then b's best (1); Y: b's two, then a's first of the tie
    assert hits[["window_id", "species"]].values.tolist() == [
        ["a_2_5", "X"], ["a_0_3", "X"], ["b_1_4", "X"],
        ["b_0_3", "Y"], ["b_1_4", "Y"], ["a_0_3", "Y"],
    ]  # fmt: skip
    assert hits["rank"].tolist() == [1, 2, 3, 4, 5, 6]
    assert hits["note"][2] == "X: score 0.50, below its threshold 0.60"
    assert hits["note"][3] == "Y: score 0.70, above its threshold 0.65"


def test_nearest_distance_in_blocks_equals_the_whole_matrix():
    from anuraflow.detect.search import unit_rows
    from anuraflow.detect.suggest import nearest_distance

    rng = np.random.default_rng(0)
    a, b = unit_rows(rng.normal(size=(50, 8))), unit_rows(rng.normal(size=(7, 8)))
    whole = np.clip(1.0 - (a @ b.T).max(axis=1), 0.0, None)
    assert np.allclose(nearest_distance(a, b, block=6), whole)
    assert nearest_distance(a, b[:0]).tolist() == [1.0] * 50  # nothing labelled yet
