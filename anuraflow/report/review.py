"""Mistakes you can listen to: per species, the test windows the best run got most wrong.

False positives are the negative windows with the highest scores among those called positive;
false negatives the positive windows with the lowest scores among those missed. Each gets its
window id, score, a spectrogram thumbnail and the window's audio, cut from the standardised
recording (16 kHz mono 16-bit WAV), written beside the report as `review/*.wav|png`.
"""

from __future__ import annotations

import base64
import io
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile as sf

from anuraflow.core.fileio import write_text
from anuraflow.evaluate.analysis import RunPredictions
from anuraflow.report.render import render_report


def ranked_mistakes(p: RunPredictions, j: int, k: int) -> dict[str, np.ndarray]:
    """Window positions of species j's top-k false positives (highest score first) and
    false negatives (lowest score first)."""
    t, d, s = p.true[:, j] > 0, p.pred[:, j] > 0, p.prob[:, j]
    fp = np.flatnonzero(~t & d)
    fn = np.flatnonzero(t & ~d)
    return {
        "false positive": fp[np.argsort(-s[fp], kind="stable")][:k],
        "false negative": fn[np.argsort(s[fn], kind="stable")][:k],
    }


def spectrogram_png(samples: np.ndarray, rate: int) -> str:
    """A small log spectrogram of a clip, as base64 PNG."""
    from anuraflow.report.figures import plt

    fig, ax = plt.subplots(figsize=(1.9, 0.95), dpi=80)
    ax.specgram(samples + 1e-7, NFFT=512, Fs=rate, noverlap=384, cmap="magma")
    ax.set_axis_off()
    fig.subplots_adjust(0, 0, 1, 1)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode()


def clip_entry(audio: str | Path, start_s: float, end_s: float, clip_out: Path) -> dict:
    """Cut [start_s, end_s) of `audio` (mono or the first channel) to `clip_out` (16-bit WAV at
    the file's rate): the clip's path relative to the page beside its folder, and its
    spectrogram thumbnail."""
    with sf.SoundFile(str(audio)) as sound:
        sound.seek(int(round(start_s * sound.samplerate)))
        n = int(round((end_s - start_s) * sound.samplerate))
        clip, rate = sound.read(n, dtype="float32", always_2d=True)[:, 0], sound.samplerate
    sf.write(str(clip_out), clip, rate, subtype="PCM_16")
    return {
        "audio": f"{clip_out.parent.name}/{clip_out.name}",
        "thumbnail": spectrogram_png(clip, rate),
    }


def review_entries(hits: pd.DataFrame, audio_of: dict[str, str], clips_dir: str | Path) -> list:
    """The cards of a review page (search, suggestions): each hit's clip cut to
    `clips_dir/{rank}.wav` from `audio_of[recording]`, with its window, score, the species it
    asks about and why it is there. `hits`: rank, recording_id, start_s, end_s, window_id,
    score, species (or None), note (or None)."""
    clips_dir = Path(clips_dir)
    clips_dir.mkdir(parents=True, exist_ok=True)
    entries = []
    for hit in hits.itertuples(index=False):
        clip = clip_entry(
            audio_of[hit.recording_id], hit.start_s, hit.end_s, clips_dir / f"{hit.rank}.wav"
        )
        entries.append(
            {
                "window_id": hit.window_id,
                "recording": hit.recording_id,
                "start_s": f"{hit.start_s:g}",
                "end_s": f"{hit.end_s:g}",
                "score": float(hit.score),
                "species": hit.species,
                "note": hit.note,
                **clip,
            }
        )
    return entries


def write_gallery(p: RunPredictions, audio_dir: str | Path, out_dir: str | Path, k: int) -> list:
    """Write each mistake's clip to `out_dir` and return the gallery: per species, per kind,
    entries {window_id, recording, start_s, score, audio (path relative to the report),
    thumbnail (base64 PNG)}."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    gallery = []
    for j, code in enumerate(p.codes):
        kinds = []
        for kind, rows in ranked_mistakes(p, j, k).items():
            entries = []
            for i in rows:
                w = p.windows.iloc[i]
                name = f"{code}_{kind.split()[1]}_{len(entries) + 1}.wav"
                entry = clip_entry(
                    Path(audio_dir) / f"{w['recording_id']}.wav",
                    w["start_s"],
                    w["end_s"],
                    out_dir / name,
                )
                entries.append(
                    {
                        "window_id": w["window_id"],
                        "recording": w["recording_id"],
                        "start_s": float(w["start_s"]),
                        "score": float(p.prob[i, j]),
                        **entry,
                    }
                )
            kinds.append({"kind": kind, "entries": entries})
        gallery.append({"code": code, "kinds": kinds})
    return gallery


def write_review_page(
    template: str, context: dict, cards: pd.DataFrame, audio_of: dict[str, str],
    clips_dir: str | Path, page: str | Path,
) -> None:  # fmt: skip
    """A review page (search, suggestions, predict's detections, validate's sample): the
    `cards`' clips cut into `clips_dir` (`review_entries`) and `template` rendered with
    `context` and them, autoescaped, to `page`."""
    entries = review_entries(cards, audio_of, clips_dir)
    write_text(render_report({**context, "entries": entries}, template), page)
