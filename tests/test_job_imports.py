"""What a job's module pulls in at import, in a fresh interpreter: each import is start-up time
every job of the rule pays (torch about 1.7 s of CPU, scikit-learn with SciPy about 1.4 s)."""

import subprocess
import sys

import pytest
from workflow_helpers import REPO

# module -> packages it must not import: the report job, the interval jobs (Snakemake's own
# process) and predict's summary and review page need no torch; the training and scoring jobs
# no scikit-learn or SciPy at import
CASES = {
    "anuraflow.report.page": ("torch",),
    "anuraflow.report.review": ("torch",),
    "anuraflow.detect.summary": ("torch",),
    "anuraflow.evaluate.analysis": ("torch",),
    "anuraflow.learn.run": ("sklearn", "scipy"),
    "anuraflow.detect.shard": ("sklearn", "scipy"),
    # the occupancy jobs import JAX only to fit: none may start its threads in the warm job
    # server before it forks (tests/warm_jobs)
    "anuraflow.ecology.run": ("torch", "jax"),
}


@pytest.mark.parametrize("module", CASES)
def test_a_jobs_module_does_not_import_what_it_does_not_use(module):
    code = f"import sys, {module}; print(' '.join(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO
    ).stdout.split()
    assert not [p for p in CASES[module] if p in out], module
    assert module in out  # the import itself happened


def test_a_training_jobs_evaluation_runs_without_scikit_learn():
    """The end of every training job (its metrics, silhouette included, and its embedding
    sample), run in a fresh interpreter: scikit-learn and SciPy are never imported."""
    code = """
import sys
import numpy as np, pandas as pd
from anuraflow.evaluate.scoring import embedding_sample, evaluate
rng = np.random.default_rng(0)
true = rng.integers(0, 2, (40, 3))
prob, emb = rng.random((40, 3)), rng.normal(size=(40, 8))
settings = {"task": "multilabel", "threshold": 0.5}
out = evaluate(true, prob, emb, ["A", "B", "C"], {"A": "rare", "B": "rare", "C": "rare"}, settings)
embedding_sample(pd.DataFrame({"window_id": range(40)}), true, emb, ["A", "B", "C"])
assert out["silhouette"] == out["silhouette"]  # a number, not NaN
print(" ".join(sorted(sys.modules)))
"""
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO
    ).stdout.split()
    assert "anuraflow.evaluate.scoring" in out
    assert not [p for p in ("sklearn", "scipy") if p in out]


def test_every_module_a_script_imports_imports_in_a_fresh_interpreter():
    """All of them (tests/warm_jobs/server.py's job_modules, read from workflow/scripts), in
    one fresh interpreter: the suite's jobs fork from a server that has them imported, so a
    module that fails alone would pass there."""
    sys.path.insert(0, str(REPO / "tests" / "warm_jobs"))
    from server import job_modules

    modules = job_modules()
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    try:\n"
        "        importlib.import_module(name)\n"
        "    except Exception as err:\n"
        "        print(name, repr(err))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO
    )
    assert out.stdout == "", out.stdout
    assert len(modules) > 20
