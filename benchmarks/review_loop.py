"""Benchmark: does labelling the suggested windows teach a probe more than labelling random ones?

A simulated reviewer answers from ground truth, round after round: start from a handful of
examples (one window of each species, every label known), then each round label 20 windows,
retrain a linear probe on the BirdNET V2.4 embeddings of everything labelled so far (masked
BCE: only the labels the reviewer gave count), and score the held-out test windows (macro F1
at 0.5 over the species present in the test windows, and macro AP). The windows come from
`anuraflow.detect.suggest.choose_windows` (uncertainty + diversity, the `suggest` defaults)
or uniformly at random; each window asks about one species (the suggested one; a random one
for random windows), and the reviewer answers it and also marks every species truly present
in the window (the page's species list), as a careful reviewer does. Unasked absent species
stay unknown.

Two cases:
- synthetic: the review-loop demo's 48 recordings (config/config.yaml + config/agile-loop.yaml;
  their embeddings from the workflow's own stage, run here when missing), true labels from
  every recording's label file (the 20 unlabelled ones' from truth/); test = one third of the
  recordings (seeded), the pool = the other windows.
- real: the three field recordings of ../shared/data/real; a window's class is the recording
  it comes from (1min.wav: a dawn chorus, great_plains_toad.wav, rugr_drum.wav: a ruffed
  grouse drumming), a proxy for a sound type, not species labels. Test = the last third of
  each recording (two windows' gap), the pool = the rest; its pool runs out after 3 rounds.

    .venv/bin/python benchmarks/review_loop.py --seeds 5 --rounds 8
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from anuraflow.detect.suggest import Strategy, choose_windows  # noqa: E402
from anuraflow.evaluate.metrics import macro_f1, mean_average_precision  # noqa: E402
from anuraflow.learn.probes import fit_probe  # noqa: E402

PER_ROUND = 20


@dataclass
class Case:
    name: str
    embeddings: np.ndarray  # [n, 1024]
    truth: np.ndarray  # [n, classes] 0/1
    recordings: np.ndarray  # [n] str
    test: np.ndarray  # [n] bool
    classes: list[str]


def synthetic_case(results: Path, listing: Path, codes: list[str], seed: int = 0) -> Case:
    """The demo's windows: embeddings from the workflow's caches, truth from label files."""
    from anuraflow.data.annotations import parse_audacity_labels
    from anuraflow.data.windows import window_labels
    from anuraflow.features.embeddings import read_embedding_cache

    rows = json.loads(listing.read_text())
    emb, truth, recs = [], [], []
    for r in rows:
        starts, e, meta = read_embedding_cache(
            results / "embeddings" / f"{r['recording_id']}.parquet"
        )
        labels = r["labels"] or r["truth"]
        calls = parse_audacity_labels(REPO / labels, r["recording_id"])
        calls = calls[calls["species"].isin(codes)]
        emb.append(e)
        truth.append(window_labels(starts, meta["window_s"], calls, codes))
        recs += [r["recording_id"]] * len(starts)
    recs = np.array(recs)
    names = np.unique(recs)
    test_recs = np.random.default_rng(seed).choice(names, len(names) // 3, replace=False)
    return Case("synthetic", np.concatenate(emb), np.concatenate(truth), recs,
                np.isin(recs, test_recs), list(codes))  # fmt: skip


def real_case(real_dir: Path) -> Case:
    """The three real recordings, embedded here by the workflow's embedder; class = file."""
    import soundfile as sf

    from anuraflow.data.windows import window_starts
    from anuraflow.features.birdnet import BirdNetEmbedder, check_embedding_model
    from anuraflow.features.embeddings import EmbeddingConfig, embed_recording

    files = ["1min.wav", "great_plains_toad.wav", "rugr_drum.wav"]
    embedder = BirdNetEmbedder(str(check_embedding_model()), 2)
    config = EmbeddingConfig()
    emb, truth, recs, test = [], [], [], []
    for k, name in enumerate(files):
        starts = window_starts(sf.info(str(real_dir / name)).duration, 3.0, 1.0)
        emb.append(embed_recording(real_dir / name, starts, embedder, config))
        t = np.zeros((len(starts), len(files)), np.uint8)
        t[:, k] = 1
        truth.append(t)
        recs += [name] * len(starts)
        cut = int(round(len(starts) * 2 / 3))
        part = np.zeros(len(starts), dtype=int)  # 0 pool, 1 gap, 2 test
        part[cut : cut + 2], part[cut + 2 :] = 1, 2
        test.append(part)
    part = np.concatenate(test)
    keep = part != 1  # the gap: windows overlapping both sides are used by neither
    classes = ["dawn_chorus", "great_plains_toad", "ruffed_grouse"]
    return Case("real", np.concatenate(emb)[keep], np.concatenate(truth)[keep],
                np.array(recs)[keep], part[keep] == 2, classes)  # fmt: skip


