"""What is generated from `--about` stays in sync with the code: the settings table in
docs/settings.md, the loader's definition in meltano.yml and the Meltano Hub definition.

The hand-written documents (README, the rest of docs/) are checked in tests/unit/test_docs.py.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.helpers import TARGET

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = Path("scripts") / "update_docs.py"
HUB_DIR = Path("hub") / "_data" / "meltano" / "loaders" / "target-adobe-s3"
AUTH_GROUPS = [
    ["bucket"],
    ["bucket", "aws_access_key_id", "aws_secret_access_key"],
    ["bucket", "aws_profile"],
    ["bucket", "role_arn"],
]


def about() -> dict[str, Any]:
    out = subprocess.run(
        [TARGET, "--about", "--format", "json"], capture_output=True, text=True, check=True
    ).stdout
    info: dict[str, Any] = json.loads(out)
    return info


def about_settings() -> dict[str, Any]:
    settings: dict[str, Any] = about()["settings"]["properties"]
    return settings


def update_docs(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(root / SCRIPT), *args], capture_output=True, text=True, check=False
    )


def project() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / "meltano.yml").read_text(encoding="utf-8"))
    return data


def loader(data: dict[str, Any], name: str = "target-adobe-s3") -> dict[str, Any]:
    (found,) = [p for p in data["plugins"]["loaders"] if p["name"] == name]
    return found


def hub_file() -> Path:
    (path,) = sorted((ROOT / HUB_DIR).glob("*.yml"))
    return path


def test_generated_files_match_about() -> None:
    done = update_docs(ROOT, "--check")
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip() == "up to date"


def test_settings_doc_lists_every_setting() -> None:
    doc = (ROOT / "docs" / "settings.md").read_text(encoding="utf-8")
    table = doc.split("<!-- settings:start -->")[1].split("<!-- settings:end -->")[0]
    for name in about_settings():
        assert f"| {name} |" in table, name


def check_settings(declared_list: list[dict[str, Any]]) -> None:
    """Meltano settings as the schema says: kinds, secrets, options, defaults."""
    declared = {s["name"]: s for s in declared_list}
    settings = about_settings()
    assert list(declared) == list(settings)
    for name, spec in settings.items():
        entry = declared[name]
        assert entry["label"], name
        assert entry["description"], name
        assert bool(entry.get("sensitive")) is bool(spec.get("secret")), name
        assert entry["kind"] != "password", name  # deprecated by Meltano: sensitive: true
        if "enum" in spec:
            assert entry["kind"] == "options", name
            values = [v for v in spec["enum"] if v is not None]
            assert [o["value"] for o in entry["options"]] == values, name
            assert all(isinstance(o["label"], str) and o["label"] for o in entry["options"])
        if spec.get("default") is not None:
            assert entry["value"] == spec["default"], name
        else:
            assert "value" not in entry, name
    assert {"aws_secret_access_key", "aws_session_token", "aws_access_key_id"} <= {
        name for name, entry in declared.items() if entry.get("sensitive")
    }
    assert declared["bucket"]["kind"] == "string"
    assert declared["include_manifest"]["kind"] == "boolean"
    assert declared["max_rows_per_file"]["kind"] == "integer"
    assert declared["fields"]["kind"] == "array"
    assert declared["segment_names"]["kind"] == "object"
    assert declared["csv_delimiter"]["value"] == "\t"
    assert declared["csv_delimiter"]["options"][0] == {"label": "tab character", "value": "\t"}


def test_meltano_yml_declares_the_loader_as_about_says() -> None:
    data = project()
    target = loader(data)
    check_settings(target["settings"])
    info = about()
    assert target["namespace"] == "target_adobe_s3"
    assert target["executable"] == "target-adobe-s3"
    assert target["pip_url"] == "-e ."
    assert target["capabilities"] == info["capabilities"]
    assert target["settings_group_validation"] == AUTH_GROUPS


def test_hub_definition_matches_about() -> None:
    path = hub_file()
    hub = yaml.safe_load(path.read_text(encoding="utf-8"))
    info = about()
    assert path.stem == hub["variant"]
    assert hub["name"] == info["name"] == path.parent.name
    assert hub["namespace"] == "target_adobe_s3"
    assert hub["description"] == info["description"]
    # Every capability of --about that the Hub's schema knows (tests/e2e/test_hub.py).
    assert hub["capabilities"] == [c for c in info["capabilities"] if c != "structured-logging"]
    assert hub["repo"].startswith("https://github.com/")
    assert hub["pip_url"] == "target-adobe-s3"  # the package on PyPI
    assert hub["repo"].split("/")[3].lower() == hub["variant"]
    assert hub["executable"] == "target-adobe-s3"
    assert hub["label"]
    assert hub["maintenance_status"] in {"active", "beta", "development", "inactive", "unknown"}
    assert "meltano_sdk" in hub["keywords"]
    assert hub["settings_group_validation"] == AUTH_GROUPS
    check_settings(hub["settings"])
    assert hub["settings"] == loader(project())["settings"]
    # Only keys the Hub's loader schema knows.
    assert set(hub) <= {
        *("name", "namespace", "variant", "label", "description", "logo_url", "pip_url"),
        *("repo", "executable", "capabilities", "keywords", "settings", "docs"),
        *("settings_group_validation", "maintenance_status", "domain_url", "usage"),
        *("settings_preamble", "next_steps", "prereq", "definition", "hidden"),
        *("quality", "supported_python_versions"),
    }


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A copy of the files the script reads and writes."""
    for name in ("docs/settings.md", "meltano.yml", "pyproject.toml", str(SCRIPT)):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / name, tmp_path / name)
    shutil.copytree(ROOT / "hub", tmp_path / "hub")
    return tmp_path


