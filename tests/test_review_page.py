"""The review page labels and downloads in a real browser: headless Chromium driven over the
DevTools protocol with real key presses and mouse clicks, the downloaded labels file read
back by the workflow's own reader."""

import json

import numpy as np
import pandas as pd
import soundfile as sf

from anuraflow.core.fileio import write_text
from anuraflow.data.review_labels import read_review_file, read_review_labels
from anuraflow.report.render import render_report
from anuraflow.report.review import review_entries

CODES = ["AAA", "BBB", "CCC"]


def review_page(tmp_path):
    """A search review page over three windows of a 10 s recording, as search_archive
    writes it; the first two ask about BBB and none, the third about AAA."""
    rate = 8000
    t = np.arange(10 * rate) / rate
    audio = tmp_path / "rec.wav"
    sf.write(audio, 0.3 * np.sin(2 * np.pi * 1000 * t), rate, subtype="PCM_16")
    hits = pd.DataFrame(
        {
            "rank": [1, 2, 3],
            "recording_id": "rec",
            "start_s": [2.0, 5.0, 7.0],
            "end_s": [5.0, 8.0, 10.0],
            "window_id": ["rec_2_5", "rec_5_8", "rec_7_10"],
            "score": [0.9, 0.8, 0.7],
            "species": ["BBB", None, "AAA"],
            "note": ["query window", None, "a <b>tag</b> stays text"],
        }
    )
    context = {
        "title": "Search by example: rec",
        "name": "demo",
        "codes": CODES,
        "query_recording": "rec",
        "query_source": "window ids",
        "query_ids": ["rec_2_5"],
        "label": None,
        "n_archive": 8,
        "n_recordings": 1,
        "top_k": 3,
        "entries": review_entries(hits, {"rec": str(audio)}, tmp_path / "clips"),
    }
    page = tmp_path / "review.html"
    write_text(render_report(context, "search.html.j2"), page)
    return page


def test_label_with_keys_and_clicks_then_download(chromium, tmp_path):
    from browser import DevTools

    page = review_page(tmp_path)
    assert "&lt;b&gt;tag&lt;/b&gt;" in page.read_text()  # autoescaped
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    tools = DevTools(chromium, downloads, tmp_path / "profile")
    try:
        tools.open(page.as_uri())
        tools.press("1")  # the first window: BBB present
        tools.press("j")
        tools.press("2")  # the second asks about no species yet
        assert tools.js("document.getElementById('status').textContent") == (
            "choose the species first"
        )
        tools.js("document.querySelectorAll('.hit select')[1].value = 'CCC'")
        tools.press("2")  # CCC absent
        tools.click(".hit:nth-child(3) button[data-decision='unsure']")  # AAA unsure
        tools.click(".hit:nth-child(3) button[data-decision='present']")  # changed its mind
        assert tools.js("document.getElementById('count').textContent") == "3 decisions"
        assert tools.js("document.querySelector('.hit.current').dataset.window") == "rec_7_10"
        tools.click("#download")  # no reviewer yet: nothing is downloaded
        assert "type your name" in tools.js("document.getElementById('status').textContent")
        tools.click("#reviewer")
        tools.type("Ana Tester")
        tools.click("#download")
        done = tools.wait_for("Browser.downloadProgress", state="completed")
        path = downloads / "labels-demo.tsv"
        assert path.is_file(), done
        # a reload keeps the decisions (localStorage) and the reviewer
        tools.open(page.as_uri())
        assert tools.js("document.getElementById('count').textContent") == "3 decisions"
        assert tools.js("document.getElementById('reviewer').value") == "Ana Tester"
    finally:
        tools.close()
    df = read_review_file(path)
    got = df[["recording", "start_s", "end_s", "species", "decision", "reviewer"]]
    assert sorted(got.values.tolist()) == [
        ["rec", 2.0, 5.0, "BBB", "present", "Ana Tester"],
        ["rec", 5.0, 8.0, "CCC", "absent", "Ana Tester"],
        ["rec", 7.0, 10.0, "AAA", "present", "Ana Tester"],
    ]
    assert df["time"].notna().all() and path.read_text().endswith("# end: 3 decisions\n")
    decisions, record = read_review_labels([path], {"rec": 10.0}, CODES, 3.0, 1.0)
    assert record["n_decisions"] == {"present": 2, "absent": 1, "unsure": 0}


def test_the_page_is_self_contained(tmp_path):
    """No server and no network: every script and style is inline, clips are relative."""
    text = review_page(tmp_path).read_text()
    assert "<script src" not in text and "http" not in text
    assert 'src="clips/1.wav"' in text
    name = json.dumps("demo")
    assert f"const name = {name}" in text
