import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
REAL_DATA = REPO.parent / "shared" / "data" / "real"


@pytest.fixture
def real_data() -> Path:
    if not REAL_DATA.is_dir():
        pytest.skip(f"real test data not found at {REAL_DATA}")
    return REAL_DATA


@pytest.fixture(scope="session")
def chromium() -> str:
    """A headless Chromium for the review pages' tests (installed with apt when missing)."""
    from browser import install_browser

    browser = install_browser()
    if browser is None:
        pytest.skip("no Chromium and it could not be installed")
    return browser


WARM_JOBS = Path(__file__).resolve().parent / "warm_jobs"


def pytest_configure(config):
    """Start this pytest process's warm job server (tests/warm_jobs/server.py): the Snakemake
    processes the tests start, and their `script:` jobs, then fork from an interpreter that
    has Snakemake, torch and pandas imported instead of importing them each. What starts
    before it is ready, and everything with ANURAFLOW_WARM_JOBS=0, starts a fresh interpreter.
    Not in pytest-xdist's controller, which runs no test."""
    if os.environ.get("ANURAFLOW_WARM_JOBS") == "0" or (
        config.pluginmanager.hasplugin("xdist") and config.getoption("numprocesses", None)
        and not hasattr(config, "workerinput")
    ):  # fmt: skip
        return
    address = Path(tempfile.mkdtemp(prefix="anuraflow-warm-")) / "jobs.sock"
    path = os.pathsep.join(p for p in (str(WARM_JOBS), os.environ.get("PYTHONPATH")) if p)
    os.environ["PYTHONPATH"] = path
    config.warm_jobs = subprocess.Popen(
        [sys.executable, str(WARM_JOBS / "server.py"), str(address)],
        stdout=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    os.environ["ANURAFLOW_WARM_JOBS"] = str(address)


def pytest_unconfigure(config):
    server = getattr(config, "warm_jobs", None)
    if server is not None:
        try:
            os.killpg(server.pid, signal.SIGKILL)  # the server and its monitors
        except ProcessLookupError:
            pass
        server.wait()
        shutil.rmtree(Path(os.environ["ANURAFLOW_WARM_JOBS"]).parent, ignore_errors=True)


SLURM_JOBS: list[str] = []  # lines the SLURM tests attach to their reports


def pytest_runtest_logreport(report):
    """Collect the SLURM job lines a test recorded (`record_property("slurm_jobs", ...)`);
    reports come back from pytest-xdist's workers, so this works with -n too."""
    if report.when == "call":
        for key, lines in report.user_properties:
            if key == "slurm_jobs":
                SLURM_JOBS.extend(lines)


def pytest_terminal_summary(terminalreporter):
    """Show the SLURM jobs the SLURM test ran (CI's log shows them without -s)."""
    if SLURM_JOBS:
        terminalreporter.section("SLURM jobs of tests/test_slurm.py")
        for line in SLURM_JOBS:
            terminalreporter.write_line(line)


# the longest files first: with pytest-xdist (--dist loadfile) a long file that starts last
# would leave the other worker idle at the end
LONGEST_FIRST = (
    "test_slurm.py",
    "test_experiments.py",
    "test_predict_workflow.py",
    "test_reliability.py",
    "test_embeddings_workflow.py",
    "test_acceleration.py",
    "test_archive_workflow.py",
    "test_gpu_check.py",
    "test_release.py",
    "test_workflow.py",
)


def pytest_collection_modifyitems(items):
    def rank(item):
        name = item.path.name
        return LONGEST_FIRST.index(name) if name in LONGEST_FIRST else len(LONGEST_FIRST)

    items.sort(key=rank)  # stable: each file keeps its own order
