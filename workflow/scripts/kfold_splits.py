"""Rule kfold_splits: k cross-validation folds of the train and validation recordings."""

from anuraflow.core.fileio import redirect_output
from anuraflow.data.splits import kfold_dataset

sm = snakemake  # noqa: F821 (injected by Snakemake)
with redirect_output(sm.log[0]):
    kfold_dataset(
        sm.input.windows,
        sm.input.splits,
        sm.output[0],
        sm.params.codes,
        int(sm.wildcards.k),
        sm.params.seed,
        ledger_path=sm.params.ledger,
    )
