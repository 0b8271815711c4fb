"""The review-loop benchmark's bookkeeping on hand-worked cases: what the simulated reviewer
marks and how many known labels that makes, the starting handful, the splits, the baselines'
choices, the per-round means and the paired tests it publishes."""


import numpy as np
import pytest
from workflow_helpers import REPO

from anuraflow.features.embeddings import EmbeddingConfig
from benchmarks.science.review_loop import (
    POOL,
    TEST,
    VAL,
    Case,
    Round,
    known_label_grid,
    paired_family,
    random_windows,
    recording_split,
    review,
    starting_examples,
    summarise,
    top_score,
    within_recording_parts,
)


def case():
    truth = np.array([[1, 0, 0], [0, 1, 1], [0, 0, 0], [1, 0, 0]], dtype=np.uint8)
    return Case("t", np.eye(4, 2), truth, np.array(["a", "a", "b", "b"]), ["X", "Y", "Z"],
                EmbeddingConfig(), lambda seed: np.array([POOL, POOL, POOL, TEST]))  # fmt: skip


def test_the_reviewer_answers_the_question_and_marks_what_is_present():
    c = case()
    y, known = np.zeros((4, 3)), np.zeros((4, 3))
    review(c, y, known, 1, 0)  # asked X in a window with Y and Z: X absent, Y and Z present
    assert y[1].tolist() == [0, 1, 1] and known[1].tolist() == [1, 1, 1]
    review(c, y, known, 2, 2)  # an empty window asked about Z: Z absent, the rest unknown
    assert y[2].tolist() == [0, 0, 0] and known[2].tolist() == [0, 0, 1]
    assert known.sum() == 4  # 3 labels of window 1, 1 of window 2
    review(c, y, known, 0, None)  # every species answered: X present, Y and Z absent
    assert y[0].tolist() == [1, 0, 0] and known[0].tolist() == [1, 1, 1]
    assert known.sum() == 7
    review(c, y, known, 0, 1)  # asked again: nothing new is known
    assert known.sum() == 7


def test_the_handful_is_one_pool_window_per_class_that_has_one():
    c = case()
    start = starting_examples(c, c.split(0) == POOL, np.random.default_rng(0))
    # X: window 0 (window 3 is test), Y and Z: window 1
    assert start.tolist() == [0, 1]


def test_recording_split_puts_every_species_in_every_part():
    recs = np.repeat([f"r{i}" for i in range(12)], 2)
    truth = np.zeros((24, 2), dtype=np.uint8)
    truth[::2, 0] = 1  # species 0 in every recording
    truth[[1, 5, 9, 13, 17, 21], 1] = 1  # species 1 in six recordings
    part = recording_split(recs, truth, seed=3)
    for rec in np.unique(recs):
        assert len(set(part[recs == rec])) == 1  # recording-level
    counts = {p: len(np.unique(recs[part == p])) for p in (POOL, VAL, TEST)}
    assert counts == {POOL: 6, VAL: 2, TEST: 4}
    for p in (POOL, VAL, TEST):
        assert truth[part == p].any(axis=0).all()
    assert not np.array_equal(part, recording_split(recs, truth, seed=4))
    with pytest.raises(ValueError, match="every species"):
        recording_split(recs, np.eye(24, 2, dtype=np.uint8), seed=0)  # species 1 in one


def test_within_recording_parts():
    # 24 windows: test = the last third after a 2-window gap (cut 16), validation = 24 // 6 = 4
    # windows before the cut after its own gap
    part = within_recording_parts(24)
    assert part.tolist() == [POOL] * 10 + [1, 1] + [VAL] * 4 + [1, 1] + [TEST] * 6
    # under 20 windows: no validation
    assert within_recording_parts(8).tolist() == [POOL] * 5 + [1, 1, TEST]


