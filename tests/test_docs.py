"""The README and docs/ as a newcomer meets them: every relative link resolves, and every
workflow command a user is told to paste (the fenced shell blocks of README.md and docs/*.md,
and the commands in config/*.yaml comments) runs as written (a dry run where it would train),
after the one edit its page asks for (a data folder in the config, the file it names)."""

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
from anuraflow.simulate.writer import SIMULATED_MARK, write_dataset

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


WORKFLOW_COMMAND = re.compile(r"^(\w+=\S+ )*(\./run_workflow\.sh|\.venv/bin/snakemake|snakemake)\b")


def shell_lines(text: str) -> list[str]:
    """The commands of a page's fenced shell blocks, comments cut, continuations joined."""
    blocks = re.findall(r"```(?:bash|sh|shell)\n(.*?)```", text, flags=re.S)
    joined = [re.sub(r"\s*\\\n\s*", " ", block) for block in blocks]
    lines = [line.split(" #")[0].strip() for block in joined for line in block.splitlines()]
    return [line for line in lines if line and not line.startswith("#")]


def planned_as(command: str) -> str:
    """The command as the dry run plans it: `-n` (added anyway), the cores, and whether
    snakemake is called as such or through run_workflow.sh make no difference to the plan,
    so such twins are planned once."""
    words = re.sub(r"^(\w+=\S+ )+|--cores \d+ ", "", command).split()
    same = {"./run_workflow.sh": "snakemake", ".venv/bin/snakemake": "snakemake"}
    return " ".join(same.get(w, w) for w in words if w not in ("-n", "--dry-run"))


def doc_commands() -> dict[str, str]:
    """Every workflow command (run_workflow.sh, snakemake) of README.md and docs/*.md's shell
    blocks and of config/*.yaml's comments, each plan once -> the first page that has it."""
    lines: list[tuple[str, str]] = []
    for page in PAGES:
        for line in shell_lines(page.read_text()):
            lines += [(part.strip(), page.name) for part in line.split("&&")]
    for config in sorted((REPO / "config").glob("*.yaml")):
        for line in config.read_text().splitlines():
            if line.startswith("#"):
                lines.append((line.lstrip("# ").split(" #")[0].strip(), f"config/{config.name}"))
    found: dict[str, str] = {}
    seen = set()
    for command, page in lines:
        if WORKFLOW_COMMAND.match(command) and planned_as(command) not in seen:
            seen.add(planned_as(command))
            found[command] = page
    return found


def test_doc_commands_are_collected_from_every_page_and_config():
    commands = doc_commands()
    pages = set(commands.values())
    assert {"README.md", "embeddings.md", "usage.md", "methods.md"} <= pages
    assert any(page.startswith("config/") for page in pages)  # a command only a config has
    assert "./run_workflow.sh search --configfile config/config.yaml my-search.yaml" in commands
    assert shell_lines("```bash\na \\\n  b  # note\n# comment\n```") == ["a b"]


def edited_config(name: str, tmp: Path) -> Path:
    """config/<name> after the README's one edit: its data folder points at small data of
    the right layout, written here."""
    config = yaml.safe_load((REPO / "config" / name).read_text())
    if "predict" in config:  # the new season the page writes first: a folder of one here
        config["predict"]["audio_dir"] = str(tmp / "new")
        (tmp / name).write_text(yaml.safe_dump(config))
        return tmp / name
    if config.get("data", {}).get("source", "synthetic") == "synthetic":
        return REPO / "config" / name  # an overlay, or written by the run: nothing to edit
    species = config["species"]
    codes = (
        ["FROGA", "FROGB", "TOADC"] if species == "from_labels" else [s["code"] for s in species]
    )
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


def placeholder_file(name: str, tmp: Path) -> Path | None:
    """The files the docs tell a user to write, as their pages describe them: `my.yaml`, the
    user's own config (the demo's, with the `predict` section detection.md asks to add), and
    `my-search.yaml`, embeddings.md's `search` section with its query table."""
    if name in ("my.yaml", "config/my.yaml"):
        config = yaml.safe_load((REPO / "config/config.yaml").read_text())
        config["predict"] = {"audio_dir": str(tmp / "new"), "experiment": "demo_cnn"}
    elif name == "my-search.yaml":
        page = (REPO / "docs/embeddings.md").read_text()
        block = re.search(r"```yaml\n(search:.*?)```", page, flags=re.S).group(1)
        config = yaml.safe_load(block)
        query = tmp / Path(config["search"]["table"]).name
        query.write_text("Selection\tView\tChannel\tBegin Time (s)\tEnd Time (s)\tSpecies\n"
                         "1\tSpectrogram 1\t1\t10.0\t11.0\tBOAFAB\n")  # fmt: skip
        config["search"]["table"] = str(query)
    else:
        return None
    path = tmp / Path(name).name
    path.write_text(yaml.safe_dump(config))
    return path


