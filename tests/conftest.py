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
