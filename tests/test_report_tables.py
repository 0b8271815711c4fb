"""The report's tables from hand-made runs: absent species marked, the paper quoted in the
all-species columns, every row as wide as its header."""

import numpy as np

from anuraflow.report.evaluation_sections import FIGURES
from anuraflow.report.render import render_report
from anuraflow.report.run_tables import metrics_table, paper_tables
from anuraflow.report.species_tables import species_tables


def _run(seed: int, f1_a: float) -> dict:
    return {
        "experiment": "t1_mix2",
        "seed": seed,
        "task": "multilabel",
        "macro_f1": {"all": f1_a, "frequent": f1_a, "common": None, "rare": None},
        "macro_f1_all_species": {"all": f1_a / 2, "frequent": f1_a, "common": None, "rare": 0.0},
        "weighted_f1": f1_a,
        "map": 0.9,
        "per_species": {
            "A": {"precision": 1.0, "recall": f1_a, "f1": f1_a, "support": 4, "ap": 0.9},
            "B": {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0, "ap": None},
        },
        "settings": {
            "report": {
                "table": "Table I",
                "row": "Mix2",
                "published": {"frequent": 89.2, "common": 77.1, "rare": 51.8, "all": 60.8},
            }
        },
    }


def test_tables_mark_absent_species_and_quote_the_paper_as_all_species():
    runs = [_run(0, 0.5), _run(1, 0.7)]
    summary = metrics_table(runs)
    assert summary.loc[0, "all_mean"] == 60.0 and summary.loc[0, "all_allsp_mean"] == 30.0
    assert np.isclose(summary.loc[0, "all_std"], np.std([50, 70], ddof=1))
    (table,) = paper_tables(summary)
    labels = [h["label"] for h in table["header"]]
    ours, published = table["rows"][0]["cells"], table["rows"][1]["cells"]
    assert published[0].startswith("published") and table["rows"][1]["css"] == "published"
    assert published[labels.index("All, all sp.")] == "60.8"
    assert published[labels.index("All (macro F1)")] == ""  # never in the active columns
    assert ours[labels.index("All (macro F1)")] == "60.0 ± 14.1"
    assert all(len(r["cells"]) == len(labels) for r in table["rows"])
    (species,) = species_tables(runs, ["A", "B"], {"A": "frequent", "B": "rare"})
    a, b = species["rows"]
    assert a["cells"][4] == "60.0 ± 14.1" and a["cells"][-1] == ""
    assert b["css"] == "absent" and b["cells"][-1] == "absent from test"
    assert all(len(r["cells"]) == len(species["header"]) for r in species["rows"])


def test_template_escapes_what_it_is_given():
    table = {"header": ["<b>"], "rows": [{"cells": ["<script>alert(1)</script>"]}]}
    context = {
        "title": "<i>t</i>",
        "contents": [],
        "validation": None,
        "occupancy": None,
        "images": dict.fromkeys(
            ("frequency", "per_species", "polyphony", "curves", "tsne", "model_size", *FIGURES),
            "",
        ),
        "paper_tables": [],
        "species_tables": [],
        "embedding_table": table,
        "ttest_table": None,
        "run_table": table,
        "overrides": {"<model>": "<script>x</script>"},
        "embedding_runs": ["<probe>"],
        "finetuned_runs": ["<tuned>"],
        "data": {"recordings": 1, "hours": "0.01", "windows": 1, "empty": 0,
                 "sites": "<img src=x> (1)"},
        "subset_table": table,
        "split_origin": "",
        "species_from_labels": True,
        "split_targets": "",
        "split_method": "stratified",
        "balance_table": table,
        "species_table": table,
        "checks": {"used": 1, "total": 1, "remarks": [], "skipped": [], "lists": []},
        "provenance_json": "{}",
        "provenance_tables": [
            {"name": "Configuration", "header": ["key", "value"], "rows": [{"cells": ["<k>", "1"]}]}
        ],
        "checksum_table": table,
        "best_run": "<b>run</b>",
        "interval_table": table,
        "paired_table": None,
        "site_table": table,
        "optimism_table": None,
        "bootstrap": {"n_boot": 10, "seed": 0},
        "gallery": [
            {
                "code": "<A>",
                "kinds": [
                    {
                        "kind": "false positive",
                        "entries": [
                            {
                                "window_id": "<w>",
                                "score": 0.9,
                                "audio": "review/a.wav",
                                "thumbnail": "",
                            }
                        ],
                    }
                ],
            }
        ],  # fmt: skip
        "review_k": 5,
    }
    html = render_report(context)
    assert "<script>alert" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<title>&lt;i&gt;t&lt;/i&gt;</title>" in html
    assert "<code>&lt;model&gt;: &lt;script&gt;x&lt;/script&gt;</code>" in html
    assert "<b>&lt;probe&gt;</b> is a probe" in html and "CC BY-NC-SA 4.0" in html
    assert "<b>&lt;tuned&gt;</b> fine-tunes" in html
    assert "their recordings: &lt;img src=x&gt; (1)." in html  # a site is the user's text


