# anuraflow: raw recordings -> annotations -> windows -> splits -> features -> models -> report.
# Run from the repository root: `snakemake --cores 2` (see README.md).

from snakemake.utils import min_version

min_version("9.0")


# The demo config only when no --configfile is given: a user's config file stands alone (keys
# it leaves out take the schema's defaults, never the demo's values); --config values apply
# on top of either.
if not workflow.overwrite_configfiles:

    configfile: os.path.join(workflow.basedir, "config", "config.yaml")


report: "workflow/report/workflow.rst"


wildcard_constraints:
    recording=r"[^/]+",
    experiment=r"[A-Za-z0-9_.-]+",
    seed=r"\d+",
    fold=r"\d+",
    k=r"\d+",
    pretrain=r"[A-Za-z0-9_.-]+",


include: "rules/common.smk"
include: "rules/experiments.smk"
include: "rules/sources_directory.smk"
include: "rules/sources_reviews.smk"
include: "rules/sources_noise.smk"
include: "rules/sources.smk"
include: "rules/matrix.smk"
include: "rules/synthetic.smk"
include: "rules/release.smk"
include: "rules/ingest.smk"
include: "rules/annotations.smk"
include: "rules/segment.smk"
include: "rules/split.smk"
include: "rules/features.smk"
include: "rules/embeddings.smk"
include: "rules/waveforms.smk"
include: "rules/noise.smk"
include: "rules/pretrain.smk"
include: "rules/train.smk"
include: "rules/report.smk"
include: "rules/predict_setup.smk"
include: "rules/predict.smk"
include: "rules/search_setup.smk"
include: "rules/suggest_setup.smk"
include: "rules/search.smk"
include: "rules/suggest.smk"
include: "rules/validate_setup.smk"
include: "rules/validate.smk"
include: "rules/occupancy_setup.smk"
include: "rules/occupancy.smk"


rule all:
    input:
        f"{RESULTS}/report/report.html",
    default_target: True


# every run's model as ONNX (cross-validation folds are for estimates, not for use); `predict`
# exports the model it runs by itself
rule onnx:
    input:
        [f"{run_dir(n, None, s)}/model.onnx" for n, fold, s in RUNS if fold is None],
