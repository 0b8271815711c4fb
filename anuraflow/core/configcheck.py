"""Config validation whose messages name the offending key, e.g. `windows.lenght_s`.

Snakemake's own `validate` (which also fills in defaults) reports one error as a schema dump;
this lists every error, one line each, by dotted key path.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match


def _key(path: list[Any], prefix: str) -> str:
    parts = [f"[{p}]" if isinstance(p, int) else f".{p}" for p in path]
    return prefix + ("".join(parts).lstrip(".") or "(top level)")


def _specific(err: ValidationError) -> ValidationError:
    """For a value that fits none of a key's forms (oneOf: `species` is `from_labels` or a
    list), the error of the form it was meant as: the one of its own JSON type, deepest."""
    while err.validator in ("oneOf", "anyOf") and err.context:
        own = [e for e in err.context if e.validator not in ("type", "const")]
        err = best_match(own or err.context)
    return err


def schema_errors(instance: Any, schema_path: str | Path, prefix: str = "") -> list[str]:
    """One "key: what is wrong" line per violation of the JSON schema, sorted by key."""
    schema = yaml.safe_load(Path(schema_path).read_text())
    out = []
    for err in map(_specific, Draft202012Validator(schema).iter_errors(instance)):
        path = list(err.absolute_path)
        if err.validator == "additionalProperties":
            allowed = sorted(err.schema.get("properties", {}))
            for extra in sorted(set(err.instance) - set(allowed)):
                out.append(
                    f"{_key(path + [extra], prefix)}: unknown key "
                    f"(allowed here: {', '.join(allowed)})"
                )
        elif err.validator == "required":
            missing = err.message.split("'")[1]
            out.append(f"{_key(path + [missing], prefix)}: required key is missing")
        elif err.validator == "enum":
            allowed = ", ".join(map(str, err.validator_value))
            out.append(f"{_key(path, prefix)}: {err.instance!r} is not one of: {allowed}")
        else:
            out.append(f"{_key(path, prefix)}: {err.message}")
    return sorted(out)
