"""The tests' warm job server (tests/warm_jobs): a job it runs sees what a fresh interpreter
would (arguments, working directory, environment, `__main__`, exit status, a death by
signal), dies with its client, and Snakemake answers through it as it does alone."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

SERVER = Path(__file__).resolve().parent / "warm_jobs" / "server.py"
PROBE = """
import json, os, sys
print(json.dumps({"argv": sys.argv, "cwd": os.getcwd(), "x": os.environ.get("PROBE_X"),
                  "name": __name__, "path0": sys.path[0], "pid": os.getpid(),
                  "threads": os.environ.get("OMP_NUM_THREADS"),
                  "streams": [(s.line_buffering, s.write_through, s.encoding, s.errors)
                              for s in (sys.stdout, sys.stderr)]}))
sys.exit(3)
"""


@pytest.fixture(scope="module")
def warm(tmp_path_factory):
    """The session's server (tests/conftest.py), or one of this module's own."""
    address = os.environ.get("ANURAFLOW_WARM_JOBS")
    if address and address != "0" and Path(address).exists():
        yield address
        return
    address = str(tmp_path_factory.mktemp("warm") / "jobs.sock")
    server = subprocess.Popen([sys.executable, str(SERVER), address], stdout=subprocess.PIPE)
    assert json.loads(server.stdout.readline())["ready"]
    yield address
    server.kill()


def script(tmp_path: Path, name: str, text: str) -> Path:
    """A file where Snakemake writes its script jobs, the place the client looks for."""
    path = tmp_path / ".snakemake" / "scripts" / f"tmp{name}.probe.py"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def environment(address: str | None) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "ANURAFLOW_WARM_JOBS"}
    env["PYTHONPATH"] = os.pathsep.join([str(SERVER.parent), env.get("PYTHONPATH", "")])
    if address:
        env["ANURAFLOW_WARM_JOBS"] = address
    return {**env, "PROBE_X": "é x", "OMP_NUM_THREADS": "1"}


def test_a_warm_job_sees_what_a_fresh_interpreter_would(warm, tmp_path):
    path = script(tmp_path, "a1", PROBE)
    for unbuffered in ("", "1"):
        runs = {}
        for how, address in (("fresh", None), ("warm", warm)):
            proc = subprocess.Popen(
                [sys.executable, str(path), "arg 1", "--two"], cwd=tmp_path,
                env={**environment(address), "PYTHONUNBUFFERED": unbuffered},
                stdout=subprocess.PIPE, text=True,
            )  # fmt: skip
            out, _ = proc.communicate(timeout=60)
            assert proc.returncode == 3, how
            runs[how] = json.loads(out)
            runs[how]["forked"] = runs[how].pop("pid") != proc.pid
        assert runs["warm"].pop("forked") and not runs["fresh"].pop("forked")  # served, or not
        assert runs["warm"] == runs["fresh"]
        assert runs["warm"]["argv"] == [str(path), "arg 1", "--two"]
        assert runs["warm"]["name"] == "__main__" and runs["warm"]["x"] == "é x"
        assert runs["warm"]["streams"][0][1] == bool(unbuffered)


def test_a_job_dies_with_its_client_and_a_signal_reaches_the_client(warm, tmp_path):
    pid_file = tmp_path / "job.pid"
    sleeper = script(tmp_path, "b2", f"import os, time\nopen({str(pid_file)!r}, 'w').write("
                     "str(os.getpid()))\ntime.sleep(120)\n")  # fmt: skip
    client = subprocess.Popen([sys.executable, str(sleeper)], env=environment(warm))
    deadline = time.time() + 60
    while not (pid_file.exists() and pid_file.read_text()) and time.time() < deadline:
        time.sleep(0.05)
    job = int(pid_file.read_text())
    assert job != client.pid
    client.kill()
    client.wait()
    deadline = time.time() + 10
    while Path(f"/proc/{job}").exists() and time.time() < deadline:
        time.sleep(0.05)
    assert not Path(f"/proc/{job}").exists()  # killed and reaped
    for sig in (signal.SIGTERM, signal.SIGKILL):
        killer = script(tmp_path, f"c{sig}", f"import os\nos.kill(os.getpid(), {int(sig)})\n")
        proc = subprocess.run([sys.executable, str(killer)], env=environment(warm), timeout=60)
        assert proc.returncode == -sig


def test_snakemake_runs_through_the_server_as_alone(warm, tmp_path):
    (tmp_path / "Snakefile").write_text(
        'import os\nprint("pid", os.getpid(), flush=True)\n'
        'rule all:\n    output: "made.txt"\n    run:\n        open(output[0], "w").write("x")\n'
    )
    for address in (None, warm):
        (tmp_path / "made.txt").unlink(missing_ok=True)
        proc = subprocess.Popen(
            [sys.executable, "-m", "snakemake", "--cores", "1", "--quiet"], cwd=tmp_path,
            env=environment(address), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        pid = int(out.split("pid ")[1].split()[0])
        assert (pid != proc.pid) == (address is not None)  # served, or not
        assert (tmp_path / "made.txt").read_text() == "x"


def test_the_server_preloads_every_module_the_jobs_import(warm):
    """A module the scripts import that fails to preload (renamed, or an import error) would
    leave every job paying its import, silently doubling the suite's time: here it fails."""
    ready = Path(f"{warm}.ready.json")
    deadline = time.time() + 300  # the session's server may still be importing
    while not ready.exists() and time.time() < deadline:
        time.sleep(1)
    said = json.loads(ready.read_text())
    assert said["ready"] and said["not_preloaded"] == {}, said["not_preloaded"]
    sys.path.insert(0, str(SERVER.parent))
    from server import job_modules

    assert "anuraflow.ecology.run" in job_modules()  # read from the scripts, new ones too
