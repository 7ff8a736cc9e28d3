"""Generated docs stay in sync with the code: README settings table and meltano.yml."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml

from tests.helpers import TARGET

ROOT = Path(__file__).resolve().parent.parent


def about_settings() -> dict:
    out = subprocess.run(
        [TARGET, "--about", "--format", "json"], capture_output=True, text=True, check=True
    ).stdout
    return json.loads(out)["settings"]["properties"]


def test_readme_and_meltano_yml_match_about() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "update_docs.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_readme_table_lists_every_setting() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme.split("<!-- settings:start -->")[1].split("<!-- settings:end -->")[0]
    for name in about_settings():
        assert f"| {name} |" in table, name


def test_readme_opens_with_the_two_commands() -> None:
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert lines[2] == "```sh"
    assert lines[3].startswith("make demo ")
    assert lines[4].startswith("make test ")
    assert lines[5] == "```"


def test_meltano_yml_declares_every_setting_and_marks_secrets() -> None:
    project = yaml.safe_load((ROOT / "meltano.yml").read_text(encoding="utf-8"))
    (loader,) = project["plugins"]["loaders"]
    declared = {s["name"]: s for s in loader["settings"]}
    settings = about_settings()
    assert list(declared) == list(settings)
    for name, spec in settings.items():
        secret = bool(spec.get("secret"))
        assert (declared[name]["kind"] == "password") is secret, name
        assert bool(declared[name].get("sensitive")) is secret, name
    assert {"aws_secret_access_key", "aws_session_token", "aws_access_key_id"} <= {
        name for name, spec in declared.items() if spec.get("sensitive")
    }
    assert [o["value"] for o in declared["csv_delimiter"]["options"]][:1] == ["\t"]
