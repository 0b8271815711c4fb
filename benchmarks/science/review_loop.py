"""Benchmark: which windows teach a probe most when a reviewer labels them, round after round?

A simulated reviewer answers from ground truth. Start from a handful of examples (one pool
window of each species, every label known), then each round label 20 windows chosen by a
strategy, retrain a linear probe on the BirdNET V2.4 embeddings of everything labelled so far
(masked BCE: only the labels the reviewer gave count; normalised by the workflow's own
`EmbeddingFrontend` with the statistics of the training recordings' windows), tune each
species' threshold on the validation windows (`tune_thresholds`, as the workflow does) and
score the test windows: macro AP, macro F1 at the tuned thresholds (and at 0.5, for
reference), over the species present in the test windows.

The strategies, each in the same run with the same seeds, handful and probe initialisation:
- suggest: `anuraflow.detect.suggest.choose_windows` at the workflow's defaults (`Strategy()`:
  the score alone; `per_species` = ceil(20 / species));
- suggest_diverse: score 1 + diversity 0.5;
- suggest_before: the defaults before this benchmark was made fair (uncertainty 1 + diversity
  1 around the tuned thresholds);
- uncertainty: the uncertainty term alone; diversity: the diversity term alone (k-centre);
- top_score: each species' highest-scoring windows in turns (BirdNET-Analyzer's review and
  Perch's agile-modelling notebooks start this way);
- random_all: uniform random windows, every species answered;
- random_least_sure: uniform random windows, asking the species the probe is least sure of;
- random_species: uniform random windows asking a random species (the earlier baseline).
For a window the reviewer answers the species asked and marks every species truly present
(the labelling page's species list); the other absent species stay unknown, except for
random_all. `known_labels` counts the labels the probe trains on.

Two cases:
- synthetic: the review-loop demo's 48 recordings (config/config.yaml + config/agile-loop.yaml;
  their embeddings from the workflow's own stage, run here when missing), true labels from
  every recording's label file (the 20 unlabelled ones' from truth/). Per seed, a
  recording-level split: test (a third of the recordings), validation (a sixth), the pool (the
  rest), redrawn until every species is present in each.
- real: the three field recordings of ../shared/data/real; a window's class is the recording
  it comes from (1min.wav: a dawn chorus, great_plains_toad.wav, rugr_drum.wav: a ruffed
  grouse drumming), a proxy for a sound type, not species labels. Each recording's last third
  is test and the sixth before it validation (recordings of 20 windows or more), two windows'
  gap between parts; the same split for every seed. Its pool runs out after 3 rounds.

Per round, suggest is compared with each baseline by the exact Wilcoxon signed-rank test over
the seeds (paired: same seed, same split and handful), Holm-adjusted over the rounds; and the
same at equal known labels (each seed's curve interpolated at a common grid).

    .venv/bin/python -m benchmarks.science.review_loop --seeds 20 --rounds 8
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from anuraflow.detect.suggest import Strategy, choose_windows, uncertainty
from anuraflow.evaluate.metrics import macro_f1, mean_average_precision
from anuraflow.evaluate.stats import holm, wilcoxon_signed_rank
from anuraflow.evaluate.thresholds import threshold_vector, tune_thresholds
from anuraflow.features.embeddings import EmbeddingConfig
from anuraflow.features.frontend import EmbeddingFrontend, FrameStatistics
from anuraflow.learn.probes import fit_probe
from benchmarks.harness import REPO, cpu_flags, cpu_name, result_path

PER_ROUND = 20
FALLBACK_THRESHOLD = 0.5  # the demo experiment's fixed threshold (emb_birdnet_linear)
POOL, GAP, VAL, TEST = 0, 1, 2, 3
STRATEGIES = ("suggest", "suggest_diverse", "suggest_before", "uncertainty", "diversity",
              "top_score", "random_all", "random_least_sure", "random_species")  # fmt: skip
TUNING_SEED = 100  # the defaults were chosen on seeds 100.. (synthetic), reported on 0..
METRICS = ("macro_ap", "macro_f1_tuned", "macro_f1_05")
TESTED = ("macro_ap", "macro_f1_tuned")  # the paired tests' metrics


@dataclass
class Case:
    name: str
    embeddings: np.ndarray  # [n, 1024]
    truth: np.ndarray  # [n, classes] 0/1
    recordings: np.ndarray  # [n] str
    classes: list[str]
    features: EmbeddingConfig  # the caches' embedding settings (for the frontend)
    split: Callable[[int], np.ndarray]  # seed -> [n] POOL | GAP | VAL | TEST


def recording_split(recordings: np.ndarray, truth: np.ndarray, seed: int) -> np.ndarray:
    """Per window: TEST for a third of the recordings, VAL for a sixth, POOL for the rest,
    drawn (seeded) until every species is present in each part."""
    names = np.unique(recordings)
    present = np.array([truth[recordings == r].any(axis=0) for r in names])
    rng = np.random.default_rng([seed, 7])
    for _ in range(10_000):
        order = rng.permutation(len(names))
        n_test, n_val = len(names) // 3, len(names) // 6
        parts = np.full(len(names), POOL)
        parts[order[:n_test]], parts[order[n_test : n_test + n_val]] = TEST, VAL
        if all(present[parts == p].any(axis=0).all() for p in (POOL, VAL, TEST)):
            return parts[np.searchsorted(names, recordings)]
    raise ValueError("no recording-level split puts every species in pool, validation and test")


def synthetic_case(results: Path, listing: Path, codes: list[str]) -> Case:
    """The demo's windows: embeddings from the workflow's caches, truth from label files."""
    from anuraflow.data.audacity import parse_audacity_labels
    from anuraflow.data.windows import window_labels
    from anuraflow.features.embeddings import embedding_config, read_embedding_cache

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
    recs, truth = np.array(recs), np.concatenate(truth)
    split = lambda seed: recording_split(recs, truth, seed)  # noqa: E731
    return Case("synthetic", np.concatenate(emb), truth, recs, list(codes),
                embedding_config(meta), split)  # fmt: skip


def within_recording_parts(n: int) -> np.ndarray:
    """One recording's windows: pool, gap, validation (a sixth, from 20 windows), gap, test
    (the last third); a gap of two windows keeps overlapping windows out of both sides."""
    part = np.full(n, POOL)
    cut = int(round(n * 2 / 3))
    part[cut : cut + 2], part[cut + 2 :] = GAP, TEST
    n_val = n // 6 if n >= 20 else 0
    if n_val:
        part[cut - n_val - 2 : cut - n_val], part[cut - n_val : cut] = GAP, VAL
    return part


def real_case(real_dir: Path) -> Case:
    """The three real recordings, embedded here by the workflow's embedder; class = file."""
    import soundfile as sf

    from anuraflow.data.windows import window_starts
    from anuraflow.features.birdnet import BirdNetEmbedder, check_embedding_model
    from anuraflow.features.embeddings import embed_recording

    files = ["1min.wav", "great_plains_toad.wav", "rugr_drum.wav"]
    embedder = BirdNetEmbedder(str(check_embedding_model()), 2)
    config = EmbeddingConfig()
    emb, truth, recs, parts = [], [], [], []
    for k, name in enumerate(files):
        starts = window_starts(sf.info(str(real_dir / name)).duration, 3.0, 1.0)
        emb.append(embed_recording(real_dir / name, starts, embedder, config))
        t = np.zeros((len(starts), len(files)), np.uint8)
        t[:, k] = 1
        truth.append(t)
        recs += [name] * len(starts)
        parts.append(within_recording_parts(len(starts)))
    part = np.concatenate(parts)
    classes = ["dawn_chorus", "great_plains_toad", "ruffed_grouse"]
    return Case("real", np.concatenate(emb), np.concatenate(truth), np.array(recs), classes,
                config, lambda seed: part)  # fmt: skip


