"""The generated Hub definition passes Meltano Hub's own checks.

The checks are the Hub's, copied into tests/data/hub/ (its README names the commits): the
JSON Schema validation of `utility_scripts/plugin_definitions/plugin_schema_validate.py`
(every schema of `schemas/common/` and `schemas/plugin_definitions/` in one registry, a
draft 7 validator against `loaders.schema.json`) and yamllint with the Hub's `.yamllint.yaml`
(keys in alphabetical order, sequences not indented, no non-empty flow mappings, ...).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft7Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

ROOT = Path(__file__).resolve().parents[2]
HUB_DATA = ROOT / "tests" / "data" / "hub"
SCHEMAS = HUB_DATA / "schemas"
YAMLLINT_CONFIG = HUB_DATA / ".yamllint.yaml"
LOADERS = ROOT / "hub" / "_data" / "meltano" / "loaders"


def hub_file() -> Path:
    (path,) = sorted(LOADERS.glob("*/*.yml"))
    return path


def registry() -> Registry[Any]:
    """The Hub's schemas keyed by `$id`, as its validator does, and also by their path.

    The copy of `common/base_setting.schema.json` says `$id: common/common/base_setting...`,
    while `common.schema.json` refers to it as `../common/base_setting.schema.json`, which
    resolves to its path, `common/base_setting.schema.json`.
    """
    resources = []
    for folder in ("common", "plugin_definitions"):
        for source in sorted((SCHEMAS / folder).glob("*.json")):
            schema = json.loads(source.read_text(encoding="utf-8"))
            resource = Resource.from_contents(schema, default_specification=DRAFT7)
            resources += [(schema["$id"], resource), (f"{folder}/{source.name}", resource)]
    return Registry().with_resources(resources)


def schema_errors(definition: dict[str, Any]) -> list[str]:
    schema = json.loads((SCHEMAS / "plugin_definitions" / "loaders.schema.json").read_text())
    validator = Draft7Validator(schema, registry=registry())
    return sorted(
        f"{list(error.absolute_path)}: {error.message}"
        for error in validator.iter_errors(definition)
    )


def yamllint(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "yamllint", "-f", "parsable", "-c", str(YAMLLINT_CONFIG), str(path)],
        capture_output=True,
        text=True,
        check=False,
    )


def definition() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(hub_file().read_text(encoding="utf-8"))
    return data


def test_hub_definition_passes_the_hubs_json_schema() -> None:
    assert schema_errors(definition()) == []


def test_hub_definition_passes_the_hubs_yamllint_rules() -> None:
    done = yamllint(hub_file())
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout == ""


def test_hub_definition_is_ready_for_pypi() -> None:
    hub = definition()
    assert hub["pip_url"] == "target-adobe-s3"
    assert hub["quality"] == "unknown"  # the Hub's maintainers rate it
    assert hub["supported_python_versions"] == ["3.10", "3.11", "3.12", "3.13"]
    assert hub["name"] == hub_file().parent.name  # the Hub's yaml_check_names.py


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda d: d.pop("quality"), "[]: 'quality' is a required property"),
        (
            lambda d: d["capabilities"].append("structured-logging"),
            "['capabilities', 4]: 'structured-logging' is not one of",
        ),
        (lambda d: d.update(pipurl="x"), "[]: Additional properties are not allowed ('pipurl'"),
        (lambda d: d["settings"][0].update(secret=True), "['settings', 0]: Additional properties"),
        (
            lambda d: d.update(maintenance_status="stable"),
            "['maintenance_status']: 'stable' is not one of",
        ),
    ],
    ids=["no-quality", "unknown-capability", "unknown-key", "unknown-setting-key", "bad-status"],
)
def test_the_schema_check_catches_what_the_hub_rejects(change: Any, expected: str) -> None:
    broken = definition()
    change(broken)
    errors = schema_errors(broken)
    assert len(errors) == 1
    assert errors[0].startswith(expected), errors


def test_yamllint_catches_unordered_keys_and_indented_sequences(tmp_path: Path) -> None:
    # The layout of meltano.yml (name first, sequences indented) is what the Hub rejects.
    path = tmp_path / "maintainers.yml"
    path.write_text("name: x\nkeywords:\n  - aws\nlabel: X\n", encoding="utf-8")
    done = yamllint(path)
    assert done.returncode == 1
    assert "(key-ordering)" in done.stdout
    assert "(indentation)" in done.stdout
