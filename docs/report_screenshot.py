"""Regenerate docs/images/report.png: the first screen of the demo report in headless Chromium.

Run after `./run_workflow.sh`:  .venv/bin/python docs/report_screenshot.py
(Chromium is Debian's package; it is installed with apt-get when missing and run as root.)
"""

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))
from browser import headless, install_browser  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--report", type=Path, default=REPO / "results/report/report.html")
    ap.add_argument("--out", type=Path, default=REPO / "docs/images/report.png")
    ap.add_argument("--size", default="1300,1500", help="window width,height in pixels")
    args = ap.parse_args()
    if not args.report.is_file():
        sys.exit(f"{args.report} does not exist: run ./run_workflow.sh first")
    browser = install_browser()
    if browser is None:
        sys.exit("no Chromium: install Debian's chromium package (apt-get install chromium)")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    proc = headless(
        browser, f"--window-size={args.size}", "--hide-scrollbars",
        f"--screenshot={args.out}", args.report.resolve().as_uri(),
    )  # fmt: skip
    if not args.out.is_file():
        sys.exit(f"Chromium wrote no screenshot:\n{proc.stderr[-2000:]}")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
