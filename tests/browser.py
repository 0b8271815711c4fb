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


class DevTools:
    """Chromium driven over the DevTools protocol on a pipe (`--remote-debugging-pipe`: no
    library needed): real mouse and key events, and downloads saved to `download_dir`."""

    def __init__(self, browser: str, download_dir: Path, profile_dir: Path):
        import os

        to_chrome, self._from_chrome = os.pipe(), os.pipe()

        def wire():  # the child reads commands on fd 3 and writes replies on fd 4
            a, b = os.dup(to_chrome[0]), os.dup(self._from_chrome[1])
            os.dup2(a, 3)
            os.dup2(b, 4)

        self.proc = subprocess.Popen(
            [browser, "--headless", "--no-sandbox", "--disable-gpu", "--remote-debugging-pipe",
             "--allow-file-access-from-files", f"--user-data-dir={profile_dir}", "about:blank"],
            preexec_fn=wire, pass_fds=(3, 4), stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        os.close(to_chrome[0])
        os.close(self._from_chrome[1])
        self._out, self._in = to_chrome[1], self._from_chrome[0]
        self._buffer, self._id, self.events = b"", 0, []
        targets = self.call("Target.getTargets")["targetInfos"]
        page = next(t for t in targets if t["type"] == "page")
        self.session = self.call("Target.attachToTarget", targetId=page["targetId"], flatten=True)[
            "sessionId"
        ]
        self.call("Browser.setDownloadBehavior", behavior="allow",
                  downloadPath=str(download_dir), eventsEnabled=True)  # fmt: skip
        self.call("Page.enable", session=True)

    def _read(self, timeout: float) -> dict:
        import os
        import select

        while b"\0" not in self._buffer:
            ready, _, _ = select.select([self._in], [], [], timeout)
            if not ready:
                raise TimeoutError("Chromium did not answer")
            chunk = os.read(self._in, 1 << 16)
            if not chunk:
                raise RuntimeError("Chromium closed the pipe")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def call(self, method: str, session: bool = False, timeout: float = 60, **params) -> dict:
        import os

        self._id += 1
        message = {"id": self._id, "method": method, "params": params}
        if session:
            message["sessionId"] = self.session
        os.write(self._out, json.dumps(message).encode() + b"\0")
        while True:
            reply = self._read(timeout)
            if reply.get("id") == self._id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_for(self, method: str, timeout: float = 60, **match) -> dict:
        """The first event `method` whose params include `match` (seen before or to come)."""

        def fits(e):
            return e.get("method") == method and all(
                e["params"].get(k) == v for k, v in match.items()
            )

        while True:
            found = next((e for e in self.events if fits(e)), None)
            if found:
                self.events.remove(found)
                return found["params"]
            self.events.append(self._read(timeout))

    def open(self, url: str) -> None:
        self.call("Page.navigate", session=True, url=url)
        self.wait_for("Page.loadEventFired")

    def js(self, expression: str):
        result = self.call("Runtime.evaluate", session=True, expression=expression,
                           returnByValue=True, awaitPromise=True)  # fmt: skip
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def click(self, selector: str) -> None:
        """A real mouse click in the middle of the element (scrolled into view first)."""
        box = self.js(
            f"(() => {{ const e = document.querySelector({json.dumps(selector)});"
            " e.scrollIntoView({block: 'center'}); const r = e.getBoundingClientRect();"
            " return [r.x + r.width / 2, r.y + r.height / 2]; })()"
        )
        for kind in ("mousePressed", "mouseReleased"):
            self.call("Input.dispatchMouseEvent", session=True, type=kind, x=box[0], y=box[1],
                      button="left", clickCount=1)  # fmt: skip

    def press(self, key: str) -> None:
        text = key if len(key) == 1 else ""
        self.call("Input.dispatchKeyEvent", session=True, type="keyDown", key=key, text=text)
        self.call("Input.dispatchKeyEvent", session=True, type="keyUp", key=key)

    def type(self, text: str) -> None:
        self.call("Input.insertText", session=True, text=text)

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait()