def review(case: Case, y, known, window: int, asked: int | None) -> None:
    """The simulated reviewer: answers the asked species (every species when `asked` is
    None) and marks every species present."""
    if asked is None:
        y[window], known[window] = case.truth[window], 1
        return
    y[window, asked], known[window, asked] = case.truth[window, asked], 1
    present = case.truth[window] > 0
    y[window, present], known[window, present] = 1, 1


def starting_examples(case: Case, pool: np.ndarray, rng) -> np.ndarray:
    """A handful: one pool window of each class that has one, every label known."""
    idx = np.flatnonzero(pool)
    start = [rng.choice(idx[case.truth[idx, j] > 0]) for j in range(case.truth.shape[1])
             if case.truth[idx, j].any()]  # fmt: skip
    return np.unique(start)


@dataclass
class Round:
    """What a strategy sees when it chooses: the free windows' scores and embeddings."""

    free: np.ndarray  # indices of the pool windows not labelled yet
    prob: np.ndarray  # [len(free), classes] the probe's scores
    thresholds: np.ndarray  # [classes] tuned on validation
    embeddings: np.ndarray  # [len(free), dim]
    labelled: np.ndarray  # [k, dim] embeddings of the labelled windows
    n: int  # windows to choose
    rng: np.random.Generator


def by_terms(strategy: Strategy) -> Callable[[Round], list]:
    """`choose_windows` with this strategy's weights (its budget: ceil(20 / species))."""

    def choose(r: Round) -> list[tuple[int, int | None]]:
        per_species = math.ceil(PER_ROUND / r.prob.shape[1])
        chosen = choose_windows(r.prob, r.thresholds, r.embeddings, r.labelled,
                                replace(strategy, per_species=per_species))  # fmt: skip
        pairs = zip(chosen["position"][: r.n], chosen["species"][: r.n], strict=True)
        return [(int(r.free[p]), int(j)) for p, j in pairs]

    return choose