def dry_run(command: str, tmp: Path) -> subprocess.CompletedProcess:
    """`command` as the docs write it, from the repository root, planning only (`--unlock`
    runs: it plans nothing), in a working directory of its own that sees the repository's
    config/: config files that need a data folder are edited copies, the files a page tells
    the user to write are written as it says, placeholders point at real files."""
    words = shlex.split(command)
    env = dict(os.environ)
    while "=" in words[0]:
        key, value = words.pop(0).split("=", 1)
        env[key] = value
    if words[0] == "snakemake":
        words[0] = ".venv/bin/snakemake"
    for i, word in enumerate(words):
        written = placeholder_file(word, tmp)
        if written is not None:
            words[i] = str(written)
        elif word.startswith("config/") and word.endswith(".yaml") and word != "config/config.yaml":
            words[i] = str(edited_config(Path(word).name, tmp))
        for folder in ("/path/to/recordings", "/path/to/season", "data/next-season"):
            words[i] = words[i].replace(folder, str(tmp / "new"))
    (tmp / "new").mkdir(exist_ok=True)
    sf.write(tmp / "new" / "night.wav", np.zeros(5 * 16000), 16000)
    # the folder stands for the demo's new season too (the pages write it with
    # anuraflow.simulate.new_season first), which carries the simulator's mark
    (tmp / "new" / SIMULATED_MARK).write_text("{}")
    work = tmp / "work"
    work.mkdir(exist_ok=True)
    if not (work / "config").exists():
        (work / "config").symlink_to(REPO / "config")  # relative paths such as split.file
    words += (["--directory", str(work)] if "--unlock" in words else
              ["-n", "--directory", str(work)])  # fmt: skip
    return subprocess.run(words, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)


@pytest.mark.workflow
@pytest.mark.skipif(not (REPO / ".venv/bin/snakemake").exists(), reason="needs the .venv")
@pytest.mark.parametrize("command, page", sorted(doc_commands().items()))
def test_every_doc_command_runs_as_written(command, page, tmp_path):
    proc = dry_run(command, tmp_path)
    where = f"{page}: {command}"
    assert proc.returncode == 0, f"{where}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    if "--unlock" not in command:
        assert "This was a dry-run" in proc.stdout + proc.stderr, where


def test_the_test_command_is_there():
    assert "./run_tests.sh" in readme_commands()
    assert os.access(REPO / "run_tests.sh", os.X_OK)


def test_every_script_a_shell_block_names_is_there():
    """The other lines of the shell blocks (benchmarks, tools, helpers): each repository file
    or module they run exists, so a renamed script cannot leave its command behind."""
    named = set()
    for page in PAGES:
        text = page.read_text()
        for line in shell_lines(text):
            pattern = r"\b((?:benchmarks|bin|docs|tests|tools)/[\w./-]+\.(?:py|sh))"
            named |= set(re.findall(pattern, line))
        modules = re.findall(r"-m ((?:benchmarks|tools)\.[\w.]+)", text)  # code spans too
        named |= {module.rstrip(".").replace(".", "/") + ".py" for module in modules}
    assert "tools/gpu_check.sh" in named and "benchmarks/speed/data_path.py" in named
    missing = sorted(path for path in named if not (REPO / path).is_file())
    assert not missing, missing


def test_every_result_file_a_page_names_is_there():
    """Every benchmarks/results/... path that a page, the changelog or a benchmark's
    docstring names exists, so a moved result cannot leave its reference behind."""
    pages = [*PAGES, REPO / "CHANGELOG.md", REPO / "benchmarks/README.md"]
    texts = {p: p.read_text() for p in pages}
    scripts = (REPO / "benchmarks").rglob("*.py")  # not the peers' own environment
    texts |= {p: p.read_text() for p in scripts if ".venv" not in p.parts}
    named = {
        (page.relative_to(REPO), path.rstrip("."))
        for page, text in texts.items()
        for path in re.findall(r"benchmarks/results/[\w./<>-]+\.(?:json|md)", text)
        if "<" not in path
    }
    assert len(named) > 40
    missing = sorted((str(page), path) for page, path in named if not (REPO / path).is_file())
    assert not missing, missing
