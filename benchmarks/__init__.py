"""The benchmarks, grouped by the question they answer (benchmarks/README.md):

- `harness/`: what they share (machine, result paths, the real workflow run);
- `speed/`: how fast and how big (throughput, wall time, peak memory);
- `science/`: whether a method claim holds (coverage, bias, paired tests over seeds);
- `peers/`: anuraflow against OpenSoundscape and BirdNET-Analyzer in one run.

Each runs from the repository root as a module, e.g. `.venv/bin/python -m
benchmarks.speed.data_path`, and writes benchmarks/results/<benchmark>/<machine>.json."""
