"""run_workflow.sh's reading of a snakemake command line: the results folder and the name of
the provenance report, by hand."""

from pathlib import Path

from workflow_helpers import REPO

from anuraflow.core.run_paths import option_values, run_paths


def test_options_and_targets():
    values, targets = option_values(
        ["predict", "--configfile", "a.yaml", "b.yaml", "--cores", "4", "-n",
         "--config", "x=1", "results_dir=out", "--directory=w"]
    )  # fmt: skip
    assert targets == ["predict"]
    assert values["--configfile"] == ["a.yaml", "b.yaml"]
    assert values["--config"] == ["x=1", "results_dir=out"]
    assert values["--directory"] == ["w"] and values["--cores"] == ["4"]


def test_results_dir_from_the_last_config_file_that_sets_it(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.yaml").write_text("results_dir: results/a\n")
    (tmp_path / "b.yaml").write_text("experiments: [demo_cnn]\n")  # sets none: a's stays
    paths = run_paths(["suggest", "--configfile", "a.yaml", "b.yaml"])
    assert paths.results_dir == tmp_path / "results/a"
    assert paths.snakemake_report == tmp_path / "results/a/snakemake_report-suggest.html"
    assert paths.page == tmp_path / "results/a/suggest"
    # --config over the files, --directory below which it all goes
    paths = run_paths(["--configfile", "a.yaml", "--config", "results_dir=elsewhere",
                       "-d", "w"])  # fmt: skip
    assert paths.results_dir == tmp_path / "w/elsewhere"
    assert paths.snakemake_report == tmp_path / "w/elsewhere/snakemake_report.html"
    assert paths.page == tmp_path / "w/elsewhere/report/report.html"


def test_a_config_file_without_results_dir_takes_the_schema_default(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mine.yaml").write_text("data: {source: synthetic}\n")
    assert run_paths(["--configfile", "mine.yaml"]).results_dir == tmp_path / "results"


def test_no_config_file_is_the_demo_config():
    paths = run_paths(["-n"], repo=REPO)
    assert paths.results_dir == Path.cwd() / "results"
    assert paths.target == "all"
