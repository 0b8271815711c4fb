import numpy as np
import pytest

from anuraflow.data.audacity import parse_audacity_labels
from anuraflow.data.recordings import NAME_PATTERN
from anuraflow.simulate.calls import call_waveform
from anuraflow.simulate.plan import SHAPES, plan_dataset, species_tiers, species_voices
from anuraflow.simulate.writer import synthesize_recording, write_dataset

CODES = ["SPHSUR", "BOABIS", "BOAFAB", "LEPPOD", "PITAZU", "DENMIN", "PHYCUV", "LEPLAT"]


def test_plan_names_and_long_tail():
    plans = plan_dataset(CODES, 40, seed=3)
    assert len({p.recording_id for p in plans}) == 40
    assert all(NAME_PATTERN.match(p.recording_id) for p in plans)
    per_species = {c: sum(c in p.species for p in plans) for c in CODES}
    tiers = species_tiers(CODES)
    assert per_species["SPHSUR"] == 22 and tiers["SPHSUR"] == "frequent"  # 0.55 * 40
    assert min(per_species.values()) >= 3
    assert sum(1 for p in plans if p.channels == 2) == 5  # every 7th recording


def test_voices_are_distinct():
    voices = species_voices(CODES, seed=3)
    assert {v.shape for v in voices} == set(SHAPES)
    assert len({(v.shape, round(v.carrier_hz)) for v in voices}) == len(CODES)


def test_generation_is_deterministic_and_labelled(tmp_path):
    a = write_dataset(tmp_path / "a", CODES, 4, seed=5, duration_s=10, progress=False)
    write_dataset(tmp_path / "b", CODES, 4, seed=5, duration_s=10, progress=False)
    for p in a:
        for name in (p.audio_name, p.label_name):
            assert (tmp_path / "a" / p.site / name).read_bytes() == (
                tmp_path / "b" / p.site / name
            ).read_bytes()
        labels = parse_audacity_labels(tmp_path / "a" / p.site / p.label_name, p.recording_id)
        assert set(labels["species"]) <= set(p.species)
        assert (labels["end_s"] <= 10).all() and labels["quality"].isin(["L", "M", "H"]).all()


def test_calls_raise_energy_above_noise():
    plan = plan_dataset(CODES, 10, seed=1)[0]
    voices = {v.code: v for v in species_voices(CODES, 1)}
    audio, labels = synthesize_recording(plan, voices, 30.0, seed=1, snr_db=(20, 20))
    assert audio.dtype == np.float32 and len(audio) == 30 * plan.sample_rate
    if labels:
        s, e, _ = labels[0]
        call = audio[int(s * plan.sample_rate) : int(e * plan.sample_rate)]
        assert np.sqrt(np.mean(call**2)) > 5 * 0.02


def test_label_covers_the_audible_extent_of_a_call():
    """Hann envelope 0.5 - 0.5 cos(2 pi k / (n - 1)) reaches 0.1 (-20 dB) of its peak at
    k = (n - 1) arccos(0.8) / (2 pi), so about 10 % of each end is left unlabelled."""
    voice = species_voices(CODES, seed=3)[0]
    call, on, off = call_waveform(voice, 22050, np.random.default_rng(0))
    n = len(call)
    expected_on = int(np.ceil((n - 1) * np.arccos(0.8) / (2 * np.pi)))
    assert on == expected_on
    assert off == n - expected_on  # symmetric envelope
    assert np.sqrt(np.mean(call**2)) == pytest.approx(1.0, rel=1e-4)


def test_worker_processes_write_the_same_bytes(tmp_path):
    one = write_dataset(tmp_path / "one", CODES, 5, seed=6, duration_s=8, progress=False)
    write_dataset(tmp_path / "two", CODES, 5, seed=6, duration_s=8, progress=False, threads=2)
    for p in one:
        for name in (p.audio_name, p.label_name):
            assert (tmp_path / "one" / p.site / name).read_bytes() == (
                tmp_path / "two" / p.site / name
            ).read_bytes()


@pytest.mark.parametrize("profile", ["uniform", "anuraset"])
def test_unlabelled_recordings_are_the_same_in_the_dag_and_the_writer(profile, tmp_path):
    """`synthetic.unlabelled`: the last recordings of the plan have their label file under
    truth/, and the cheap plan the DAG reads names the same ones as the writer's full plan."""
    from anuraflow.simulate.plan import SyntheticSpec
    from anuraflow.simulate.profiles import plan_recordings

    codes = ["SPHSUR", "BOABIS", "BOAFAB", "LEPPOD"]
    spec = SyntheticSpec(n_recordings=12, seed=3, unlabelled=4, profile=profile)
    cheap = [p for p in spec.recordings(codes) if not p.labelled]
    full = [p for p in plan_recordings(spec, codes) if not p.labelled]
    assert [p.recording_id for p in cheap] == [p.recording_id for p in full]
    assert len(full) == 4
    assert full[0].label_path(tmp_path) == tmp_path / "truth" / full[0].site / full[0].label_name
    with pytest.raises(ValueError, match="some must keep their labels"):
        SyntheticSpec(n_recordings=4, seed=3, unlabelled=4).recordings(codes)
