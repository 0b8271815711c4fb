"""The arithmetic of benchmarks/peers/compare.py: which rounds count, the medians and the
ratios its table publishes, checked on hand-worked rows (the peers themselves are not run)."""

import pytest

from benchmarks.peers import compare as compare_module


@pytest.fixture(scope="module")
def compare():
    return compare_module


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


def test_without_bf16_instructions_no_emulated_variant_runs_and_training_is_fp32(compare, tmp_path):
    """On a CPU without bf16 (an AVX2 EPYC), the bf16 training variants of both sides, which
    it would emulate for many minutes, are not run but named with the reason, and both sides
    train in fp32; the ratio is taken against OpenSoundscape in fp32. The archive question
    is planned only when its folder was made."""
    import argparse

    args = argparse.Namespace(threads=2, oss_batches=[1, 16], archive_oss_batches=[16],
                              train_steps=4)  # fmt: skip
    f = tmp_path / "f.wav"
    plain = compare.variants(args, f, f, tmp_path / "no_archive", bf16=False)
    for net in compare.NETS:
        train = plain[f"train_{net}"]
        assert sorted(train) == ["opensoundscape_fp32", "ours_fp32"]  # auto is fp32 there
        assert train["opensoundscape_fp32"][2][-2:] == ["--precision", "fp32"]
        assert set(compare.skipped_variants(False)[f"train_{net}"]) == {
            "ours_bf16",
            "opensoundscape_default",
        }
    assert "predict_archive_resnet18" not in plain
    with_bf16 = compare.variants(args, f, f, tmp_path, bf16=True)
    assert sorted(with_bf16["train_resnet18"]) == [
        "opensoundscape_default", "ours_auto", "ours_bf16", "ours_fp32"]  # fmt: skip
    assert sorted(with_bf16["predict_archive_resnet18"]) == [
        "opensoundscape_batch16_workers0", "opensoundscape_batch16_workers2", "ours"]  # fmt: skip
    assert sorted(with_bf16["embeddings_archive"]) == [
        "birdnet_analyzer_folder", "ours", "ours_torch"]  # fmt: skip
    # the torch network's rows: bf16 only where the CPU has bf16 instructions
    assert sorted(k for k in with_bf16["embeddings"] if "torch" in k) == [
        "ours_torch_bf16_1x2thread", "ours_torch_bf16_2x1thread",
        "ours_torch_fp32_1x2thread", "ours_torch_fp32_2x1thread"]  # fmt: skip
    assert sorted(k for k in plain["embeddings"] if "torch" in k) == [
        "ours_torch_fp32_1x2thread", "ours_torch_fp32_2x1thread"]  # fmt: skip
    assert set(compare.skipped_variants(False)["embeddings"]) == {
        "ours_torch_bf16_1x2thread", "ours_torch_bf16_2x1thread"}  # fmt: skip
    assert with_bf16["embeddings"]["ours_torch_bf16_2x1thread"][2][-4:] == [
        "--runtime", "torch", "--precision", "bf16"]  # fmt: skip
    assert with_bf16["embeddings_archive"]["birdnet_analyzer_folder"][2][-4:] == [
        "--threads", "1", "--workers", "2"]  # fmt: skip
    assert compare.skipped_variants(True) == {}
    archive = {"embeddings_archive": {"ours": {"median": 90.0},
                                      "birdnet_analyzer_folder": {"median": 36.0}}}  # fmt: skip
    assert compare.ratios(archive)["embeddings_archive"]["vs_birdnet_analyzer_folder"] == 2.5
    emb = {"embeddings": {"ours_2x1thread": {"median": 40.0}, "birdnet_analyzer_loop":
                          {"median": 10.0}, "litert_xnnpack_logits_1x2thread": {"median": 41.0},
                          "ours_torch_fp32_2x1thread": {"median": 61.5},
                          "ours_torch_fp32_1x2thread": {"median": 50.0}}}  # fmt: skip
    r = compare.ratios(emb)["embeddings"]
    assert r["torch_fp32_vs_fastest_litert_loop"] == 1.5  # 61.5 / 41
    assert r["torch_fp32_best_variant"] == "ours_torch_fp32_2x1thread"
    assert "torch_bf16_vs_fastest_litert_loop" not in r
    summary = {"train_resnet18": {"ours_fp32": {"median": 30.0, "precision": "fp32"},
                                  "opensoundscape_fp32": {"median": 20.0}}}  # fmt: skip
    r = compare.ratios(summary)["train_resnet18"]
    assert r["fp32_vs_opensoundscape_fp32"] == 1.5 and r["fp32_resolves_to"] == "fp32"


def test_audio_seconds_count_where_a_row_has_them(compare):
    """The archive's sides count windows differently (OpenSoundscape pads a file's last
    clip): its rate is the audio scored per second, 3,600 s in 40 s = 90."""
    s = compare.summarise(rows([40.0], [0.0], windows=5400, audio_s=3600.0), 1.0)
    assert s["median"] == 90.0


def test_without_bf16_instructions_the_run_is_smaller_unless_asked(compare):
    """The whole run stays under 30 minutes on 2 cores of an AVX2 CPU: 2 rounds of 5 minutes
    there, 3 of 10 with bf16 instructions; what the command gives is kept on either."""
    assert compare.run_size(None, None, bf16=True) == (3, 10.0)
    assert compare.run_size(None, None, bf16=False) == (2, 5.0)
    assert compare.run_size(3, 10, bf16=False) == (3, 10)
    assert compare.run_size(1, None, bf16=True) == (1, 10.0)
