"""config/README.md describes every config key, in step with the schemas' descriptions."""

import re
from pathlib import Path

import yaml

from anuraflow.core.configdocs import config_reference, schema_keys

REPO = Path(__file__).resolve().parent.parent


def test_config_readme_equals_the_schemas():
    expected = config_reference(REPO / "config/schemas")
    assert (REPO / "config/README.md").read_text() == expected, (
        "config/README.md is out of date: "
        "run python -m anuraflow.core.configdocs > config/README.md"
    )


def test_every_workflow_config_key_has_a_description():
    schema = yaml.safe_load((REPO / "config/schemas/config.schema.yaml").read_text())
    keys = list(schema_keys(schema))
    assert len(keys) > 60
    missing = [k for k, sub in keys if not sub.get("description")]
    assert not missing, f"config keys without a description: {missing}"
    readme = (REPO / "config/README.md").read_text()
    for key, sub in keys:
        assert f"| `{key}` |" in readme and sub["description"].split("|")[0] in readme


def test_no_schema_description_is_cut_into_a_stray_key():
    """An unquoted comma in a flow mapping's description ends the description and starts a
    key made of the rest (`description: Beta(alpha, alpha) ...` did): no key holds a space or
    a parenthesis."""

    def keys(node):
        if isinstance(node, dict):
            for k, v in node.items():
                yield k
                yield from keys(v)
        elif isinstance(node, list):
            for v in node:
                yield from keys(v)

    for schema in sorted((REPO / "config/schemas").glob("*.yaml")):
        odd = [k for k in keys(yaml.safe_load(schema.read_text())) if re.search(r"[ ()]", str(k))]
        assert not odd, f"{schema.name}: {odd}"


def test_a_value_fitting_none_of_a_keys_forms_is_named_by_the_form_it_was_meant_as():
    from anuraflow.core.configcheck import schema_errors

    config = yaml.safe_load((REPO / "config/config.yaml").read_text())
    schema = REPO / "config/schemas/config.schema.yaml"
    cases = {
        "from_label": "species: 'from_labels' was expected",
        "[{'code': 'BOA FAB'}]": "species[0].code: 'BOA FAB' does not match '^[A-Za-z0-9]+$'",
        "[]": "species: [] should be non-empty",
    }
    for value, message in cases.items():
        species = value if value == "from_label" else yaml.safe_load(value.replace("'", '"'))
        assert schema_errors({**config, "species": species}, schema) == [message]
    assert schema_errors({**config, "species": "from_labels"}, schema) == []


def test_defaults_are_filled_as_snakemakes_validate_fills_them(tmp_path):
    """configcheck.fill_defaults (libyaml, the schema parsed once) gives every shipped config
    and experiment the same defaults as Snakemake's own validate, and no two experiments
    share a default object."""
    import copy

    from snakemake.utils import validate

    from anuraflow.core.configcheck import fill_defaults

    schemas = REPO / "config" / "schemas"
    experiment, config = schemas / "experiment.schema.yaml", schemas / "config.schema.yaml"
    pairs = [(p, experiment) for p in sorted((REPO / "config/experiments").glob("*.yaml"))]
    pairs += [(REPO / "config" / n, config) for n in ("config.yaml", "own-data.yaml")]
    for path, schema in pairs:
        doc = yaml.safe_load(path.read_text())
        ours, theirs = copy.deepcopy(doc), copy.deepcopy(doc)
        fill_defaults(ours, schema)
        validate(theirs, str(schema))
        assert ours == theirs, path
    a = fill_defaults(yaml.safe_load(pairs[0][0].read_text()), experiment)
    b = fill_defaults(yaml.safe_load(pairs[0][0].read_text()), experiment)
    shared = [k for k, v in a.items() if isinstance(v, dict | list) and v is b[k]]
    assert shared == []