@pytest.mark.parametrize("target", ["docs/settings.md", "meltano.yml", "hub"])
def test_check_fails_on_a_stale_file_and_a_rewrite_fixes_it(checkout: Path, target: str) -> None:
    path = checkout / target
    if target == "hub":
        path = next((checkout / HUB_DIR).glob("*.yml"))
    text = path.read_text(encoding="utf-8")
    stale = text.replace("S3 bucket name", "The bucket", 1)
    assert stale != text
    path.write_text(stale, encoding="utf-8")

    done = update_docs(checkout, "--check")
    assert done.returncode == 1
    assert str(path.relative_to(checkout)) in done.stdout
    assert path.read_text(encoding="utf-8") == stale  # --check writes nothing

    assert update_docs(checkout).returncode == 0
    assert path.read_text(encoding="utf-8") == text
    assert update_docs(checkout, "--check").returncode == 0


def test_rewrite_keeps_the_hand_written_parts_of_meltano_yml(checkout: Path) -> None:
    path = checkout / "meltano.yml"
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines(True)
    start = next(line for line in lines if line.strip().startswith("# generated:start"))
    end = "    # generated:end\n"
    head, rest = text.split(start, 1)
    block, tail = rest.split(end, 1)
    head = head.replace("tap-jsonl==0.3.1", "tap-jsonl==0.3.0")
    tail = tail.replace("my-audience-exports", "another-bucket").replace("*/6", "*/8")
    path.write_text(f"{head}{start}    settings: []\n{end}{tail}")

    assert update_docs(checkout).returncode == 0
    assert path.read_text(encoding="utf-8") == f"{head}{start}{block}{end}{tail}"


def test_a_hub_file_of_another_variant_is_stale(checkout: Path) -> None:
    old = checkout / HUB_DIR / "someone-else.yml"
    old.write_text("name: target-adobe-s3\n", encoding="utf-8")
    done = update_docs(checkout, "--check")
    assert done.returncode == 1
    assert "someone-else.yml" in done.stdout
    assert update_docs(checkout).returncode == 0
    assert not old.exists()
