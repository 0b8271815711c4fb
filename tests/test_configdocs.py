"""config/README.md describes every config key, in step with the schemas' descriptions."""

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