def test_the_baselines_choose_what_they_say():
    prob = np.array([[0.9, 0.1], [0.8, 0.6], [0.2, 0.7], [0.5, 0.05]])
    free = np.array([10, 11, 12, 13])
    r = Round(free, prob, np.array([0.5, 0.5]), np.eye(4, 3), np.zeros((0, 3)), 3,
              np.random.default_rng(0))  # fmt: skip
    # top score in turns: species 0's best (10), species 1's best (12), species 0's next (11)
    assert top_score(r) == [(10, 0), (12, 1), (11, 0)]
    chosen = random_windows("all")(r)
    assert len({w for w, _ in chosen}) == 3 and all(j is None for _, j in chosen)
    # least sure at 0.5: window 13 asks species 0 (0.5), window 11 species 1 (0.6 vs 0.8)
    asked = dict(random_windows("least_sure")(Round(free, prob, np.array([0.5, 0.5]),
                 np.eye(4, 3), np.zeros((0, 3)), 4, np.random.default_rng(0))))  # fmt: skip
    assert asked == {10: 0, 11: 1, 12: 1, 13: 0}


def run(f1s, aps, known):
    return [{"round": k, "macro_f1_tuned": f, "macro_f1_05": f, "macro_ap": a,
             "labelled_windows": 8 + 20 * k, "known_labels": n}
            for k, (f, a, n) in enumerate(zip(f1s, aps, known, strict=True))]  # fmt: skip


def test_summarise_means_and_deviations_over_seeds():
    rows = summarise({
        "suggest": [run([0.2, 0.6], [0.3, 0.9], [8, 40]), run([0.4, 0.8], [0.5, 0.7], [8, 50])],
        "random_all": [run([0.2, 0.5], [0.3, 0.8], [8, 168]),
                       run([0.4, 0.5], [0.5, 0.8], [8, 168])],
    })  # fmt: skip
    assert rows[1]["suggest_macro_f1_tuned"] == pytest.approx(0.7)
    assert rows[1]["suggest_macro_f1_tuned_sd"] == pytest.approx(np.std([0.6, 0.8]))
    assert rows[1]["random_all_macro_ap"] == pytest.approx(0.8)
    assert rows[1]["random_all_macro_ap_sd"] == 0
    assert rows[1]["suggest_known_labels"] == 45 and rows[1]["random_all_known_labels"] == 168
    assert rows[0]["suggest_labelled_windows"] == 8 and rows[1]["random_all_labelled_windows"] == 28


def test_the_known_label_grid_is_what_every_run_reaches():
    runs = {"suggest": [run([0, 0], [0, 0], [8, 40]), run([0, 0], [0, 0], [8, 50])],
            "random_all": [run([0, 0], [0, 0], [8, 168])]}  # fmt: skip
    assert known_label_grid(runs, points=4) == [16.0, 24.0, 32.0, 40.0]


def test_paired_family_names_significant_wins_only_after_holm():
    seeds = 10
    ours = np.tile([0.6, 0.5], (seeds, 1))
    ours[:, 0] += np.linspace(0.01, 0.1, seeds)  # point 0: ours better in every seed
    ours[:, 1] += np.linspace(-0.05, 0.05, seeds)  # point 1: as often worse as better
    theirs = np.tile([0.6, 0.5], (seeds, 1))
    out = paired_family(ours, theirs, [1, 2])
    # all 10 positive: exact two-sided p = 2 / 2^10; Holm over 2 points doubles the smaller
    assert out[0]["p"] == pytest.approx(2 / 1024) and out[0]["p_holm"] == pytest.approx(4 / 1024)
    assert out[0]["verdict"] == "win" and out[0]["wins"] == 10
    assert out[1]["verdict"] == "no significant difference" and out[1]["p_holm"] > 0.5
    lost = paired_family(theirs[:, :1], ours[:, :1], [1])
    assert lost[0]["verdict"] == "loss"


RESULT = REPO / "benchmarks/results/review_loop/amd-epyc-bf16.json"
DOC = REPO / "docs/embeddings.md"


def doc_table(after: str) -> list[list[str]]:
    """The rows (cells as text) of the first Markdown table after the line starting `after`."""
    lines = DOC.read_text().split("\n")
    start = next(i for i, line in enumerate(lines) if line.startswith(after))
    rows = []
    for line in lines[start + 1 :]:
        if line.startswith("|"):
            rows.append([c.strip() for c in line.strip("|").split("|")])
        elif rows:
            break
    return rows[2:]  # without the header and its rule