def top_score(r: Round) -> list[tuple[int, int | None]]:
    """Each species' highest-scoring free window, in turns, asking that species."""
    taken = np.zeros(len(r.free), dtype=bool)
    out: list[tuple[int, int | None]] = []
    while len(out) < r.n:
        for j in range(r.prob.shape[1]):
            if len(out) == r.n:
                break
            p = int(np.argmax(np.where(taken, -np.inf, r.prob[:, j])))
            taken[p] = True
            out.append((int(r.free[p]), j))
    return out


def random_windows(ask: str) -> Callable[[Round], list]:
    """Uniform random windows, asking every species (`all`), the one the probe is least sure
    of (`least_sure`, at the tuned thresholds) or a random one (`species`)."""

    def choose(r: Round) -> list[tuple[int, int | None]]:
        picks = r.rng.choice(len(r.free), r.n, replace=False)
        if ask == "all":
            return [(int(r.free[p]), None) for p in picks]
        if ask == "least_sure":
            unsure = uncertainty(r.prob[picks], r.thresholds)
            return [(int(r.free[p]), int(np.argmax(u))) for p, u in zip(picks, unsure, strict=True)]
        return [(int(r.free[p]), int(r.rng.integers(r.prob.shape[1]))) for p in picks]

    return choose


CHOOSERS = {
    "suggest": by_terms(Strategy()), "suggest_diverse": by_terms(Strategy(5, 0.0, 0.5)),
    "suggest_before": by_terms(Strategy(5, 1.0, 1.0, 0.0, 0.0)),
    "uncertainty": by_terms(Strategy(5, 1.0, 0.0, 0.0, 0.0)),
    "diversity": by_terms(Strategy(5, 0.0, 1.0, 0.0, 0.0)), "top_score": top_score,
    "random_all": random_windows("all"), "random_least_sure": random_windows("least_sure"),
    "random_species": random_windows("species"),
}  # fmt: skip


def probe_frontend(case: Case, train: np.ndarray, labelled: np.ndarray) -> EmbeddingFrontend:
    """The workflow's normalisation: per dimension, over every training window of the
    recordings that have a labelled window (`build_embedding_bank`'s training recordings)."""
    stats = FrameStatistics()
    for rec in np.unique(case.recordings[labelled]):
        stats.add(case.embeddings[train & (case.recordings == rec)])
    return EmbeddingFrontend.from_statistics(case.features, case.features.window_s, "dataset",
                                             stats)  # fmt: skip


