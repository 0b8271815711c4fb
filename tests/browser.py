"""A real browser for the report tests: Debian's headless Chromium, installed when missing
(as root, as the SLURM test installs its packages)."""

import html
import json
import re
import shutil
import subprocess
from pathlib import Path

from apt_packages import apt_install

BROWSERS = ("chromium", "chromium-browser", "google-chrome")

# loads the report in a frame (same origin under --allow-file-access-from-files) and writes
# what it found: does every image decode, does every audio element load its clip
CHECK_PAGE = """<!DOCTYPE html><html><body>
<iframe id="report" src="report.html" style="width:1200px;height:800px"></iframe>
<pre id="result">pending</pre>
<script>
window.addEventListener("load", async () => {
  const doc = document.getElementById("report").contentDocument;
  const images = [...doc.images].map(i => ({alt: i.alt, ok: i.complete && i.naturalWidth > 0}));
  const audio = await Promise.all([...doc.querySelectorAll("audio")].map(a => new Promise(done => {
    const src = a.getAttribute("src");
    a.addEventListener("loadedmetadata", () => done({src, ok: a.duration > 0}));
    a.addEventListener("error", () => done({src, ok: false}));
    a.preload = "metadata";
    a.load();
  })));
  document.getElementById("result").textContent = JSON.stringify({images, audio});
});
</script></body></html>
"""


def find_browser() -> str | None:
    return next((b for b in map(shutil.which, BROWSERS) if b), None)


def install_browser() -> str | None:
    """Chromium's path, installed with apt-get when missing; None when that cannot be done."""
    if find_browser() is None:
        apt_install(["chromium"])
    return find_browser()


def headless(browser: str, *args: str) -> subprocess.CompletedProcess:
    cmd = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr",
           "--v=0", *args]  # fmt: skip
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


def check_report(browser: str, report: Path, screenshot: Path) -> dict:
    """Open `report` (any page with images and clips) as a user does: {images, audio} as the
    page found them, the console messages the page itself caused, and a full-page screenshot
    at `screenshot`."""
    page = report.parent / "_browser_check.html"
    page.write_text(CHECK_PAGE.replace('src="report.html"', f'src="{report.name}"'))
    try:
        # the clips' metadata loads in real time, not in the virtual time budget: on a busy
        # machine the DOM can be dumped before the page wrote its result, so look again
        for _ in range(3):
            proc = headless(
                browser, "--allow-file-access-from-files", "--virtual-time-budget=20000",
                "--dump-dom", page.as_uri(),
            )  # fmt: skip
            found = re.search(r'<pre id="result">([^<]*)</pre>', proc.stdout)
            if not found or found.group(1) != "pending":
                break
    finally:
        page.unlink()
    result = json.loads(html.unescape(found.group(1))) if found else {"error": proc.stderr[-2000:]}
    shot = headless(
        browser, "--window-size=1300,12000", f"--screenshot={screenshot}", report.as_uri()
    )
    result["console"] = [
        line for line in proc.stderr.splitlines() + shot.stderr.splitlines()
        if "CONSOLE" in line and report.name in line
    ]  # fmt: skip
    return result
