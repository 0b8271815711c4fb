"""Rule train_model: train one experiment config with one seed (and fold)."""

from anuraflow.core.fileio import redirect_output
from anuraflow.learn.run import RunInputs, RunOutputs, RunSpec, train_experiment

sm = snakemake  # noqa: F821 (injected by Snakemake)
with redirect_output(sm.log[0]):
    train_experiment(
        RunInputs(
            windows=sm.input.windows,
            splits=sm.input.splits,
            feature_index=sm.input.feature_index,
            manifest=sm.input.manifest,
            noise_bank=sm.input.noise[0] if sm.input.noise else None,
            encoder=sm.input.encoder[0] if sm.input.encoder else None,
            folds=sm.input.get("folds"),
            fold_holds_out=sm.params.fold_holds_out,
        ),
        RunOutputs(**{k: sm.output[k] for k in RunOutputs.__dataclass_fields__}),
        RunSpec(
            experiment=sm.params.experiment,
            seed=int(sm.wildcards.seed),
            species_entries=sm.params.species,
            group_thresholds=sm.params.groups,
            window_s=sm.params.window_s,
            fold=int(sm.wildcards.fold) if "fold" in sm.wildcards.keys() else None,
        ),
        threads=sm.threads,
        resume_path=sm.params.resume,
        config=sm.config,
    )