def evaluate(case: Case, part: np.ndarray, score) -> tuple[dict, np.ndarray]:
    """Test metrics at 0.5 and at the thresholds tuned on validation; the thresholds."""
    val, test = part == VAL, part == TEST
    tuned = tune_thresholds(case.truth[val], score(case.embeddings[val]), case.classes,
                            FALLBACK_THRESHOLD)  # fmt: skip
    thresholds = threshold_vector(tuned, case.classes)
    prob, true = score(case.embeddings[test]), case.truth[test]
    return {"macro_ap": mean_average_precision(true, prob),
            "macro_f1_tuned": macro_f1(true, prob >= thresholds[None, :]),
            "macro_f1_05": macro_f1(true, prob >= 0.5)}, thresholds  # fmt: skip


def run_loop(case: Case, how: str, rounds: int, seed: int) -> list[dict]:
    """One strategy's rounds on one seed: per round the labelled windows, known labels and
    test metrics."""
    part = case.split(seed)
    pool = part == POOL
    rng = np.random.default_rng([seed, list(CHOOSERS).index(how)])
    y = np.zeros_like(case.truth, dtype=np.float32)
    known = np.zeros_like(y)
    labelled = np.zeros(len(y), dtype=bool)
    for w in starting_examples(case, pool, np.random.default_rng(seed)):
        y[w], known[w], labelled[w] = case.truth[w], 1, True
    out = []
    for r in range(rounds + 1):
        frontend = probe_frontend(case, pool, labelled)
        score = fit_probe(case.embeddings[labelled], y[labelled], known[labelled], frontend,
                          seed=seed)  # fmt: skip
        metrics, thresholds = evaluate(case, part, score)
        out.append({"round": r, "labelled_windows": int(labelled.sum()),
                    "known_labels": int(known.sum()), **metrics})  # fmt: skip
        free = np.flatnonzero(pool & ~labelled)
        if r == rounds or len(free) == 0:
            break
        state = Round(free, score(case.embeddings[free]), thresholds, case.embeddings[free],
                      case.embeddings[labelled], min(PER_ROUND, len(free)), rng)  # fmt: skip
        for w, j in CHOOSERS[how](state):
            review(case, y, known, w, j)
            labelled[w] = True
    return out


def summarise(runs: dict[str, list[list[dict]]]) -> list[dict]:
    """Per round: mean and standard deviation over seeds of each figure, per strategy."""
    rows = []
    n_rounds = min(len(r) for seeds in runs.values() for r in seeds)
    for k in range(n_rounds):
        row = {"round": k}
        for how, seeds in runs.items():
            for metric in (*METRICS, "labelled_windows", "known_labels"):
                values = [s[k][metric] for s in seeds]
                row[f"{how}_{metric}"] = float(np.mean(values))
                row[f"{how}_{metric}_sd"] = float(np.std(values))
        rows.append(row)
    return rows


def paired_family(ours: np.ndarray, theirs: np.ndarray, points: list) -> list[dict]:
    """Wilcoxon per point ([seeds, points] arrays), Holm-adjusted over the points; a point is
    a significant win (loss) where the adjusted p < 0.05 and the median difference is > 0
    (< 0)."""
    tests = [wilcoxon_signed_rank(ours[:, k], theirs[:, k]) for k in range(len(points))]
    adjusted = holm([t["p"] for t in tests])
    out = []
    for at, t, p in zip(points, tests, adjusted, strict=True):
        sign = 0 if t["median_difference"] is None or p >= 0.05 else np.sign(t["median_difference"])
        verdict = {1: "win", -1: "loss", 0: "no significant difference"}[int(sign)]
        out.append({"at": at, **t, "p_holm": p, "verdict": verdict})
    return out


def metric_table(runs, how: str, metric: str, x: str | None = None, grid=None) -> np.ndarray:
    """[seeds, rounds] of a metric, or [seeds, grid] interpolated against column `x`."""
    if x is None:
        return np.array([[r[metric] for r in seed] for seed in runs[how]])
    return np.array([np.interp(grid, [r[x] for r in seed], [r[metric] for r in seed])
                     for seed in runs[how]])  # fmt: skip


