"""anuraflow: the science behind the anuraflow Snakemake workflow.

Subpackages follow the workflow's chain (docs/development.md draws it):
`data` (recordings, labels, windows, splits) -> `features` (log-mels and the one frontend) ->
`learn` (models, mixing, losses, training runs) -> `evaluate` (metrics, thresholds, bootstrap)
-> `report`; `detect` runs a trained bundle on new recordings; `core` is what every stage
shares (atomic files, provenance, config checks).
"""

__version__ = "0.1.0"
