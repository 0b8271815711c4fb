"""Every number in docs/benchmarks.md's tables (and README's Performance tables) has a
source: the section names the committed JSON it comes from (benchmarks/results/<benchmark>/
<machine>.json), or links the benchmarks.md section that does, and each number equals one of
that JSON's values as printed (rounded to the digits shown; percentages, minutes and
thousands as the page writes them). A rerun of a benchmark that changes a number fails here
until the page follows."""

import json
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "benchmarks/results"
PAGE = REPO / "docs/benchmarks.md"
NUMBER = re.compile(r"(?<![\w.])-?\d[\d,]*(?:\.\d+)?(?![\w])")
# columns whose numbers are not measurements: what the figure is, the goal, where it came from
NOT_MEASURED = re.compile(r"target|command|commit|comparison|change|configs|figure|method|"
                          r"machine|device|model|precision|round|what|experiment|workers",
                          re.I)  # fmt: skip
# sections whose tables come from elsewhere, with why
OTHER_SOURCES = {
    "The test suite": "pytest's own wall time and counts of clean-clone runs (CHANGELOG.md)",
}


def numbers(value):
    if isinstance(value, dict):
        for v in value.values():
            yield from numbers(v)
    elif isinstance(value, list):
        for v in value:
            yield from numbers(v)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        yield float(value)


def printed_forms(value: float) -> set[str]:
    """How a page may print a JSON value: itself, as a percentage, in minutes or hours, in
    thousands or milli-units, rounded to 0-4 digits, with or without thousands separators."""
    forms = set()
    for scale in (1, 100, 1 / 60, 1 / 3600, 1e-3, 1e3):
        for digits in range(5):
            text = f"{value * scale:.{digits}f}"
            forms |= {text, f"{value * scale:,.{digits}f}"}
    return forms


def sections(page: Path = PAGE) -> dict[str, str]:
    parts = re.split(r"\n(?=## )", page.read_text())
    return {part.splitlines()[0].lstrip("# ").strip(): part for part in parts[1:]}


def slug(heading: str) -> str:
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def result_file(name: str) -> Path:
    """A JSON as a page names it: from the repository (benchmarks/results/<benchmark>/...)
    or from the results folder (<benchmark>/<machine>.json)."""
    return REPO / name if name.startswith("benchmarks/results/") else RESULTS / name


def json_sources(section: str) -> list[Path]:
    """The committed JSON files a section names, directly or through a link to the
    benchmarks.md section that names them."""
    names = set(re.findall(r"[\w./-]+\.json", section))
    by_slug = {slug(title): text for title, text in sections().items()}
    for anchor in re.findall(r"benchmarks\.md#([\w-]+)", section):
        names |= set(re.findall(r"[\w./-]+\.json", by_slug.get(anchor, "")))
    return sorted({result_file(n) for n in names if result_file(n).is_file()})


def table_numbers(section: str) -> list[str]:
    """The numbers of the measured columns of every table in `section`."""
    out, header = [], None
    for line in section.splitlines():
        if not line.startswith("|"):
            header = None
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if set("".join(cells)) <= set("-: "):
            continue
        if header is None:
            header = cells
            continue
        for name, cell in zip(header[1:], cells[1:], strict=False):
            if not NOT_MEASURED.search(name):
                out += [n.rstrip(",") for n in NUMBER.findall(cell)]
    return out


CHECKED = [(PAGE, title) for title in sections()] + [(REPO / "README.md", "Performance")]


@pytest.mark.parametrize("page, title", CHECKED, ids=[f"{p.name}:{t}" for p, t in CHECKED])
def test_every_table_number_is_its_jsons(page, title):
    section = sections(page)[title]
    found = table_numbers(section)
    if not found or title in OTHER_SOURCES:
        return
    files = json_sources(section)
    assert files, f"## {title}: its tables have numbers but it names no committed JSON"
    forms = set()
    for path in files:
        for value in numbers(json.loads(path.read_text())):
            forms |= printed_forms(value)
    missing = [n for n in found if n not in forms]
    assert not missing, f"## {title}: not in {[f.name for f in files]}: {missing}"
