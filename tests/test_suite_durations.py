"""tools/suite_durations.py: pytest's durations section read back as written."""

import re

from workflow_helpers import REPO

from benchmarks.harness import RESULTS
from tools.suite_durations import markdown, parse_log

LOG = """\
============================= slowest 25 durations =============================
372.67s call     tests/test_experiments.py::test_every_experiment_runs
24.02s call     tests/test_docs.py::test_doc_command[snakemake --cores 16 -n-methods.md]
5.31s teardown tests/test_slurm.py::test_a_failed_job
615 passed, 6 skipped, 14 warnings in 927.44s (0:15:27)
"""


def test_the_log_is_read_back_with_ids_holding_spaces():
    parsed = parse_log(LOG)
    assert [r["seconds"] for r in parsed["durations"]] == [372.67, 24.02, 5.31]
    assert [r["phase"] for r in parsed["durations"]] == ["call", "call", "teardown"]
    assert parsed["durations"][1]["test"].endswith("[snakemake --cores 16 -n-methods.md]")
    assert parsed["pytest_seconds"] == 927.44
    assert parsed["summary"] == "615 passed, 6 skipped, 14 warnings"
    table = markdown(parsed, {"model": "X", "cores": 2, "flags": ["avx2"]}, top=2)
    assert table.splitlines()[0] == (
        "CPU: X, 2 cores (avx2); pytest: 615 passed, 6 skipped, 14 warnings in 927 s"
    )
    assert table.splitlines()[-1].startswith("| 24.0 | call | `tests/test_docs.py::")
    assert len(table.splitlines()) == 6  # the CPU line, a blank, the header, its rule, 2 rows


def test_the_development_table_equals_its_committed_json():
    """docs/development.md's durations table is the committed run's, row for row."""
    import json

    run = json.loads((RESULTS / "test_suite/amd-epyc-avx2_bb8c21f.json").read_text())
    text = (REPO / "docs/development.md").read_text()
    section = text.split("### How long the suite takes, test by test")[1].split("\n#")[0]
    row = re.compile(r"^\| (\d+\.\d) \| (setup|call|teardown) \| `(.+)` \|$")
    rows = [m.groups() for m in map(row.match, section.splitlines()) if m]
    assert len(rows) == 20
    for (seconds, phase, test), want in zip(rows, run["durations"], strict=False):
        assert float(seconds) == round(want["seconds"], 1)
        assert phase == want["phase"] and test == want["test"]
    minutes, seconds = divmod(int(run["pytest_seconds"]), 60)
    passed = run["summary"].split(" passed")[0]
    assert f"pytest\n{minutes} min {seconds} s ({passed} passed" in section
