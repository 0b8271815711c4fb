"""Rule synthesize_dataset: write the synthetic AnuraSet-like raw recordings and labels."""

from anuraflow.core.fileio import redirect_output
from anuraflow.simulate.writer import write_dataset

sm = snakemake  # noqa: F821 (injected by Snakemake)
with redirect_output(sm.log[0]):
    # the config's `synthetic` keys are write_dataset's keyword arguments
    write_dataset(
        sm.params.out_dir,
        sm.params.codes,
        **sm.params.synthetic,
        listing_path=sm.output.listing,
        threads=sm.threads,
    )
