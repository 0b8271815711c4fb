"""Synthetic data with known truth, for the demo, the tests and the benchmarks: each species'
voice, the plan of recordings (uniform or AnuraSet-like), every call's time and label, and the
writer of the audio, label files and noise. It sits above `anuraflow.data` and reads windows the
way the workflow makes them; nothing in the workflow's chain imports it except the synthetic
source."""
