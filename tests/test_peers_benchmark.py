"""The arithmetic of benchmarks/peers/compare.py: which rounds count, the medians and the
ratios its table publishes, checked on hand-worked rows (the peers themselves are not run)."""

import importlib.util
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def compare():
    sys.path.insert(0, str(REPO / "benchmarks"))
    spec = importlib.util.spec_from_file_location(
        "peers_compare", REPO / "benchmarks" / "peers" / "compare.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def rows(walls, loads, windows=600, **extra):
    return [
        {"windows": windows, "wall_s": w, "other_load": o, "round": r, "disturbed": o > 0.25,
         **extra}
        for r, (w, o) in enumerate(zip(walls, loads, strict=True))
    ]  # fmt: skip


def test_a_disturbed_round_is_dropped_from_the_median(compare):
    # 600 windows of 1 s: 600 / 10 = 60, 600 / 12 = 50, 600 / 30 = 20 (disturbed: dropped)
    s = compare.summarise(rows([10, 30, 12], [0.01, 0.9, 0.05]), 1.0)
    assert s["median"] == 55.0  # median of 60 and 50
    assert s["rounds"] == [60.0, 20.0, 50.0] and s["dropped_rounds"] == [1]
    assert not s["all_rounds_disturbed"]


def test_when_every_round_was_disturbed_all_count_and_the_row_says_so(compare):
    s = compare.summarise(rows([10, 20, 30], [0.5, 0.6, 0.7]), 1.0)
    assert s["median"] == 30.0 and s["all_rounds_disturbed"] and s["dropped_rounds"] == []


def test_ratios_against_the_default_the_best_batch_and_the_fastest_loop(compare):
    def med(v, **extra):
        return {"median": v, **extra}

    summary = {
        "predict_resnet18": {
            "ours": med(90.0),
            "opensoundscape_batch1": med(30.0),
            "opensoundscape_batch16": med(45.0),
            "opensoundscape_batch64": med(40.0),
        },
        "train_resnet18": {
            "ours_auto": med(60.0, precision="bf16"),
            "ours_fp32": med(30.0),
            "opensoundscape_default": med(40.0),
        },
        "embeddings": {
            "ours_2x1thread": med(36.0),
            "birdnet_analyzer_loop": med(12.0),
            "litert_xnnpack_logits_1x2thread": med(24.0),
            "litert_xnnpack_logits_2x1thread": med(30.0),
        },
    }
    r = compare.ratios(summary)
    assert r["predict_resnet18"]["vs_opensoundscape_default"] == 3.0
    assert r["predict_resnet18"]["vs_opensoundscape_best"] == 2.0  # 90 / 45
    assert r["predict_resnet18"]["opensoundscape_best_variant"] == "opensoundscape_batch16"
    assert r["train_resnet18"]["auto_vs_opensoundscape_default"] == 1.5
    assert r["train_resnet18"]["auto_resolves_to"] == "bf16"
    assert r["embeddings"]["vs_fastest_litert_loop"] == 1.2  # 36 / 30
    assert r["embeddings"]["fastest_litert_loop"] == "litert_xnnpack_logits_2x1thread"
    assert r["embeddings"]["vs_birdnet_analyzer_loop"] == 3.0
    assert "predict_mobilenetv3_large" not in r  # a question not run gives no ratio
