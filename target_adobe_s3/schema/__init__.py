"""Every setting declared once: title, description, default, examples, secret flag, choices.

The settings are grouped as the config contract groups them: `destination` (bucket, folder,
S3 and credentials), `rows` (segments and columns) and `files` (format, CSV, names and the
run). This module assembles them, in that order, into CONFIG_SCHEMA, which `--about`,
Meltano and the README show; and it gives their defaults (`with_defaults`) to code that reads
a config the SDK has not filled in.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from typing import Any

from singer_sdk import typing as th
from singer_sdk.target_base import Target

from target_adobe_s3.schema.destination import DESTINATION
from target_adobe_s3.schema.files import CSV, DEFAULT_FILE_NAME, FILE_FORMAT, NAMES_AND_RUN
from target_adobe_s3.schema.rows import COLUMNS, SEGMENTS

__all__ = [
    "CONFIG_SCHEMA",
    "DEFAULTS",
    "DEFAULT_FILE_NAME",
    "REFUSED_SDK_SETTINGS",
    "drop_refused_settings",
    "with_defaults",
]

REFUSED_SDK_SETTINGS = ("load_method", "batch_size_rows")
"""The SDK's built-in settings that mean nothing for file exports, refused as unknown.

`load_method` (upsert/overwrite) and `batch_size_rows` would be accepted and silently
ignored: every file is a full write of its segment, rows go straight to the spool.
"""


def _shown(value: Any) -> str:
    """An example as the README shows it: text as typed, anything else as JSON."""
    if value == "":
        return "(empty)"
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return f"`{text}`"


def _with_examples(schema: dict[str, Any]) -> dict[str, Any]:
    """Append each setting's example to its description (the README table shows it)."""
    for spec in schema["properties"].values():
        if spec.get("examples") and "Example:" not in spec.get("description", ""):
            spec["description"] = f"{spec['description']} Example: {_shown(spec['examples'][0])}."
    return schema


CONFIG_SCHEMA: dict[str, Any] = _with_examples(
    th.PropertiesList(
        *DESTINATION, *SEGMENTS, *COLUMNS, *FILE_FORMAT, *CSV, *NAMES_AND_RUN
    ).to_dict()
)
"""This target's own settings; the SDK appends its built-in ones (`drop_refused_settings`)."""


def drop_refused_settings(schema: dict[str, Any]) -> None:
    """Take REFUSED_SDK_SETTINGS out of a schema the SDK appended its settings to."""
    for name in REFUSED_SDK_SETTINGS:
        schema["properties"].pop(name, None)


def _every_setting() -> dict[str, Any]:
    """Our settings and the SDK's built-in ones this target keeps, as a run's schema has them."""
    schema = copy.deepcopy(CONFIG_SCHEMA)
    Target.append_builtin_config(schema)  # what TargetAdobeS3.append_builtin_config adds
    drop_refused_settings(schema)
    return schema


DEFAULTS: Mapping[str, Any] = {
    name: spec["default"]
    for name, spec in _every_setting()["properties"].items()
    if "default" in spec
}
"""Each setting's default, the SDK's built-in ones' included (validate_records)."""


def with_defaults(config: Mapping[str, Any]) -> dict[str, Any]:
    """`config` with each setting it leaves out set to its default, as the SDK fills them in.

    A run's config is already filled in by the SDK's validator; tests and callers that
    build Settings from a partial dict get the same values this way.
    """
    filled = dict(config)
    for name, value in DEFAULTS.items():
        if name not in filled:
            filled[name] = copy.deepcopy(value)
    return filled
