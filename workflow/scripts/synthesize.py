"""Rule synthesize_dataset: write the synthetic AnuraSet-like raw recordings and labels."""

from anuraflow.fileio import redirect_output
from anuraflow.synthetic import write_dataset

syn = snakemake.params.synthetic  # noqa: F821 (injected by Snakemake)
with redirect_output(snakemake.log[0]):  # noqa: F821
    write_dataset(
        snakemake.params.out_dir,  # noqa: F821
        snakemake.params.codes,  # noqa: F821
        syn["n_recordings"],
        syn["seed"],
        duration_s=syn["duration_s"],
        sites=syn.get("sites"),
        sample_rate=syn["sample_rate"],
        snr_db=tuple(syn["snr_db"]),
        format_variety=syn["format_variety"],
        min_recordings_per_species=syn["min_recordings_per_species"],
        prevalence=syn.get("prevalence"),
    )
