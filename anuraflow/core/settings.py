"""Settings dataclasses filled from a config section by name: each field from the key of its
name, a key the section lacks keeping the field's default, the section's other keys left to
the settings they belong to. By name, so that reordering a class's fields can never bind
another key's value to it (tests/test_settings.py holds each class to its schema section)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from typing import Any, TypeVar

T = TypeVar("T")


def settings_from(cls: type[T], section: Mapping[str, Any] | None) -> T:
    """`cls` (a dataclass) with every field the config `section` sets, by name."""
    section = section or {}
    return cls(**{f.name: section[f.name] for f in fields(cls) if f.name in section})
