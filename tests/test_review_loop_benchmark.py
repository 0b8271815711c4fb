"""The review-loop benchmark's bookkeeping on hand-worked cases: what the simulated reviewer
marks, the starting handful, and the per-round means and deviations it publishes."""

import sys

import numpy as np
import pytest
from workflow_helpers import REPO

sys.path.insert(0, str(REPO / "benchmarks"))
from review_loop import Case, review, starting_examples, summarise  # noqa: E402


def case():
    truth = np.array([[1, 0, 0], [0, 1, 1], [0, 0, 0], [1, 0, 0]], dtype=np.uint8)
    return Case("t", np.eye(4, 2), truth, np.array(["a", "a", "b", "b"]),
                np.array([False, False, False, True]), ["X", "Y", "Z"])  # fmt: skip


def test_the_reviewer_answers_the_question_and_marks_what_is_present():
    c = case()
    y, known = np.zeros((4, 3)), np.zeros((4, 3))
    review(c, y, known, 1, 0)  # asked X in a window with Y and Z: X absent, Y and Z present
    assert y[1].tolist() == [0, 1, 1] and known[1].tolist() == [1, 1, 1]
    review(c, y, known, 2, 2)  # an empty window asked about Z: Z absent, the rest unknown
    assert y[2].tolist() == [0, 0, 0] and known[2].tolist() == [0, 0, 1]


def test_the_handful_is_one_pool_window_per_class_that_has_one():
    start = starting_examples(case(), np.random.default_rng(0))
    # X: window 0 (window 3 is test), Y and Z: window 1
    assert start.tolist() == [0, 1]


def test_summarise_means_and_deviations_over_seeds():
    def run(f1s, aps):
        return [{"round": k, "macro_f1": f, "macro_ap": a, "labelled_windows": 8 + 20 * k}
                for k, (f, a) in enumerate(zip(f1s, aps, strict=True))]  # fmt: skip

    rows = summarise({
        "suggest": [run([0.2, 0.6], [0.3, 0.9]), run([0.4, 0.8], [0.5, 0.7])],
        "random": [run([0.2, 0.5], [0.3, 0.8]), run([0.4, 0.5], [0.5, 0.8])],
    })  # fmt: skip
    assert rows[1]["suggest_macro_f1"] == pytest.approx(0.7)
    assert rows[1]["suggest_macro_f1_sd"] == pytest.approx(np.std([0.6, 0.8]))
    assert rows[1]["random_macro_ap"] == pytest.approx(0.8) and rows[1]["random_macro_ap_sd"] == 0
    assert rows[1]["suggest_beats_random_f1"] and not rows[1]["suggest_beats_random_ap"]
    assert rows[0]["suggest_labelled_windows"] == 8 and rows[1]["random_labelled_windows"] == 28
