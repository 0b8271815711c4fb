"""Review decisions as training data: reading the page's files, refusing bad ones with the file
and line, resolving relabellings, partial labels in windows, the masked loss, the split."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F

from anuraflow.data.label_rows import AnnotationError
from anuraflow.data.review_labels import (
    HEADER,
    PAGE_MARK,
    apply_review,
    known_mask,
    read_review_file,
    read_review_labels,
)
from anuraflow.data.splits import split_dataset
from anuraflow.data.windows import segment_recording
from anuraflow.learn import losses
from anuraflow.learn.mixing import identity_mixture, mixed_loss, pair_mixture

CODES = ["AAA", "BBB"]
DURATIONS = {"rec1": 10.0, "pool1": 6.0}


def labels_file(path: Path, rows: list[str], end: int | None = -1, mark=True) -> Path:
    """A labels file as the review page writes it (`end` -1: the right count; None: none)."""
    lines = ([PAGE_MARK] if mark else []) + ["\t".join(HEADER), *rows]
    if end is not None:
        lines.append(f"# end: {len(rows) if end == -1 else end} decisions")
    path.write_text("\n".join(lines) + "\n")
    return path


def row(
    rec="rec1", start=2, species="AAA", decision="present", who="ana", t="2026-12-04T10:00:00Z"
):
    return f"{rec}\t{start}\t{start + 3}\t{species}\t{decision}\t{who}\t{t}"


def test_a_page_file_reads_with_its_lines(tmp_path):
    df = read_review_file(labels_file(tmp_path / "a.tsv", [row(), row(start=3, decision="absent")]))
    assert df[["recording", "start_s", "species", "decision", "line"]].values.tolist() == [
        ["rec1", 2.0, "AAA", "present", 3],
        ["rec1", 3.0, "AAA", "absent", 4],
    ]


@pytest.mark.parametrize(
    "rows, end, needle, line",
    [
        ([row()], None, "half-written download", 3),  # the end line never came
        ([row(), row(start=3)], 5, "counts 5 decisions, the file holds 2", 5),
        ([row(decision="maybe")], -1, "decision is not one of present, absent, unsure", 3),
        ([row(t="yesterday")], -1, "not an ISO 8601 time", 3),
        ([row().replace("\tana", "")], -1, "6 fields", 3),
        ([row().replace("\t2\t", "\ttwo\t")], -1, "start_s is not a number", 3),
    ],
)
def test_a_bad_file_is_refused_naming_its_line(tmp_path, rows, end, needle, line):
    path = labels_file(tmp_path / "bad.tsv", rows, end)
    with pytest.raises(AnnotationError, match=needle) as err:
        read_review_file(path)
    assert err.value.line == line and err.value.path == str(path)


def test_a_hand_written_file_needs_no_end_line(tmp_path):
    path = labels_file(tmp_path / "hand.tsv", [row()], end=None, mark=False)
    assert len(read_review_file(path)) == 1


@pytest.mark.parametrize(
    "bad, needle",
    [
        (row(rec="elsewhere"), "not a recording of this dataset"),
        (row(species="ZZZ"), "unknown species 'ZZZ'"),
        (row(start=2.5), "not a window of the grid"),
        (row(start=8), "not a window of the grid"),  # 8-11 s runs past the 10 s recording
    ],
)
def test_a_decision_off_the_dataset_is_refused(tmp_path, bad, needle):
    path = labels_file(tmp_path / "x.tsv", [row(), bad])
    with pytest.raises(AnnotationError, match=needle) as err:
        read_review_labels([path], DURATIONS, CODES, 3.0, 1.0)
    assert err.value.line == 4


def test_the_same_reviewer_later_wins_and_the_override_is_recorded(tmp_path):
    first = labels_file(tmp_path / "labels-a.tsv", [row(t="2026-12-04T10:00:00Z")])
    later = labels_file(
        tmp_path / "labels-b.tsv", [row(decision="absent", t="2026-12-05T09:00:00Z")]
    )
    decisions, record = read_review_labels([later, first], DURATIONS, CODES, 3.0, 1.0)
    assert decisions["decision"].tolist() == ["absent"]
    assert record["overrides"] == [
        {
            "recording": "rec1",
            "start_s": 2.0,
            "species": "AAA",
            "decision": "absent",
            "by": f"{later}:3",
            "replaces": "present",
            "replaced": f"{first}:3",
        }
    ]
    assert record["n_decisions"] == {"present": 0, "absent": 1, "unsure": 0}


def test_two_reviewers_who_disagree_are_a_contradiction(tmp_path):
    a = labels_file(tmp_path / "a.tsv", [row(who="ana")])
    b = labels_file(
        tmp_path / "b.tsv", [row(decision="absent", who="bo", t="2026-12-05T00:00:00Z")]
    )
    with pytest.raises(AnnotationError, match="Reviewers disagree") as err:
        read_review_labels([a, b], DURATIONS, CODES, 3.0, 1.0)
    assert str(a) in str(err.value) and str(b) in str(err.value)
    # unsure is no decision: it contradicts nobody
    c = labels_file(
        tmp_path / "c.tsv", [row(decision="unsure", who="bo", t="2026-12-05T00:00:00Z")]
    )
    decisions, _ = read_review_labels([a, c], DURATIONS, CODES, 3.0, 1.0)
    assert len(decisions) == 1


def windows_of(calls_by_rec):
    frames = []
    for rec, duration in DURATIONS.items():
        calls = pd.DataFrame(calls_by_rec.get(rec, []), columns=["start_s", "end_s", "species"])
        frames.append(segment_recording(rec, duration, calls, CODES))
    return pd.concat(frames, ignore_index=True)


def test_review_makes_partial_windows_and_overrides_annotations(tmp_path):
    windows = windows_of({"rec1": [(0.5, 1.5, "AAA")]})  # AAA in rec1's windows 0-3 and 1-4
    path = labels_file(
        tmp_path / "l.tsv",
        [
            row(rec="rec1", start=0, species="AAA", decision="absent"),  # corrects the file
            row(rec="rec1", start=5, species="BBB", decision="present"),
            row(rec="pool1", start=1, species="BBB", decision="present"),
            row(rec="pool1", start=2, species="AAA", decision="absent"),
            row(rec="pool1", start=3, species="AAA", decision="unsure"),
        ],
    )
    decisions, _ = read_review_labels([path], DURATIONS, CODES, 3.0, 1.0)
    out, changed = apply_review(windows, decisions, CODES, {"pool1"})
    assert [c.split(": ", 1)[1] for c in changed] == [
        "AAA absent in rec1_0_3 (the annotation file said present)",
        "BBB present in rec1_5_8 (the annotation file said absent)",
    ]
    rec1 = out[out["recording_id"] == "rec1"].set_index("start_s")
    assert len(rec1) == 8 and not rec1["partial"].any()  # every window of a labelled recording
    assert rec1.loc[0.0, "AAA"] == 0 and rec1.loc[1.0, "AAA"] == 1 and rec1.loc[5.0, "BBB"] == 1
    pool = out[out["recording_id"] == "pool1"]
    # only the windows decided present or absent; the unsure one and the rest are not there
    assert pool["start_s"].tolist() == [1.0, 2.0] and pool["partial"].all()
    assert pool[["AAA", "BBB", "known_AAA", "known_BBB"]].values.tolist() == [
        [0, 1, 0, 1],
        [0, 0, 1, 0],
    ]
    assert pool["polyphony"].tolist() == [1, 0]
    mask = known_mask(out, CODES)
    assert mask.shape == (10, 2) and mask.sum() == 8 * 2 + 2
    assert known_mask(out[~out["partial"]], CODES) is None  # every label known: no mask


def test_masked_bce_equals_the_hand_computation():
    logits = torch.tensor([[0.3, -1.2], [2.0, 0.5]])
    y = torch.tensor([[1.0, 0.0], [0.0, 0.0]])
    known = torch.tensor([[1.0, 1.0], [1.0, 0.0]])
    terms = F.binary_cross_entropy_with_logits(logits, y, reduction="none")
    expected = torch.stack([(terms[0, 0] + terms[0, 1]) / 2, terms[1, 0] / 2])
    assert torch.allclose(losses.bce(logits, y, known=known), expected)
    # every label known: exactly the unmasked loss
    assert torch.equal(losses.bce(logits, y, known=torch.ones(2, 2)), losses.bce(logits, y))
    focal = losses.focal(logits, y, gamma=2.0, known=known)
    p = torch.sigmoid(logits)
    p_t = p * y + (1 - p) * (1 - y)
    f = (1 - p_t) ** 2 * terms
    assert torch.allclose(focal, torch.stack([(f[0, 0] + f[0, 1]) / 2, f[1, 0] / 2]))


def test_mixing_masks_each_original_in_its_own_term():
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(4, 2, generator=gen)
    y = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0], [1.0, 1.0]])
    known = torch.tensor([[1.0, 0.0], [1.0, 1.0], [0.0, 1.0], [1.0, 1.0]])
    mixture = pair_mixture(4, 1.0, gen)
    got = mixed_loss(losses.bce, logits, y, mixture, known)
    by_hand = 0.0
    for k in range(4):
        for m in range(2):
            j = mixture.index[k, m]
            t = F.binary_cross_entropy_with_logits(logits[k], y[j], reduction="none")
            by_hand += mixture.weight[k, m] * (t * known[j]).mean()
    assert torch.allclose(got, by_hand / 4)
    plain = mixed_loss(losses.bce, logits, y, identity_mixture(4))
    assert torch.allclose(
        mixed_loss(losses.bce, logits, y, identity_mixture(4), torch.ones(4, 2)), plain
    )


def test_recordings_known_only_by_review_always_train(tmp_path):
    rng = np.random.default_rng(0)
    rows = [
        {"recording_id": f"r{r:02d}", "start_s": float(w), "AAA": int(rng.random() < 0.5),
         "BBB": int(rng.random() < 0.3), "partial": False}
        for r in range(24) for w in range(3)
    ]  # fmt: skip
    rows += [{"recording_id": "pool", "start_s": 0.0, "AAA": 1, "BBB": 0, "partial": True}]
    pd.DataFrame(rows).to_parquet(tmp_path / "w.parquet")
    splits = split_dataset(tmp_path / "w.parquet", tmp_path / "s.parquet", CODES,
                           ledger_path=tmp_path / "ledger.json")  # fmt: skip
    pool = splits.set_index("recording_id").loc["pool"]
    assert (pool["subset"], pool["origin"]) == ("train", "reviewed")
    assert set(splits["subset"]) == {"train", "val", "test"}
    assert "pool" not in (tmp_path / "ledger.json").read_text()


def test_no_labels_file_yet_gives_a_typed_empty_table(tmp_path):
    """An empty review folder: no decision, zero counts, and columns typed as a file's are
    (the table is written to Parquet and matched by start time)."""
    decisions, record = read_review_labels([], DURATIONS, CODES, 3.0, 1.0)
    assert decisions.empty and record["files"] == [] and record["overrides"] == []
    assert record["n_decisions"] == {"present": 0, "absent": 0, "unsure": 0}
    assert decisions["start_s"].dtype == float and decisions["line"].dtype == int
    one = read_review_file(labels_file(tmp_path / "a.tsv", [row()]))
    assert decisions.dtypes.to_dict() == one.dtypes.to_dict()