@pytest.mark.parametrize(
    "after, metric",
    [("without a call on average)). Mean over 20 seeds", "macro_ap"),
     ("and of test macro F1 at the thresholds tuned", "macro_f1_tuned")],
)  # fmt: skip
def test_the_docs_synthetic_tables_are_the_json(after, metric):
    import json

    record = json.loads(RESULT.read_text())
    rounds = record["cases"]["synthetic"]["rounds"]
    strategies = ["suggest", "suggest_diverse", "suggest_before", "uncertainty", "diversity",
                  "random_all", "random_least_sure", "random_species"]  # fmt: skip
    rows = doc_table(after)
    assert len(rows) == len(rounds) == record["rounds"] + 1
    for row, r in zip(rows, rounds, strict=True):
        known = f"{r['suggest_known_labels']:.0f} / {r['random_all_known_labels']:.0f}"
        assert row[:3] == [str(r["round"]), f"{r['suggest_labelled_windows']:.0f}", known]
        assert row[3:] == [f"{100 * r[f'{s}_{metric}']:.1f}" for s in strategies]


def test_the_docs_real_table_is_the_json():
    import json

    rounds = json.loads(RESULT.read_text())["cases"]["real"]["rounds"]
    rows = doc_table("seed):")
    cells = [("suggest", "macro_ap"), ("random_all", "macro_ap"), ("suggest", "macro_f1_tuned"),
             ("suggest_diverse", "macro_f1_tuned"), ("random_all", "macro_f1_tuned"),
             ("random_least_sure", "macro_f1_tuned")]  # fmt: skip
    assert len(rows) == len(rounds)
    for row, r in zip(rows, rounds, strict=True):
        assert row[3:] == [f"{100 * r[f'{s}_{m}']:.1f}" for s, m in cells]


def test_the_docs_claims_are_the_paired_tests():
    """The verdicts docs/embeddings.md states for the synthetic case, round by round (W win,
    L loss, n no significant difference), from the JSON."""
    import json

    case = json.loads(RESULT.read_text())["cases"]["synthetic"]
    paired = case["paired"]

    def verdicts(family, key):
        return "".join({"win": "W", "loss": "L"}.get(r["verdict"], "n")
                       for r in paired[family][f"{key}"])  # fmt: skip

    for other in ("suggest_before", "uncertainty", "diversity", "random_least_sure"):
        for metric in ("macro_ap", "macro_f1_tuned"):
            assert verdicts("by_round", f"{other}/{metric}") == "W" * 8
            assert verdicts("by_known_labels", f"{other}/{metric}") == "W" * 8
    assert verdicts("by_round", "random_species/macro_ap") == "W" * 8
    assert verdicts("by_round", "random_species/macro_f1_tuned") == "n" + "W" * 7
    assert verdicts("by_round", "suggest_diverse/macro_ap") == "W" + "n" * 7
    assert verdicts("by_round", "suggest_diverse/macro_f1_tuned") == "nW" + "n" * 6
    for metric in ("macro_ap", "macro_f1_tuned"):
        assert verdicts("by_known_labels", f"suggest_diverse/{metric}") == "WWW" + "n" * 5
        assert verdicts("by_known_labels", f"random_all/{metric}") == "W" * 8
        assert verdicts("by_known_labels", f"random_species/{metric}") == "W" * 8
    assert verdicts("by_round", "random_all/macro_ap") == "n" * 8
    assert verdicts("by_round", "random_all/macro_f1_tuned") == "LL" + "n" * 6
    assert case["per_seed"]["suggest"] == case["per_seed"]["top_score"]
    assert paired["known_label_grid"][0] == pytest.approx(92.8)
    assert paired["known_label_grid"][-1] == pytest.approx(294.0)
    # random_all's known labels jump from the handful's to 224 in round 1: no measured run in
    # the grid's first points, so the page reports none of those interpolated tests
    first = min(seed[1]["known_labels"] for seed in case["per_seed"]["random_all"])
    assert first > paired["known_label_grid"][4]
    row = next(r for r in doc_table("| against |") if r[0] == "`random_all`")
    assert row[3] == "not measured (interpolated)"
    families = sum(
        1 for family in ("by_round", "by_known_labels") for key in paired[family]
        if not key.startswith("top_score/")
        and not (family == "by_known_labels" and key.startswith("random_all/"))
    )  # fmt: skip
    assert f"the table below reports {families} such families" in " ".join(DOC.read_text().split())


