"""Config validation whose messages name the offending key, e.g. `windows.lenght_s`.

Snakemake's own `validate` reports one error as a schema dump; this lists every error, one
line each, by dotted key path, and then fills in the schema's defaults as Snakemake's would.
"""

from __future__ import annotations

import copy
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator, validators
from jsonschema.exceptions import ValidationError, best_match

# libyaml's parser where PyYAML was built with it: the schemas are read at every Snakemake
# start (and inside every SLURM job), where the pure-Python parser took most of the time
YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_yaml(path: str | Path) -> Any:
    with open(path) as fh:
        return yaml.load(fh, Loader=YAML_LOADER)


@cache
def _schema(path: str) -> dict:
    return read_yaml(path)


def load_schema(path: str | Path) -> dict:
    """A schema file, parsed once per process (read-only: shared between callers)."""
    return _schema(str(Path(path).resolve()))


def _set_defaults(validator, properties, instance, schema):
    """jsonschema's `properties` check that first fills each missing property's default (the
    recipe Snakemake's `validate` uses), a copy per instance so no two share one object."""
    if validator.is_type(instance, "object"):
        for name, sub in properties.items():
            if "default" in sub and name not in instance:
                instance[name] = copy.deepcopy(sub["default"])
    check_properties = Draft202012Validator.VALIDATORS["properties"]
    yield from check_properties(validator, properties, instance, schema)


_DefaultFilling = validators.extend(Draft202012Validator, {"properties": _set_defaults})


def fill_defaults(instance: dict, schema_path: str | Path) -> dict:
    """`instance` with the schema's defaults filled in place, nested ones included (run after
    `schema_errors` found nothing: a violation left raises jsonschema's ValidationError)."""
    _DefaultFilling(load_schema(schema_path)).validate(instance)
    return instance


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
    schema = load_schema(schema_path)
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


_WORDS = {"true": True, "false": False, "null": None, "~": None}


def typed_command_line(value: Any) -> Any:
    """A `--config key={...}` value with its inner scalars typed as Snakemake types a top-level
    one: Snakemake reads `epochs=2` as 2 but a mapping or list with YAML's base loader, which
    keeps every inner scalar a string (`{epochs: 2, channels_last: true}` gives '2' and
    'true', which the schema would refuse). Integers, floats, true/false (any case) and null
    are typed; any other string stays as written."""
    if isinstance(value, dict):
        return {k: typed_command_line(v) for k, v in value.items()}
    if isinstance(value, list):
        return [typed_command_line(v) for v in value]
    if not isinstance(value, str):
        return value
    for number in (int, float):
        try:
            return number(value)
        except ValueError:
            pass
    return _WORDS.get(value.lower(), value)
