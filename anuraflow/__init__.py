"""anuraflow: the science behind the anuraflow Snakemake workflow.

One module per idea: audio IO (`audio`), recording discovery (`recordings`), annotation
formats (`annotations`), species tables (`species`), synthetic data (`synthetic`), windows
(`windows`), splits (`splits`), features (`features`), models (`models`), augmentation
(`augment`), training (`training`), metrics (`metrics`) and the report (`report`).
"""

__version__ = "0.1.0"
