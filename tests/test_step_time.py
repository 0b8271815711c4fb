"""The CPU training projection of the start-up warning: the arithmetic by hand, a real step
measured, the cache read back, and the warning's words."""

import json

import pytest
import torch

from anuraflow.learn.experiments import cpu_training_note
from anuraflow.learn.step_time import StepShape, measure_step, projected_hours, step_seconds


def test_projected_hours_by_hand():
    # 10 epochs of ceil(1000 / 64) = 16 steps of 0.5 s: 80 s
    assert projected_hours(0.5, 10, 1000, 64) == pytest.approx(80 / 3600)
    assert projected_hours(2.0, 1, 64, 64) == pytest.approx(2 / 3600)  # exactly one batch
    assert projected_hours(1.0, 3, 0, 64) == 0.0  # no training windows


def test_a_real_step_is_measured_and_scaled_to_the_batch():
    shape = StepShape("linear_probe", batch_size=64, n_classes=3, input_shape=(1024,))
    seconds = measure_step(shape, repeats=1)
    assert 0 < seconds < 5


def test_the_cache_is_read_back_and_keyed_without_the_classes(tmp_path):
    cache = tmp_path / "steps.json"
    shape = StepShape("linear_probe", 64, 3, (1024,))
    first = step_seconds(shape, cache)
    key = shape.key(torch.get_num_threads())
    assert json.loads(cache.read_text()) == {key: first}
    cache.write_text(json.dumps({key: 12.5}))  # what this machine measured before
    assert step_seconds(StepShape("linear_probe", 64, 42, (1024,)), cache) == 12.5
    assert "|c" not in key and "linear_probe|b64|1024|" in key


def test_the_warning_says_the_work_and_the_hours():
    note = cpu_training_note(3, 150, 86, 0.004, {"linear_probe": 0.0085}, 0)
    assert note.startswith("training will run on this machine's CPU: 3 run(s), 150 epochs")
    assert "about 1 min of training steps alone" in note and "linear_probe 0.0085 s" in note
    note = cpu_training_note(96, 7770, 49867, 4302.9, {"resnet18": 9.8}, 1)
    assert "(train_gpus is 1, but no GPU is visible here)" in note
    assert "about 4,302.9 h of training steps alone" in note


def test_scoring_is_projected_from_a_measured_forward_pass(tmp_path):
    """predict's note: seconds per window of the forward pass (cached under its own key),
    over the archive's windows: 0.01 s a window, 7,200 s of audio at a 1 s hop = 72 s =
    0.02 h; at a 0.5 s hop twice that."""
    from anuraflow.learn.step_time import forward_seconds, scoring_hours

    assert scoring_hours(0.01, 7200, 1.0) == pytest.approx(0.02)
    assert scoring_hours(0.01, 7200, 0.5) == pytest.approx(0.04)
    shape = StepShape("small_cnn", 64, 4, (1, 32, 94))
    cache = tmp_path / "c.json"
    first = forward_seconds(shape, cache)
    assert 0 < first < step_seconds(shape, cache) / 64  # no backward pass, per window
    keys = json.loads(cache.read_text())
    assert f"forward|{shape.key(torch.get_num_threads())}" in keys
    keys[f"forward|{shape.key(torch.get_num_threads())}"] = 0.5
    cache.write_text(json.dumps(keys))
    assert forward_seconds(shape, cache) == 0.5  # read back, not measured again
