"""A new season for the demo's `predict` and `validate`, and a reviewer who hears perfectly.

`write`: recordings the demo's model never saw, of the same species' voices a year on, in a
folder `predict.audio_dir` can point at; their true calls go to `<folder>/truth/` as Audacity
label files, where the workflow never looks (predict reads audio only).

`review`: a labels file, as the review page downloads it, deciding the windows of a
`validate` sample (sample.parquet) from that truth: present where a true call of the species
overlaps the window (the workflow's overlap rule), absent elsewhere. What a field reviewer
would do, for the demo and the tests.

    .venv/bin/python -m anuraflow.simulate.new_season write data/next-season
    .venv/bin/python -m anuraflow.simulate.new_season review \\
        results/predict/demo_cnn/validate/sample.parquet data/next-season/truth \\
        review/labels-validate-demo_cnn.tsv
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from anuraflow.core.fileio import write_text
from anuraflow.data.audacity import parse_audacity_labels
from anuraflow.data.review_labels import labels_file_text
from anuraflow.data.windows import window_labels
from anuraflow.simulate.writer import write_new_recordings


def write_new_season(
    out_dir: str | Path, config_path: str | Path, n_recordings: int, seed: int, duration_s: float
) -> list[Path]:
    """`n_recordings` new recordings of the config's species and synthetic voices under
    `out_dir`, each one's true calls in `out_dir/truth/<recording>.txt`."""
    config = yaml.safe_load(Path(config_path).read_text())
    codes = [s["code"] for s in config["species"]]
    written = write_new_recordings(out_dir, codes, config["synthetic"]["seed"], n_recordings,
                                   seed=seed, duration_s=duration_s)  # fmt: skip
    for path, calls in written:
        lines = "".join(f"{s:.4f}\t{e:.4f}\t{label}\n" for s, e, label in calls)
        write_text(lines, Path(out_dir) / "truth" / f"{path.stem}.txt")
    return [path for path, _ in written]


def truthful_decisions(sample: pd.DataFrame, truth_dir: str | Path) -> pd.DataFrame:
    """Each sampled window decided from the true calls: recording, start_s, end_s, species,
    decision (present / absent)."""
    present = np.zeros(len(sample), dtype=bool)
    for recording, rows in sample.groupby("recording_id"):
        calls = parse_audacity_labels(Path(truth_dir) / f"{recording}.txt", recording)
        codes = sorted(set(rows["species"]))
        calls = calls[calls["species"].isin(codes)]  # the species not asked about here
        window_s = float((rows["end_s"] - rows["start_s"]).iloc[0])
        labels = window_labels(rows["start_s"].to_numpy(), window_s, calls, codes)
        column = rows["species"].map({c: j for j, c in enumerate(codes)}).to_numpy()
        present[sample.index.get_indexer(rows.index)] = labels[np.arange(len(rows)), column] > 0
    return pd.DataFrame({"recording": sample["recording_id"], "start_s": sample["start_s"],
                         "end_s": sample["end_s"], "species": sample["species"],
                         "decision": np.where(present, "present", "absent")})  # fmt: skip


def review_sample(
    sample_path: str | Path, truth_dir: str | Path, out: str | Path, share: float = 1.0,
    reviewer: str = "simulated reviewer", time: str = "2026-12-06T12:00:00Z",
) -> pd.DataFrame:  # fmt: skip
    """Decide the first `share` of each species' sampled windows from the truth and write
    them as a review page's labels file."""
    sample = pd.read_parquet(sample_path).reset_index(drop=True)
    take = sample.groupby("species").cumcount() < sample.groupby("species")["species"].transform(
        lambda s: int(round(share * len(s)))
    )
    decisions = truthful_decisions(sample[take.to_numpy()], truth_dir)
    write_text(labels_file_text(decisions, reviewer, time), out)
    return decisions


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    w = sub.add_parser("write", help="write a new season's recordings, truth aside")
    w.add_argument("out_dir")
    w.add_argument("--config", default="config/config.yaml", help="species and voices")
    w.add_argument("--recordings", type=int, default=24)
    w.add_argument("--seed", type=int, default=11)
    w.add_argument("--duration-s", type=float, default=60.0)
    r = sub.add_parser("review", help="decide a validate sample from the truth")
    r.add_argument("sample")
    r.add_argument("truth_dir")
    r.add_argument("out")
    r.add_argument("--share", type=float, default=1.0, help="of each species' windows")
    args = parser.parse_args(argv)
    if args.command == "write":
        paths = write_new_season(args.out_dir, args.config, args.recordings, args.seed,
                                 args.duration_s)  # fmt: skip
        print(f"{len(paths)} recordings in {args.out_dir}, their calls in {args.out_dir}/truth")
    else:
        decisions = review_sample(args.sample, args.truth_dir, args.out, args.share)
        print(f"{len(decisions)} decisions ({(decisions['decision'] == 'present').sum()} "
              f"present) in {args.out}")  # fmt: skip


if __name__ == "__main__":
    main()
