"""Rule synthesize_noise: write the synthetic noise-bank recordings."""

from anuraflow.core.fileio import redirect_output
from anuraflow.simulate.noise import write_noise_recordings

sm = snakemake  # noqa: F821 (injected by Snakemake)
with redirect_output(sm.log[0]):
    write_noise_recordings(sm.params.out_dir, **sm.params.noise)