def known_label_grid(runs, points: int = 8) -> list[float]:
    """Known-label counts every strategy reaches in every seed: from the handful's to the
    smallest last round's, `points` steps."""
    first = max(seed[0]["known_labels"] for seeds in runs.values() for seed in seeds)
    last = min(seed[-1]["known_labels"] for seeds in runs.values() for seed in seeds)
    return np.linspace(first, last, points + 1)[1:].round(1).tolist()


def paired_tests(runs: dict[str, list[list[dict]]]) -> dict:
    """suggest against each other strategy, per metric: per round (rounds 1 on) and at equal
    known labels."""
    n_rounds = min(len(r) for seeds in runs.values() for r in seeds)
    grid = known_label_grid(runs)
    out: dict = {"known_label_grid": grid, "by_round": {}, "by_known_labels": {}}
    for other in STRATEGIES[1:]:
        for metric in TESTED:
            key = f"{other}/{metric}"
            a, b = metric_table(runs, "suggest", metric), metric_table(runs, other, metric)
            out["by_round"][key] = paired_family(a[:, 1:n_rounds], b[:, 1:n_rounds],
                                                 list(range(1, n_rounds)))  # fmt: skip
            a = metric_table(runs, "suggest", metric, "known_labels", grid)
            b = metric_table(runs, other, metric, "known_labels", grid)
            out["by_known_labels"][key] = paired_family(a, b, grid)
    return out


COLOURS = {"suggest": "#1f77b4", "suggest_diverse": "#ff7f0e", "suggest_before": "#17becf",
           "uncertainty": "#2ca02c", "diversity": "#9467bd", "top_score": "#d62728",
           "random_all": "#7f7f7f", "random_least_sure": "#bcbd22",
           "random_species": "#c7c7c7"}  # fmt: skip


