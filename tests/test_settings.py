"""Settings dataclasses are built by name from their config section: every field is a key of
that section in the schema, a reordered section binds each field its own key, and no script
builds one positionally from config values."""

import re
from dataclasses import fields

import pytest
import yaml
from workflow_helpers import REPO

from anuraflow.core.settings import settings_from
from anuraflow.detect.suggest import Strategy
from anuraflow.detect.validation import ValidateSettings
from anuraflow.detect.validation_sample import SampleDesign
from anuraflow.ecology.occupancy_models import FitSettings

SCHEMA = yaml.safe_load((REPO / "config/schemas/config.schema.yaml").read_text())["properties"]
CASES = [(ValidateSettings, "validate"), (SampleDesign, "validate"), (Strategy, "suggest"),
         (FitSettings, "occupancy")]  # fmt: skip


@pytest.mark.parametrize("cls, section", CASES, ids=[c.__name__ for c, _ in CASES])
def test_every_field_is_a_key_of_its_section(cls, section):
    keys = set(SCHEMA[section]["properties"])
    assert {f.name for f in fields(cls)} <= keys


@pytest.mark.parametrize("cls, section", CASES, ids=[c.__name__ for c, _ in CASES])
def test_a_reordered_section_binds_each_field_its_own_value(cls, section):
    """Each field's schema default (a stand-in value where equal defaults would hide a swap),
    the section's keys in reverse order, other keys of the section beside them."""
    props = SCHEMA[section]["properties"]
    values = {}
    for k, f in enumerate(fields(cls)):
        default = props[f.name].get("default", getattr(cls(), f.name))
        kind = props[f.name].get("type")
        values[f.name] = (k + 2 if kind == "integer" else 0.5 + k / 100 if kind == "number"
                          else default)  # fmt: skip
    section_values = dict(reversed(list({**dict.fromkeys(props, None), **values}.items())))
    built = settings_from(cls, section_values)
    for name, value in values.items():
        got = getattr(built, name)
        assert (tuple(got) if isinstance(got, tuple) else got) == (
            tuple(value) if isinstance(value, list) else value), name  # fmt: skip
    assert settings_from(cls, {}) == cls() and settings_from(cls, None) == cls()


def test_no_script_builds_settings_positionally_from_config():
    """A call of a capitalised name (a class) whose first argument indexes a config section
    (`v["bins"]`): the way a reordered field binds another key's value."""
    found = []
    for script in sorted((REPO / "workflow/scripts").glob("*.py")):
        for n, line in enumerate(script.read_text().splitlines(), 1):
            if re.search(r"\b[A-Z]\w*\(\s*[a-z]\[\"", line):
                found.append(f"{script.name}:{n}: {line.strip()}")
    assert not found, found
