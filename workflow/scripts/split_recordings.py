"""Rule split_recordings: recording-level train / val / test -> splits.parquet."""

from anuraflow.core.fileio import redirect_output
from anuraflow.data.splits import split_dataset

sm = snakemake  # noqa: F821 (injected by Snakemake)
s = sm.params.split
with redirect_output(sm.log[0]):
    split_dataset(
        sm.input.windows,
        sm.output.splits,
        sm.params.codes,
        test_fraction=s["test_fraction"],
        val_fraction=s["val_fraction"],
        seed=s["seed"],
        ledger_path=sm.params.ledger,
        split_file=sm.params.split_file,
        balance_path=sm.output.balance,
        groups=sm.params.groups,
        grouping=sm.params.grouping,
        manifest_path=sm.input.manifest,
    )
