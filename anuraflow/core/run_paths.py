"""Where a `snakemake` command line puts its results, for `run_workflow.sh`: the results
folder its config names (the last `--configfile` that sets it, `--config results_dir=...`
over all, `config/config.yaml` when no file is given), below `--directory`; and the name of
its provenance report, one per target, so `predict` or `suggest` never overwrites the
training run's.

    python -m anuraflow.core.run_paths ARGS...   prints  results_dir, snakemake report, page
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
# snakemake options that take values (the ones run_workflow.sh users pass); every other
# option is a flag, and every other word is a target
VALUED = {"--configfile", "--configfiles", "--config", "-C", "--directory", "-d", "--cores",
          "-c", "--profile", "--jobs", "-j", "--resources", "--set-threads",
          "--set-resources", "--until", "--omit-from", "--forcerun", "-R",
          "--report"}  # fmt: skip
MULTI = {"--configfile", "--configfiles", "--config", "-C", "--forcerun", "-R", "--until",
         "--omit-from", "--resources", "--set-threads", "--set-resources"}  # fmt: skip
PAGES = {"all": "report/report.html", "predict": "predict/", "validate": "predict/",
         "suggest": "suggest/", "search": "search/"}  # fmt: skip


@dataclass(frozen=True)
class RunPaths:
    results_dir: Path  # absolute: below --directory, from where the command runs
    target: str  # the first target, or "all"

    @property
    def snakemake_report(self) -> Path:
        """`snakemake_report.html` for the default target, `snakemake_report-{target}.html`
        for another, beside the results."""
        name = "snakemake_report" + ("" if self.target == "all" else f"-{self.target}")
        return self.results_dir / f"{name}.html"

    @property
    def page(self) -> Path:
        """What the run made for a person to open: the report, or the target's folder."""
        return self.results_dir / PAGES.get(self.target, "")


def option_values(args: list[str]) -> tuple[dict[str, list[str]], list[str]]:
    """(option -> its values, the targets) of a snakemake command line."""
    values: dict[str, list[str]] = {}
    targets, current = [], None
    for word in args:
        name, eq, inline = word.partition("=") if word.startswith("--") else (word, "", "")
        if word.startswith("-") and not word.lstrip("-").replace(".", "").isdigit():
            current = name if name in VALUED else None
            if current and eq:
                values.setdefault(current, []).append(inline)
                current = None if current not in MULTI else current
            continue
        if current is not None:
            values.setdefault(current, []).append(word)
            if current not in MULTI:
                current = None
            continue
        targets.append(word)
    return values, targets


def run_paths(args: list[str], repo: Path = REPO) -> RunPaths:
    values, targets = option_values(args)
    files = values.get("--configfile", []) + values.get("--configfiles", [])
    results = "results"
    for path in files or [str(repo / "config" / "config.yaml")]:
        doc = yaml.safe_load(Path(path).read_text()) or {}
        results = doc.get("results_dir", results)
    for item in values.get("--config", []) + values.get("-C", []):
        key, _, value = item.partition("=")
        if key.strip() == "results_dir":
            results = yaml.safe_load(value)
    workdir = (values.get("--directory") or values.get("-d") or ["."])[-1]
    return RunPaths(Path(workdir).resolve() / results, targets[0] if targets else "all")


if __name__ == "__main__":
    paths = run_paths(sys.argv[1:])
    print(paths.results_dir, paths.snakemake_report, paths.page, sep="\n")
