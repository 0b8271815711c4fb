"""Rule train_model: train one experiment config with one seed."""

from anuraflow.fileio import redirect_output
from anuraflow.training import train_experiment

sm = snakemake  # noqa: F821 (injected by Snakemake)
with redirect_output(sm.log[0]):
    train_experiment(
        sm.input.windows,
        sm.input.splits,
        sm.input.feature_index,
        sm.params.experiment,
        int(sm.wildcards.seed),
        sm.params.species,
        sm.params.groups,
        sm.params.window_s,
        out_model=sm.output.model,
        out_predictions=sm.output.predictions,
        out_metrics=sm.output.metrics,
        out_history=sm.output.history,
        noise_bank_path=sm.input.noise[0] if sm.input.noise else None,
        threads=sm.threads,
        resume_path=sm.params.resume,
        manifest_path=sm.input.manifest,
        config=sm.config,
        encoder_path=sm.input.encoder[0] if sm.input.encoder else None,
        folds_path=sm.input.get("folds"),
        fold=int(sm.wildcards.fold) if "fold" in sm.wildcards.keys() else None,
    )