def test_the_docs_random_all_sentence_is_the_json():
    """random_all against suggest, tuned macro F1: higher in every round by how much, in how
    many seeds, and significant where (docs/embeddings.md's bullet)."""
    import json

    case = json.loads(RESULT.read_text())["cases"]["synthetic"]
    rounds = case["rounds"][1:]
    gaps = [100 * r["random_all_macro_f1_tuned"] - 100 * r["suggest_macro_f1_tuned"]
            for r in rounds]  # fmt: skip
    assert min(gaps) > 0
    ours, theirs = case["per_seed"]["suggest"], case["per_seed"]["random_all"]
    wins = [sum(t[k]["macro_f1_tuned"] > o[k]["macro_f1_tuned"] for o, t in zip(ours, theirs,
                                                                             strict=True))
            for k in range(1, len(rounds) + 1)]  # fmt: skip
    text = " ".join(DOC.read_text().split())
    # the page's gaps are the rounded means' differences, as its tables print them
    shown = [round(100 * r["random_all_macro_f1_tuned"], 1)
             - round(100 * r["suggest_macro_f1_tuned"], 1) for r in rounds]  # fmt: skip
    assert f"in all {len(rounds)} rounds, by {min(shown):.1f} to {max(shown):.1f} points" in text
    assert f"in {min(wins)} to {max(wins)} of the 20 seeds of each round" in text
    losses = [r["at"] for r in case["paired"]["by_round"]["random_all/macro_f1_tuned"]
              if r["verdict"] == "loss"]  # fmt: skip
    assert losses == [1, 2] and "significant after Holm's adjustment in rounds 1-2 only" in text


def test_the_docs_tuning_figures_are_the_json():
    import json

    tuning = json.loads(RESULT.read_text())["tuning"]
    first = {k: round(100 * v["macro_ap"][1], 1) for k, v in tuning["candidates"].items()}
    assert first.pop("score") == 72.4
    assert first.pop("uncertainty 1 + diversity 1 (before)") == 51.7
    assert (min(first.values()), max(first.values())) == (55.2, 58.5)
    assert tuning["seeds"] == list(range(100, 110))
    text = " ".join(DOC.read_text().split())
    assert "reached 72.4 macro AP after one round, against 55.2 to 58.5" in text


def test_every_number_of_the_measured_section_is_the_jsons():
    """docs/embeddings.md's review-loop section, prose and tables: each number (outside code
    spans and the figure's link) is one of the review-loop JSON's values as printed (RESULT;
    test_doc_numbers' rule), but the run's date and the gaps between rounded means, which
    test_the_docs_random_all_sentence_is_the_json computes."""
    import json
    import re

    from test_doc_numbers import NUMBER, numbers, printed_forms

    page = DOC.read_text()
    start = page.index("**Measured** (`.venv/bin/python -m benchmarks.science.review_loop")
    text = re.sub(r"`[^`]*`|!\[[^\]]*\]\([^)]*\)", " ", page[start : page.index("## Measured")])
    text = text.replace("2026-12-06", " ")  # the run's date
    record = json.loads(RESULT.read_text())
    forms = set()
    for value in numbers(record):
        forms |= printed_forms(value)
    case = record["cases"]["synthetic"]
    shown = [round(100 * r["random_all_macro_f1_tuned"], 1)
             - round(100 * r["suggest_macro_f1_tuned"], 1) for r in case["rounds"][1:]]  # fmt: skip
    gaps = {f"{gap:.1f}" for gap in shown}
    missing = [n for n in NUMBER.findall(text) if n.rstrip(",") not in forms | gaps]
    assert not missing, missing
