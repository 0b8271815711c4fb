"""The test suite's slowest tests as a Markdown table, from the log of `./run_tests.sh` (or
`CI=true bash .ci/run`), for docs/development.md.

    CI=true bash .ci/run 2>&1 | tee suite.log
    .venv/bin/python -m tools.suite_durations suite.log --top 25

It reads pytest's own `--durations` section and its final line, and names this machine's CPU
(model, cores, instruction sets that change the numbers: avx512_bf16, amx), so the table says
where it was measured. It writes JSON with `--json` too.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

from benchmarks.harness import cpu_facts

DURATION = re.compile(r"^(\d+\.\d+)s (setup|call|teardown)\s+(.+)$")
SUMMARY = re.compile(r"^=*\s*(\d+ passed.*) in ([\d.]+)s")


def parse_log(text: str) -> dict:
    """pytest's durations (seconds, phase, test id) and its summary line."""
    rows, summary, wall = [], None, None
    for line in text.splitlines():
        m = DURATION.match(line.strip())
        if m:
            rows.append({"seconds": float(m[1]), "phase": m[2], "test": m[3]})
        m = SUMMARY.match(line.strip())
        if m:
            summary, wall = m[1].strip(" ="), float(m[2])
    return {"durations": rows, "summary": summary, "pytest_seconds": wall}


def markdown(parsed: dict, cpu: dict, top: int) -> str:
    lines = [
        f"CPU: {cpu['model']}, {cpu['cores']} cores ({', '.join(cpu['flags']) or 'no AVX2'}); "
        f"pytest: {parsed['summary']} in {parsed['pytest_seconds']:.0f} s",
        "",
        "| s | phase | test |",
        "|---|---|---|",
    ]
    for row in parsed["durations"][:top]:
        lines.append(f"| {row['seconds']:.1f} | {row['phase']} | `{row['test']}` |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("log", type=Path)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--json", type=Path, help="also write the parsed durations here")
    args = parser.parse_args()
    parsed, cpu = parse_log(args.log.read_text()), cpu_facts()
    if not parsed["durations"]:
        raise SystemExit(f"{args.log}: no pytest --durations section found")
    print(markdown(parsed, cpu, args.top))
    if args.json:
        args.json.write_text(json.dumps({**parsed, "cpu": cpu}, indent=1) + "\n")


if __name__ == "__main__":
    main()
