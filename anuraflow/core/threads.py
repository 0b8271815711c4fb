"""Threads of the jobs that run inside Snakemake's own process (`run:` blocks)."""


def one_torch_thread() -> None:
    """Pin torch to one thread (per calling thread under OpenMP): the rules declare
    `threads: 1`, and several such jobs share Snakemake's process."""
    import torch

    torch.set_num_threads(1)