def review(case: Case, y, known, window: int, asked: int) -> None:
    """The simulated reviewer: answers the asked species, marks every species present."""
    y[window, asked], known[window, asked] = case.truth[window, asked], 1
    present = case.truth[window] > 0
    y[window, present], known[window, present] = 1, 1


def starting_examples(case: Case, rng) -> np.ndarray:
    """A handful: one pool window of each class that has one, every label known."""
    pool = np.flatnonzero(~case.test)
    start = [rng.choice(pool[case.truth[pool, j] > 0]) for j in range(case.truth.shape[1])
             if case.truth[pool, j].any()]  # fmt: skip
    return np.unique(start)


def next_windows(case: Case, score, labelled: np.ndarray, how: str, rng) -> list[tuple[int, int]]:
    """(window, asked species) for the next round: `suggest` or `random`."""
    free = np.flatnonzero(~case.test & ~labelled)
    n = min(PER_ROUND, len(free))
    if how == "random":
        return [
            (int(w), int(rng.integers(case.truth.shape[1])))
            for w in rng.choice(free, n, replace=False)
        ]
    per_species = math.ceil(PER_ROUND / case.truth.shape[1])
    chosen = choose_windows(score(case.embeddings[free]), np.full(case.truth.shape[1], 0.5),
                            case.embeddings[free], case.embeddings[labelled],
                            Strategy(per_species, 1.0, 1.0, 0.0))  # fmt: skip
    return [
        (int(free[p]), int(j))
        for p, j in zip(chosen["position"][:n], chosen["species"][:n], strict=True)
    ]


def run_loop(case: Case, how: str, rounds: int, seed: int) -> list[dict]:
    rng = np.random.default_rng([seed, 0 if how == "suggest" else 1])
    start_rng = np.random.default_rng(seed)  # the same handful for both strategies
    y = np.zeros_like(case.truth, dtype=np.float32)
    known = np.zeros_like(y)
    labelled = np.zeros(len(y), dtype=bool)
    for w in starting_examples(case, start_rng):
        y[w], known[w], labelled[w] = case.truth[w], 1, True
    out = []
    for r in range(rounds + 1):
        score = fit_probe(case.embeddings[labelled], y[labelled], known[labelled], seed=seed)
        prob = score(case.embeddings[case.test])
        true = case.truth[case.test]
        out.append({"round": r, "labelled_windows": int(labelled.sum()),
                    "known_labels": int(known.sum()),
                    "macro_f1": macro_f1(true, prob >= 0.5),
                    "macro_ap": mean_average_precision(true, prob)})  # fmt: skip
        if r == rounds or (~case.test & ~labelled).sum() == 0:
            break
        for w, j in next_windows(case, score, labelled, how, rng):
            review(case, y, known, w, j)
            labelled[w] = True
    return out


def summarise(runs: dict[str, list[list[dict]]]) -> list[dict]:
    """Per round: mean and standard deviation over seeds of each metric, per strategy."""
    rows = []
    n_rounds = min(len(r) for seeds in runs.values() for r in seeds)
    for k in range(n_rounds):
        row = {"round": k}
        for how, seeds in runs.items():
            for metric in ("macro_f1", "macro_ap", "labelled_windows"):
                values = [s[k][metric] for s in seeds]
                row[f"{how}_{metric}"] = float(np.mean(values))
                row[f"{how}_{metric}_sd"] = float(np.std(values))
        row["suggest_beats_random_f1"] = row["suggest_macro_f1"] > row["random_macro_f1"]
        row["suggest_beats_random_ap"] = row["suggest_macro_ap"] > row["random_macro_ap"]
        rows.append(row)
    return rows


