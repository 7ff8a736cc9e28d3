"""The README's Meltano section says what the repo's meltano.yml does.

The `<!-- meltano-schedules -->` block is the repo's incremental loader, jobs and schedules
with the reader's tap (`tap-postgres`) in place of the sample's (`tap-jsonl`); the
`<!-- meltano-from-clone -->` commands are run for real by tests/system/test_meltano.py.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
README_TAP, SAMPLE_TAP = "tap-postgres", "tap-jsonl"


def readme() -> str:
    return (ROOT / "README.md").read_text(encoding="utf-8")


def block_after(marker: str, text: str | None = None) -> str:
    """The fenced block right after an HTML comment marker."""
    found = re.search(rf"<!-- {marker} -->\n```\w+\n(.*?)\n```", text or readme(), re.DOTALL)
    assert found, f"README: no fenced block after <!-- {marker} -->"
    return found.group(1)


def project() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / "meltano.yml").read_text(encoding="utf-8"))
    return data


def test_readme_schedules_are_the_ones_in_meltano_yml() -> None:
    shown = yaml.safe_load(block_after("meltano-schedules").replace(README_TAP, SAMPLE_TAP))
    repo = project()
    (incremental,) = shown["plugins"]["loaders"]
    assert incremental in repo["plugins"]["loaders"]
    assert shown["jobs"] == repo["jobs"]
    assert shown["schedules"] == repo["schedules"]


def test_full_and_incremental_jobs_do_what_their_names_say() -> None:
    repo = project()
    loaders = {p["name"]: p for p in repo["plugins"]["loaders"]}
    jobs = {j["name"]: j["tasks"] for j in repo["jobs"]}
    schedules = {s["name"]: s for s in repo["schedules"]}
    # Daily: a full refresh through the base loader, export_mode full (its default).
    assert jobs["segments-daily-full"] == [f"{SAMPLE_TAP} target-adobe-s3"]
    assert schedules["segments-daily-full"]["env"] == {"MELTANO_RUN_FULL_REFRESH": "true"}
    assert "export_mode" not in loaders["target-adobe-s3"].get("config", {})
    # Every 6 hours: its own loader (so its own state), incremental, another folder.
    assert jobs["segments-every-6-hours"] == [f"{SAMPLE_TAP} target-adobe-s3--incremental"]
    assert "env" not in schedules["segments-every-6-hours"]
    incremental = loaders["target-adobe-s3--incremental"]
    assert incremental["inherit_from"] == "target-adobe-s3"
    assert incremental["config"]["export_mode"] == "incremental"
    base_folder = loaders["target-adobe-s3"]["config"]["folder_path"]
    assert incremental["config"]["folder_path"] != base_folder


def test_readme_gives_meltano_4_the_plugin_type_as_an_option() -> None:
    # `meltano add loader X` makes Meltano 4 add plugins named `loader` and `X`.
    commands = [
        line for line in readme().splitlines() if re.match(r"\s*meltano (add|install)", line)
    ]
    assert commands
    for line in commands:
        assert not re.search(r"meltano (add|install) (loader|extractor|utility)s?\b", line), line
    assert "--plugin-type loader target-adobe-s3 --no-install" in block_after("meltano-from-clone")


def test_readme_names_every_sensitive_setting_and_the_markdown_about() -> None:
    text = readme()
    definition = yaml.safe_load(
        next((ROOT / "hub" / "_data" / "meltano" / "loaders").glob("*/*.yml")).read_text()
    )
    sensitive = [s["name"] for s in definition["settings"] if s.get("sensitive")]
    assert "aws_access_key_id" in sensitive
    paragraph = next(p for p in text.split("\n\n") if p.startswith("Sensitive settings"))
    assert sorted(re.findall(r"`(\w+)`", paragraph.split(" are marked")[0])) == sorted(sensitive)
    assert "--about --format=markdown" in text
    assert not re.search(r"--about\s+#", text), "--about alone prints text, not the table"
