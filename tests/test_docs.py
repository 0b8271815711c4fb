"""The README and docs/ as a newcomer meets them: every relative link resolves, and every
command in the README runs as written (a dry run where it would train), after the one edit the
README asks for (a data folder in the config)."""

import os
import re
import shlex
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import yaml

from anuraflow.data.release import release_from_recordings
from anuraflow.simulate.writer import write_dataset

REPO = Path(__file__).resolve().parent.parent
PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)|!\[[^\]]*\]\(([^)\s]+)\)")


def slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    text = re.sub(r"```.*?```", "", page.read_text(), flags=re.S)
    return {slug(m) for m in re.findall(r"^#+ (.+)$", text, flags=re.M)}


def relative_links(page: Path) -> list[str]:
    text = re.sub(r"```.*?```", "", page.read_text(), flags=re.S)
    links = [a or b for a, b in LINK.findall(text)]
    return [link for link in links if not re.match(r"[a-z]+:", link)]


def test_slug_follows_githubs_rule():
    assert slug("Deviations from the seeds and their authors' code") == (
        "deviations-from-the-seeds-and-their-authors-code"
    )
    assert slug("Not measured yet (needs a GPU)") == "not-measured-yet-needs-a-gpu"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_relative_link_resolves(page):
    links = relative_links(page)
    assert links or page.name != "README.md"
    for link in links:
        path, _, anchor = link.partition("#")
        target = (page.parent / path).resolve() if path else page
        assert target.exists(), f"{page.name}: {link} -> {target} does not exist"
        if anchor:
            assert anchor in anchors(target), f"{page.name}: no heading #{anchor} in {target}"


def test_readme_is_read_in_five_minutes():
    assert len((REPO / "README.md").read_bytes()) <= 10_500
    assert (REPO / "docs/images/report.png").stat().st_size > 10_000  # the report's picture


def readme_commands() -> list[str]:
    blocks = re.findall(r"```bash\n(.*?)```", (REPO / "README.md").read_text(), flags=re.S)
    lines = [line.split(" #")[0].strip() for block in blocks for line in block.splitlines()]
    return [line for line in lines if line and not line.startswith("#")]


def test_the_readme_has_its_commands():
    commands = readme_commands()
    assert commands[:2] == ["./run_workflow.sh", "./run_tests.sh"]
    assert any(" predict " in c for c in commands)
    assert any("profiles/slurm" in c for c in commands)


def edited_config(name: str, tmp: Path) -> Path:
    """config/<name> after the README's one edit: its data folder points at small data of
    the right layout, written here."""
    config = yaml.safe_load((REPO / "config" / name).read_text())
    if "data" not in config:  # an overlay on a data config: nothing to edit
        return REPO / "config" / name
    codes = [s["code"] for s in config["species"]]
    data = config["data"]
    if data["source"] == "directory":
        write_dataset(tmp / "raw", codes[:6], n_recordings=3, seed=1, duration_s=12,
                      format_variety=False, min_recordings_per_species=1,
                      progress=False)  # fmt: skip
        data["audio_dir"] = data["annotation_dir"] = str(tmp / "raw")
    elif data["source"] == "anuraset_release":
        write_dataset(tmp / "raw", codes[:6], n_recordings=3, seed=1, duration_s=12,
                      format_variety=False, min_recordings_per_species=1,
                      progress=False)  # fmt: skip
        release_from_recordings(tmp / "raw", tmp / "release", codes)
        data["release_dir"] = str(tmp / "release")
    elif data["source"] == "class_folders":
        rng = np.random.default_rng(0)
        for code in codes:
            (tmp / "clips" / code).mkdir(parents=True)
            for k in range(3):
                sf.write(tmp / "clips" / code / f"clip{k}.wav",
                         0.1 * rng.standard_normal(3 * 16000), 16000)  # fmt: skip
        data["class_dir"] = str(tmp / "clips")
    path = tmp / name
    path.write_text(yaml.safe_dump(config))
    return path


def dry_run(command: str, tmp: Path) -> subprocess.CompletedProcess:
    """`command` as the README writes it, from the repository root, planning only: config
    files that need a data folder are edited copies, placeholders point at real files."""
    words = shlex.split(command)
    env = dict(os.environ)
    while "=" in words[0]:
        key, value = words.pop(0).split("=", 1)
        env[key] = value
    for i, word in enumerate(words):
        if word.startswith("config/") and word.endswith(".yaml") and word != "config/config.yaml":
            words[i] = str(edited_config(Path(word).name, tmp))
        words[i] = words[i].replace("/path/to/recordings", str(tmp / "new"))
    (tmp / "new").mkdir(exist_ok=True)
    sf.write(tmp / "new" / "night.wav", np.zeros(5 * 16000), 16000)
    words += ["-n", "--directory", str(tmp / "work")]
    return subprocess.run(words, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)


@pytest.mark.workflow
@pytest.mark.skipif(not (REPO / ".venv/bin/snakemake").exists(), reason="needs the .venv")
@pytest.mark.parametrize("command", readme_commands())
def test_every_readme_command_runs_as_written(command, tmp_path):
    if command == "./run_tests.sh":  # this very suite: it only has to be there
        assert os.access(REPO / "run_tests.sh", os.X_OK)
        return
    proc = dry_run(command, tmp_path)
    assert proc.returncode == 0, f"{command}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    assert "This was a dry-run" in proc.stdout + proc.stderr
