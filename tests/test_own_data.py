"""A researcher's own recordings, the README's way: a folder of recordings and a folder of Raven
selection tables of three made-up species codes, `config/own-data.yaml` with only its two
paths edited, the README's command, and the report with those three species; and the
species-from-labels checks by hand."""

import os
import subprocess

import pandas as pd
import pytest
from workflow_helpers import REPO

from anuraflow.data.species import species_in_labels
from anuraflow.simulate.writer import write_dataset

CODES = ["FROGA", "FROGB", "TOADC"]
RAVEN_HEADER = ["Selection", "View", "Channel", "Begin Time (s)", "End Time (s)",
                "Low Freq (Hz)", "High Freq (Hz)", "Species"]  # fmt: skip


def raven_table(audacity_labels, path) -> None:
    """An Audacity label track (start, end, CODE_Q) as a Raven selection table, codes only."""
    calls = pd.read_csv(audacity_labels, sep="\t", header=None, names=["start", "end", "label"])
    rows = [[i + 1, "Spectrogram 1", 1, r.start, r.end, 500.0, 6000.0, r.label.split("_")[0]]
            for i, r in enumerate(calls.itertuples())]  # fmt: skip
    pd.DataFrame(rows, columns=RAVEN_HEADER).to_csv(path, sep="\t", index=False)


def own_recordings(tmp, n_recordings=9) -> tuple:
    """tmp/recordings/*.wav and tmp/labels/*.Table.1.selections.txt, as a field season's."""
    plans = write_dataset(tmp / "made", CODES, n_recordings=n_recordings, seed=4, duration_s=20,
                          format_variety=False, min_recordings_per_species=4,
                          progress=False)  # fmt: skip
    audio, labels = tmp / "recordings", tmp / "labels"
    audio.mkdir()
    labels.mkdir()
    for p in plans:
        (tmp / "made" / p.site / p.audio_name).rename(audio / p.audio_name)
        raven_table(p.label_path(tmp / "made"), labels / f"{p.recording_id}.Table.1.selections.txt")
    return audio, labels


def test_species_in_labels_counts_recordings_and_skips_what_cannot_be_read(tmp_path):
    a, b, bad = tmp_path / "a.txt", tmp_path / "b.txt", tmp_path / "bad.txt"
    a.write_text("0\t1\tFROGA_M\n2\t3\tFROGA_H\n4\t5\tTOADC_FALSE\n")  # FALSE names nothing
    b.write_text("0\t1\tFROGB_M\n1\t2\tFROGA_L\n")
    bad.write_text("0\tone\tFROGB_M\n")
    counts, unreadable, dropped = species_in_labels({"a": a, "b": b, "bad": bad, "none": None})
    assert dropped == {}
    assert counts == {"FROGA": 2, "FROGB": 1}
    assert list(counts) == ["FROGA", "FROGB"]  # sorted
    assert len(unreadable) == 1 and unreadable[0].startswith(f"{bad}:1:")


def test_an_unknown_code_names_file_line_and_the_nearest_known_code(tmp_path):
    from anuraflow.data.annotations import normalise_annotation_file
    from anuraflow.data.label_rows import AnnotationError

    labels = tmp_path / "r.txt"
    labels.write_text("0\t1\tFROGA_M\n2\t3\tTAODC_M\n")
    with pytest.raises(AnnotationError, match=r"r.txt:2: unknown species code 'TAODC'.*"
                       r"nearest known code: TOADC"):  # fmt: skip
        normalise_annotation_file(labels, "r", tmp_path / "out.parquet", CODES)


def own_config(tmp, audio, labels):
    """config/own-data.yaml with its two paths edited, nothing else."""
    text = (REPO / "config/own-data.yaml").read_text()
    assert "audio_dir: /path/to/recordings" in text and "annotation_dir: /path/to/labels" in text
    text = text.replace("/path/to/recordings", str(audio)).replace("/path/to/labels", str(labels))
    path = tmp / "own-data.yaml"
    path.write_text(text)
    return path


def run_readme_command(config, workdir, *extra) -> subprocess.CompletedProcess:
    """The README's command for one's own data, in `workdir` (the config path: the copy)."""
    env = {**os.environ, "CORES": "2"}
    cmd = ["./run_workflow.sh", "--configfile", str(config), "--directory", str(workdir), *extra]
    return subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=1200)


@pytest.mark.workflow
@pytest.mark.skipif(not (REPO / ".venv/bin/snakemake").exists(), reason="needs the .venv")
def test_own_recordings_from_the_readme_to_the_report(tmp_path):
    audio, labels = own_recordings(tmp_path)
    config = own_config(tmp_path, audio, labels)
    work = tmp_path / "work"
    proc = run_readme_command(config, work)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-5000:]
    assert "species from the labels (9 files): FROGA" in log
    assert "training will run on this machine's CPU" in log and " of training steps alone" in log
    report = (work / "results/report/report.html").read_text()
    assert "species: from_labels" in report
    # the report's species table: exactly the three codes, with the recordings holding each
    # as the Raven tables say (counted here with pandas)
    holding = {c: 0 for c in CODES}
    for table in labels.glob("*.txt"):
        for code in set(pd.read_csv(table, sep="\t")["Species"]):
            holding[code] += 1
    windows = pd.read_parquet(work / "results/windows.parquet")
    assert [c for c in CODES if c in windows.columns] == CODES
    per_species = pd.read_csv(work / "results/report/per_species_table.tsv", sep="\t")
    assert set(per_species["species"]) == set(CODES)
    for code, n in holding.items():
        assert f"<td>{code}</td><td>{code}</td><td>" in report
        row = report.split(f"<td>{code}</td><td>{code}</td><td>")[1].split("</tr>")[0]
        assert f"<td>{n}</td>" in row  # recordings holding it
    # the provenance report sits with its results, and the command says where both are
    assert (work / "results/snakemake_report.html").is_file()
    assert f"results: {work / 'results/report/report.html'}" in proc.stdout


@pytest.mark.workflow
@pytest.mark.skipif(not (REPO / ".venv/bin/snakemake").exists(), reason="needs the .venv")
def test_species_from_labels_says_what_it_found_or_why_not(tmp_path):
    audio, labels = own_recordings(tmp_path, n_recordings=6)
    config = own_config(tmp_path, audio, labels)

    def plan(name):
        cmd = [str(REPO / ".venv/bin/snakemake"), "-n", "--configfile", str(config),
               "--directory", str(tmp_path / name)]  # fmt: skip
        proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=300)
        return proc.returncode, proc.stdout + proc.stderr

    # one code in a single recording: named at start-up, the run still plans
    first = sorted(labels.glob("*.txt"))[0]
    table = pd.read_csv(first, sep="\t")
    table.loc[0, "Species"] = "RAREX"
    table.to_csv(first, sep="\t", index=False)
    rc, log = plan("rare")
    assert rc == 0, log[-3000:]
    assert "1 species in fewer than 3 recordings (species_min_recordings)" in log
    assert "RAREX (1)" in log
    # label files that name no species at all stop the run, saying so
    for path in labels.glob("*.txt"):
        path.write_text("\t".join(RAVEN_HEADER) + "\n")
    rc, log = plan("none")
    assert rc != 0
    assert "species: from_labels, but the 6 label files of 6 recordings name no species" in log
