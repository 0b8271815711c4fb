from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
REAL_DATA = REPO.parent / "shared" / "data" / "real"


@pytest.fixture
def real_data() -> Path:
    if not REAL_DATA.is_dir():
        pytest.skip(f"real test data not found at {REAL_DATA}")
    return REAL_DATA


def pytest_terminal_summary(terminalreporter):
    """Show the SLURM jobs the SLURM test ran (CI's log shows them without -s)."""
    from slurm_cluster import JOB_REPORT

    if JOB_REPORT:
        terminalreporter.section("SLURM jobs of tests/test_slurm.py")
        for line in JOB_REPORT:
            terminalreporter.write_line(line)
