"""The workflow on a real SLURM cluster (one node, this machine) through profiles/slurm.

Needs root (it installs Debian's slurmctld, slurmd, slurm-client and munge when missing) and
is skipped otherwise; select it with `pytest -m slurm`. CI (`.ci/run`) runs it as root.
"""

import math
import re
import subprocess
from pathlib import Path

import pytest
import yaml
from slurm_cluster import SlurmCluster, install_slurm
from workflow_helpers import SNAKEMAKE, tiny_directory_config

from anuraflow.simulate.writer import write_dataset

REPO = Path(__file__).resolve().parent.parent
CODES = ["SPHSUR", "BOABIS", "BOAFAB", "LEPPOD"]
# 6 recordings in groups of 3: two group jobs at once on the node's two CPUs, each running its 9
# jobs one after another (an srun and a Snakemake start-up each)
N_RECORDINGS, PER_GROUP = 6, 3
# your own recordings (tracked file by file), as on a real cluster; written by the fixture
CONFIG = tiny_directory_config(CODES)
EXPERIMENT = {"name": "tiny", "model": "small_cnn", "seeds": [0], "epochs": 1, "batch_size": 16}
SUBMITTED = re.compile(r"submitted with SLURM jobid (\d+) \(log: (\S+)\)")
ALL_RULES = {
    "per_recording",  # the group of ingest_recording, parse_annotations, compute_features
    "feature_index",
    "recordings_manifest",
    "merge_annotations",
    "segment_windows",
    "split_recordings",
    "train_model",
    "run_intervals",
    "build_report",
}

pytestmark = [pytest.mark.slurm, pytest.mark.workflow]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    why_not = install_slurm()
    if why_not:
        pytest.skip(why_not)
    cluster = SlurmCluster(tmp_path_factory.mktemp("slurm"), cpus=2)
    cluster.start()
    yield cluster
    cluster.stop()


def cluster_profile(profile_dir: Path) -> Path:
    """profiles/slurm with its EDIT keys set for the test cluster, as a user would."""
    profile = yaml.safe_load((REPO / "profiles" / "slurm" / "config.yaml").read_text())
    profile["default-resources"].update(slurm_partition="debug")
    del profile["default-resources"]["slurm_account"]
    profile["slurm-no-account"] = True  # no slurmdbd, so no accounts
    for rule in ("train_model", "train_model_cv", "pretrain_encoder"):  # no GPU here
        profile["set-resources"][rule] = {"mem_mb": 4000, "runtime": 30}
        profile["set-threads"][rule] = 1
    # a group job runs its recordings one after another (an srun and a Snakemake start-up
    # each): with one CPU per group job, the node's two CPUs run two of them at once
    profile["cores"] = 1
    profile["group-components"] = [f"per_recording={PER_GROUP}"]
    profile["retries"] = 0
    profile["slurm-init-seconds-before-status-checks"] = 1
    profile["seconds-between-status-checks"] = 1
    profile_dir.mkdir(parents=True, exist_ok=True)
    (profile_dir / "config.yaml").write_text(yaml.safe_dump(profile))
    return profile_dir


def run(cluster: SlurmCluster, workdir: Path) -> tuple[subprocess.CompletedProcess, dict]:
    """Snakemake through the profile; returns the process and {SLURM job id: log path}."""
    cmd = SNAKEMAKE + [
        "--directory", str(workdir), "--configfile", str(workdir / "config.yaml"),
        "--profile", str(workdir / "profile"),
    ]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, env=cluster.env, timeout=900)
    jobs = dict(SUBMITTED.findall(proc.stdout + proc.stderr))
    return proc, jobs


def rule_of(comment: str) -> str:
    """The plugin's SLURM comment is rule_<rule>[_wildcards_...] or rule_<group>_<rules...>."""
    name = comment.removeprefix("rule_")
    return next((r for r in ALL_RULES if name == r or name.startswith(r + "_")), name)


@pytest.fixture(scope="module")
def first_run(cluster, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("slurm_workflow")
    (workdir / "config.yaml").write_text(yaml.safe_dump(CONFIG))
    (workdir / "experiments").mkdir()
    (workdir / "experiments" / "tiny.yaml").write_text(yaml.safe_dump(EXPERIMENT))
    cluster_profile(workdir / "profile")
    write_dataset(
        workdir / "data" / "raw", CODES, N_RECORDINGS, seed=3, duration_s=12, progress=False
    )
    proc, jobs = run(cluster, workdir)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    return workdir, jobs


def test_every_rule_runs_as_a_slurm_job(cluster, first_run, record_property):
    workdir, jobs = first_run
    assert (workdir / "results" / "report" / "report.html").exists()
    known = {j["id"]: j for j in cluster.jobs()}
    rules = []
    for job_id, log in jobs.items():
        assert known[job_id]["state"] == "COMPLETED", known[job_id]
        assert Path(log).exists() and Path(log).is_relative_to(workdir / "results/logs/slurm")
        rules.append(rule_of(known[job_id]["comment"]))
    assert set(rules) == ALL_RULES
    # 6 recordings x 3 per-recording rules = 18 jobs, batched into ceil(6 / 3) submissions
    assert rules.count("per_recording") == math.ceil(N_RECORDINGS / PER_GROUP)
    lines = []
    for job_id in sorted(jobs, key=int):
        job = known[job_id]
        lines.append(f"job {job_id}: {job['state']} {job['comment']} (log: {jobs[job_id]})")
    record_property("slurm_jobs", lines)


def test_a_failed_job_names_its_slurm_log_and_a_rerun_completes_only_what_is_missing(
    cluster, first_run, record_property
):
    workdir, first_jobs = first_run
    raw = sorted((workdir / "data" / "raw").rglob("*.wav"))
    broken, original = raw[0], raw[0].read_bytes()
    features = sorted((workdir / "results" / "features").glob("*.parquet"))
    before = {p.name: p.stat().st_mtime_ns for p in features}
    broken.write_bytes(b"")  # the recorder's card was pulled mid-write

    proc, jobs = run(cluster, workdir)
    text = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert f"recording={broken.stem}" in text or broken.stem in text
    # the ingest job records the problem; recordings_manifest applies on_bad_recording: fail
    [(job_id, log)] = [(j, p) for j, p in jobs.items() if "recordings_manifest" in p]
    assert "Error in rule recordings_manifest" in text and log in text  # Snakemake names it
    rule_log = workdir / "results" / "logs" / "recordings_manifest.log"
    for where in (Path(log), rule_log):
        assert f"{broken.relative_to(workdir)}: empty file (0 bytes)" in where.read_text()
    assert {j["state"] for j in cluster.jobs() if j["id"] == job_id} == {"FAILED"}

    broken.write_bytes(original)  # the fix
    proc, jobs = run(cluster, workdir)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    assert not set(jobs) & set(first_jobs)
    known = {j["id"]: j for j in cluster.jobs()}
    reran = sorted(rule_of(known[j]["comment"]) for j in jobs)
    assert reran.count("per_recording") == 1 and "synthesize_dataset" not in reran
    after = {p.name: p.stat().st_mtime_ns for p in features}
    changed = {name for name in before if before[name] != after[name]}
    assert changed == {f"{broken.stem}.parquet"}  # no other recording's features recomputed
    record_property("slurm_jobs", [
        f"after breaking {broken.name}: job {job_id} FAILED (log: {log})",
        f"after the fix, reran as jobs {', '.join(sorted(jobs, key=int))}: {reran}",
    ])  # fmt: skip