def plot(results: dict, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [(m, x) for m in ("macro_ap", "macro_f1_tuned")
              for x in ("labelled_windows", "known_labels")]  # fmt: skip
    names = {"macro_ap": "macro AP", "macro_f1_tuned": "macro F1 (tuned thresholds)",
             "labelled_windows": "windows labelled", "known_labels": "known labels"}  # fmt: skip
    fig, axes = plt.subplots(len(results), 4, figsize=(17, 3.6 * len(results)), squeeze=False)
    for row, (case, result) in zip(axes, results.items(), strict=True):
        table, same = result["rounds"], result["per_seed"]
        for ax, (metric, x) in zip(row, panels, strict=True):
            for how in STRATEGIES:
                xs = [t[f"{how}_{x}"] for t in table]
                m = np.array([t[f"{how}_{metric}"] for t in table]) * 100
                sd = np.array([t[f"{how}_{metric}_sd"] for t in table]) * 100
                label = how
                if how == "suggest" and same["suggest"] == same["top_score"]:
                    label = "suggest (= top_score, every seed)"
                ax.plot(xs, m, "o-" if how == "suggest" else ".-", color=COLOURS[how],
                        label=label, lw=2.2 if how == "suggest" else 1.2, ms=4,
                        zorder=3 if how == "suggest" else 2)  # fmt: skip
                if how == "suggest":
                    ax.fill_between(xs, np.clip(m - sd, 0, 100), np.clip(m + sd, 0, 100),
                                    color=COLOURS[how], alpha=0.15)  # fmt: skip
            ax.set_title(f"{case}: test {names[metric]}", fontsize=10)
            ax.set_xlabel(names[x])
            ax.set_ylabel("%")
            ax.grid(alpha=0.3)
        row[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out, dpi=100)


def ensure_embeddings(cores: int) -> None:
    """The review-loop demo's embeddings, by the workflow's own stage (snakemake)."""
    index = REPO / "results/agile-loop/embedding_index.parquet"
    if index.is_file():
        return
    subprocess.run([sys.executable, "-m", "snakemake", "embedding_index", "--cores", str(cores),
                    "--configfile", "config/config.yaml", "config/agile-loop.yaml"],
                   cwd=REPO, check=True)  # fmt: skip


# the mixes tried for suggest's defaults (weights: score, uncertainty, diversity)
CANDIDATES = {"score": (1.0, 0.0, 0.0), "score + diversity 0.1": (1.0, 0.0, 0.1),
              "score + diversity 0.25": (1.0, 0.0, 0.25), "score + diversity 0.5": (1.0, 0.0, 0.5),
              "score + diversity 1": (1.0, 0.0, 1.0),
              "score + uncertainty 0.25 + diversity 0.25": (1.0, 0.25, 0.25),
              "uncertainty 1 + diversity 1 (before)": (0.0, 1.0, 1.0)}  # fmt: skip


def tune(case: Case, seeds: int, rounds: int) -> dict:
    """Each candidate mix on seeds TUNING_SEED.. (other splits, handfuls and initialisations
    than the reported ones): per round, the mean macro AP and tuned macro F1."""
    out = {}
    for name, (w_score, w_unc, w_div) in CANDIDATES.items():
        CHOOSERS[name] = by_terms(Strategy(5, w_unc, w_div, 0.0, w_score))
        runs = [run_loop(case, name, rounds, TUNING_SEED + s) for s in range(seeds)]
        out[name] = {m: np.mean([[r[m] for r in run] for run in runs], axis=0).tolist()
                     for m in TESTED}  # fmt: skip
        print(f"tuning {name}: AP " + " ".join(f"{100 * v:.1f}" for v in out[name]["macro_ap"]),
              flush=True)  # fmt: skip
    return {"seeds": list(range(TUNING_SEED, TUNING_SEED + seeds)), "candidates": out}


def describe(case: Case, seeds: int) -> dict:
    """The case's size and each seed's split (windows per part, share of empty pool windows)."""
    parts = [case.split(s) for s in range(seeds)]
    empty = case.truth.sum(axis=1) == 0
    return {
        "windows": int(len(case.truth)), "classes": case.classes,
        "recordings": int(len(np.unique(case.recordings))),
        "empty_share_all_windows": float(empty.mean()),
        "empty_share_pool_mean": float(np.mean([empty[p == POOL].mean() for p in parts])),
        "splits": [{k: int((p == v).sum()) for k, v in
                    (("pool", POOL), ("validation", VAL), ("test", TEST))} for p in parts],
    }  # fmt: skip


def print_rounds(name: str, rounds: list[dict]) -> None:
    for r in rounds:
        cells = ", ".join(f"{h} {100 * r[f'{h}_macro_ap']:.1f}/{100 * r[f'{h}_macro_f1_tuned']:.1f}"
                          for h in STRATEGIES)  # fmt: skip
        print(f"{name} round {r['round']} (AP/F1 tuned): {cells}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument(
        "--tune-seeds",
        type=int,
        default=10,
        help="seeds of the defaults' tuning (synthetic case, seeds 100..)",
    )
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--real-dir", default=str(REPO.parent / "shared/data/real"))
    parser.add_argument("--out", default=str(result_path("review_loop")))
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
    tuning = tune(cases[0], args.tune_seeds, args.rounds) if args.tune_seeds else None
    results = {}
    for case in cases:
        runs = {how: [run_loop(case, how, args.rounds, s) for s in range(args.seeds)]
                for how in STRATEGIES}  # fmt: skip
        rounds = summarise(runs)
        print_rounds(case.name, rounds)
        results[case.name] = {**describe(case, args.seeds), "rounds": rounds,
                              "paired": paired_tests(runs), "per_seed": runs}  # fmt: skip
    record = {
        "command": "benchmarks/science/review_loop.py " + " ".join(sys.argv[1:]),
        "date": time.strftime("%Y-%m-%d"), "cpu": cpu_name(),
        "avx512_bf16": "avx512_bf16" in cpu_flags(), "seeds": args.seeds,
        "rounds": args.rounds, "per_round": PER_ROUND, "strategies": list(STRATEGIES),
        "test": "exact Wilcoxon signed-rank over seeds, suggest - baseline, Holm over the "
                "rounds (or known-label points) of each baseline and metric, 0.05",
        "seconds": round(time.time() - started, 1), "tuning": tuning, "cases": results,
    }  # fmt: skip
    Path(args.out).write_text(json.dumps(record, indent=1))
    plot(results, Path(args.figure))
    print(f"wrote {args.out} and {args.figure}")


if __name__ == "__main__":
    main()