def test_provenance_tables_flatten_the_config():
    from anuraflow.report.data_tables import provenance_tables

    prov = {
        "anuraflow": "0.1.0",
        "git": {"commit": "abc", "dirty": False},
        "versions": {"torch": "2.11.0", "onnx": None},
        "config": {"split": {"seed": 0, "method": "by_site"}, "experiments": ["a", "b"]},
        "config_sha256": "f00",
    }
    workflow, software, config = provenance_tables(prov)
    assert ["git commit", "abc"] in [r["cells"] for r in workflow["rows"]]
    assert ["onnx", "not installed"] in [r["cells"] for r in software["rows"]]
    assert [r["cells"] for r in config["rows"]] == [
        ["split.seed", "0"],
        ["split.method", '"by_site"'],
        ["experiments", '["a", "b"]'],
    ]


def test_recordings_holding_each_species_by_hand():
    import pandas as pd

    from anuraflow.report.data_tables import recordings_holding

    windows = pd.DataFrame({
        "recording_id": ["r1", "r1", "r2", "r3"],
        "A": [1, 1, 0, 1],  # in r1 (twice) and r3
        "B": [0, 0, 0, 0],  # in none
    })  # fmt: skip
    assert recordings_holding(windows, ["A", "B"]).to_dict() == {"A": 2, "B": 0}
    assert recordings_holding(windows, ["A"]).to_dict() == {"A": 2}  # one species
    assert recordings_holding(windows.iloc[:0], ["A", "B"]).to_dict() == {"A": 0, "B": 0}


def test_the_tsne_maps_each_experiments_best_run_from_its_saved_embeddings(tmp_path):
    """embedding_sample keeps the first one-species test windows (with their species);
    attach_tsne maps only each experiment's best run on validation; a run with fewer than 5
    such windows gets an empty map, and the figure is still drawn."""
    import pandas as pd

    from anuraflow.evaluate.scoring import embedding_sample
    from anuraflow.report.embedding_maps import attach_tsne, best_runs
    from anuraflow.report.figures import plot_tsne

    codes = ["AAA", "BBB"]
    rng = np.random.default_rng(0)
    true = np.array([[1, 0], [0, 1], [1, 1], [0, 0]] * 10)  # 20 windows of one species
    windows = pd.DataFrame({"window_id": [f"w{i}" for i in range(len(true))]})
    emb = rng.normal(size=(len(true), 8)) + 3 * true[:, :1]
    sample = embedding_sample(windows, true, emb, codes, max_windows=12)
    assert sample["window_id"].tolist() == [f"w{i}" for i in range(40) if i % 4 < 2][:12]
    assert sample["species"].tolist() == ["AAA", "BBB"] * 6
    np.testing.assert_array_equal(sample[[f"e{j}" for j in range(8)]], emb[[0, 1, 4, 5, 8, 9,
                                  12, 13, 16, 17, 20, 21]].astype(np.float32))  # fmt: skip
    nobody = embedding_sample(windows[:4], np.array([[1, 1], [0, 0]] * 2), emb[:4], codes)
    assert len(nobody) == 0 and list(nobody.columns)[:3] == ["window_id", "species", "e0"]
    assert embedding_sample(windows[:0], true[:0], emb[:0], codes).shape == (0, 10)
    paths, runs = [], []
    for i, (name, f1, n) in enumerate([("x", 0.5, 12), ("x", 0.7, 12), ("y", 0.2, 3)]):
        paths.append(tmp_path / f"run{i}.parquet")
        embedding_sample(windows, true, emb, codes, max_windows=n).to_parquet(paths[-1])
        runs.append({"experiment": name, "seed": i, "best_val_macro_f1": f1, "codes": codes})
    assert best_runs(runs) == {"x": 1, "y": 2}
    attach_tsne(runs, paths)
    assert "tsne" not in runs[0] and len(runs[1]["tsne"]["x"]) == 12
    assert sorted(set(runs[1]["tsne"]["class"])) == [0, 1]
    assert runs[2]["tsne"] == {"x": [], "y": [], "class": []}  # 3 windows: too few to map
    plot_tsne(runs, tmp_path / "tsne.png")
    assert (tmp_path / "tsne.png").stat().st_size > 0


def test_the_sites_sentence_counts_the_recordings_at_each_site():
    import pandas as pd

    from anuraflow.report.page import sites_text

    used = pd.DataFrame({"site": ["moth02", "moth01", "moth02", "Poço"]})
    assert sites_text(used) == "Poço (1), moth01 (1), moth02 (2)"