def plot(results: dict, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cases = list(results)
    fig, axes = plt.subplots(len(cases), 2, figsize=(9, 3.2 * len(cases)), squeeze=False)
    for row, case in zip(axes, cases, strict=True):
        table = results[case]["rounds"]
        for ax, metric, label in zip(
            row, ("macro_f1", "macro_ap"), ("macro F1", "macro AP"), strict=True
        ):
            for how, colour in (("suggest", "#1f77b4"), ("random", "#999999")):
                x = [t[f"{how}_labelled_windows"] for t in table]
                m = np.array([t[f"{how}_{metric}"] for t in table]) * 100
                sd = np.array([t[f"{how}_{metric}_sd"] for t in table]) * 100
                ax.plot(x, m, "o-", color=colour, label=how)
                ax.fill_between(x, np.clip(m - sd, 0, 100), np.clip(m + sd, 0, 100), color=colour,
                                alpha=0.15)  # fmt: skip
            ax.set_title(f"{case}: test {label}")
            ax.set_xlabel("windows labelled")
            ax.set_ylabel(f"{label} (%)")
            ax.grid(alpha=0.3)
            ax.legend()
    fig.tight_layout()
    fig.savefig(out, dpi=110)


def ensure_embeddings(cores: int) -> None:
    """The review-loop demo's embeddings, by the workflow's own stage (snakemake)."""
    index = REPO / "results/agile-loop/embedding_index.parquet"
    if index.is_file():
        return
    subprocess.run([sys.executable, "-m", "snakemake", "embedding_index", "--cores", str(cores),
                    "--configfile", "config/config.yaml", "config/agile-loop.yaml"],
                   cwd=REPO, check=True)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--real-dir", default=str(REPO.parent / "shared/data/real"))
    parser.add_argument("--out", default=str(REPO / "benchmarks/results/review_loop.json"))
    parser.add_argument("--figure", default=str(REPO / "docs/images/review-loop.png"))
    args = parser.parse_args()
    import yaml

    started = time.time()
    ensure_embeddings(args.cores)
    codes = [
        s["code"] for s in yaml.safe_load((REPO / "config/config.yaml").read_text())["species"]
    ]
    cases = [
        synthetic_case(
            REPO / "results/agile-loop", REPO / "data/synthetic-agile/dataset.json", codes
        )
    ]
    if Path(args.real_dir).is_dir():
        cases.append(real_case(Path(args.real_dir)))
    results = {}
    for case in cases:
        runs = {how: [run_loop(case, how, args.rounds, s) for s in range(args.seeds)]
                for how in ("suggest", "random")}  # fmt: skip
        rounds = summarise(runs)
        every = {m: all(r[f"suggest_beats_random_{m}"] for r in rounds[1:]) for m in ("f1", "ap")}
        results[case.name] = {
            "windows": int(len(case.truth)), "test_windows": int(case.test.sum()),
            "pool_windows": int((~case.test).sum()), "classes": case.classes,
            "rounds": rounds, "per_seed": runs,
            "suggest_beats_random_every_round_f1": every["f1"],
            "suggest_beats_random_every_round_ap": every["ap"],
        }  # fmt: skip
        for r in rounds:
            metrics = [f"{h}_{k}" for h in ("suggest", "random") for k in ("macro_f1", "macro_ap")]
            pct = {k: 100 * r[k] for k in metrics}
            print(f"{case.name} round {r['round']} ({r['suggest_labelled_windows']:.0f} windows): "
                  + ", ".join(f"{k} {v:.1f}" for k, v in pct.items()))  # fmt: skip
    from workflow_run import cpu_name

    record = {
        "command": "benchmarks/review_loop.py " + " ".join(sys.argv[1:]),
        "date": time.strftime("%Y-%m-%d"), "cpu": cpu_name(),
        "avx512_bf16": "avx512_bf16" in Path("/proc/cpuinfo").read_text(), "seeds": args.seeds,
        "rounds": args.rounds, "per_round": PER_ROUND,
        "strategy": "suggest: uncertainty 1 + diversity 1 at threshold 0.5; random: uniform",
        "seconds": round(time.time() - started, 1), "cases": results,
    }  # fmt: skip
    Path(args.out).write_text(json.dumps(record, indent=2))
    plot(results, Path(args.figure))
    print(f"wrote {args.out} and {args.figure}")


if __name__ == "__main__":
    main()
