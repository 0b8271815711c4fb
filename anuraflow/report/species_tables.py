"""Per-species tables: precision, recall, F1 (+/- std over seeds), AP, AUROC and support of
every species, greyed where the species is absent from test."""

from __future__ import annotations

import numpy as np
import pandas as pd

from anuraflow.report.figures import metric_value
from anuraflow.report.run_tables import mean_std


def species_tables(runs: list[dict], order: list[str], groups: dict[str, str]) -> list[dict]:
    """Per experiment, per species: precision, recall, F1 (mean ± std over runs), AP, AUROC,
    support;
    a species absent from the test split is marked, with dashes for what it cannot have."""
    out = []
    for exp in dict.fromkeys(r["experiment"] for r in runs):
        mine = [r for r in runs if r["experiment"] == exp]
        rows = []
        for c in order:
            scores = [r["per_species"][c] for r in mine if c in r["per_species"]]
            if not scores:
                continue  # not a species of this experiment (e.g. AnuraSet-36N)

            def values(key, scores=scores):
                return np.array([metric_value(s.get(key)) for s in scores], dtype=float)

            support = values("support")
            if support.sum() == 0:
                cells = [c, groups.get(c, ""), "-", "-", "-", "-", "-", 0, "absent from test"]
                rows.append({"cells": cells, "css": "absent"})
                continue
            f1 = values("f1") * 100
            ap = values("ap") * 100
            roc = values("auroc") * 100
            cells = [
                c,
                groups.get(c, ""),
                f"{np.nanmean(values('precision')) * 100:.1f}",
                f"{np.nanmean(values('recall')) * 100:.1f}",
                mean_std(f1.mean(), f1.std(ddof=1) if len(f1) > 1 else np.nan),
                f"{np.nanmean(ap):.1f}" if not np.isnan(ap).all() else "-",
                f"{np.nanmean(roc):.1f}" if not np.isnan(roc).all() else "-",
                f"{support.mean():g}",
                "F1 = 0" if f1.max() == 0 else "",
            ]
            rows.append({"cells": cells})
        header = ["species", "group", "precision", "recall", "F1", "AP", "AUROC", "support", "note"]
        out.append({"name": f"{exp} ({len(mine)} runs)", "header": header, "rows": rows})
    return out


def species_table_tsv(tables: list[dict]) -> str:
    """The per-species tables (`species_tables`) as one TSV (experiment, species, ...; %)."""
    rows = []
    for t in tables:
        for row in t["rows"]:
            rows.append([t["name"].rsplit(" (", 1)[0], *row["cells"]])
    columns = [
        "experiment",
        "species",
        "group",
        "precision",
        "recall",
        "f1",
        "ap",
        "auroc",
        "support",
        "note",
    ]
    return pd.DataFrame(rows, columns=columns).to_csv(sep="\t", index=False)
