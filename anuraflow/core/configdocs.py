"""config/README.md from the JSON schemas: one table per schema, one row per key (dotted path,
type, default, description), so the reference never drifts from what is validated.

Regenerate with `.venv/bin/python -m anuraflow.core.configdocs > config/README.md`; a test checks
the file equals this output.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import yaml

SCHEMAS = {
    "config.schema.yaml": (
        "Workflow config (`config/config.yaml`, `--configfile`)",
        "The workflow's own settings. `config/config.yaml` (the demo) is used only when no "
        "`--configfile` is given; a config file stands alone (keys it leaves out take these "
        "defaults), and several files after one `--configfile` are merged, later ones winning.",
    ),
    "experiment.schema.yaml": (
        "Experiment files (`config/experiments/{name}.yaml`)",
        "One model and training recipe, trained once per seed; missing keys take the defaults "
        "of `anuraflow/learn/experiments.py`.",
    ),
    "pretrain.schema.yaml": (
        "Pretraining files (`config/pretrain/{name}.yaml`)",
        "Self-supervised pretraining of an encoder (seed 003), named by an experiment's "
        "`init.pretrain`.",
    ),
}


def schema_keys(schema: dict, prefix: str = "") -> Iterator[tuple[str, dict]]:
    """(dotted key, its schema) for every key, depth first; list items as `key[].sub`."""
    for name, sub in (schema.get("properties") or {}).items():
        key = prefix + name
        yield key, sub
        if "properties" in sub:
            yield from schema_keys(sub, key + ".")
        for alternative in (sub, *sub.get("oneOf", [])):  # a list, or one of several forms
            items = alternative.get("items")
            if isinstance(items, dict) and "properties" in items:
                yield from schema_keys(items, key + "[].")


def _type(sub: dict) -> str:
    if "enum" in sub:
        return " / ".join(f"`{v}`" for v in sub["enum"])
    if "const" in sub:
        return f"`{sub['const']}`"
    kind = sub.get("type", "")
    if "oneOf" in sub:
        kind = " or ".join(_type(o) for o in sub["oneOf"])
    return " or ".join(kind) if isinstance(kind, list) else str(kind)


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def schema_table(schema: dict) -> str:
    rows = ["| key | type | default | description |", "|---|---|---|---|"]
    for key, sub in schema_keys(schema):
        default = ""
        if "default" in sub:
            dumped = yaml.safe_dump(sub["default"], default_flow_style=True, width=1000)
            default = f"`{dumped.replace(chr(10) + '...', '').strip()}`"
        rows.append(
            f"| `{key}` | {_cell(_type(sub))} | {_cell(default)} | "
            f"{_cell(sub.get('description', ''))} |"
        )
    return "\n".join(rows)


def config_reference(schema_dir: str | Path) -> str:
    parts = [
        "# Configuration reference",
        "",
        "Generated from `config/schemas/` by `python -m anuraflow.core.configdocs`; a test "
        "keeps this file equal to the schemas. Every key is validated at start-up; an unknown "
        "or mistyped key fails the run and is named.",
    ]
    for file, (title, intro) in SCHEMAS.items():
        schema = yaml.safe_load((Path(schema_dir) / file).read_text())
        parts += ["", f"## {title}", "", intro, "", schema_table(schema)]
    return "\n".join(parts) + "\n"


if __name__ == "__main__":
    sys.stdout.write(config_reference(Path(__file__).resolve().parents[2] / "config/schemas"))
