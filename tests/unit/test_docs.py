"""The hand-written documents: a short README that opens with the two commands and links to
docs/, every relative link (and #anchor) resolving, and meltano.yml's hand-written parts.

What is generated from `--about` is checked against the CLI in tests/e2e/test_docs.py.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
DOCS = ROOT / "docs"
DOCUMENTS = [README, *sorted(DOCS.glob("*.md"))]
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)
HEADING = re.compile(r"^#{1,6} (.+)$", re.MULTILINE)


def project() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / "meltano.yml").read_text(encoding="utf-8"))
    return data


def loader(data: dict[str, Any], name: str = "target-adobe-s3") -> dict[str, Any]:
    (found,) = [p for p in data["plugins"]["loaders"] if p["name"] == name]
    return found


def anchor(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to `-`."""
    text = heading.strip().lower().replace("`", "")
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    text = FENCE.sub("", path.read_text(encoding="utf-8"))
    return {anchor(heading) for heading in HEADING.findall(text)}


def links(path: Path) -> list[str]:
    """The relative link targets of a Markdown file, outside code blocks."""
    text = FENCE.sub("", path.read_text(encoding="utf-8"))
    return [t for t in LINK.findall(text) if not re.match(r"[a-z]+:", t)]


def test_readme_opens_with_the_two_commands() -> None:
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert lines[2] == "```sh"
    assert lines[3].startswith("make demo ")
    assert lines[4].startswith("make test ")
    assert lines[5] == "```"


def test_the_first_screen_says_what_make_test_costs_and_links_try_it_locally() -> None:
    first_screen = "\n".join(README.read_text(encoding="utf-8").splitlines()[:32])
    assert "(docs/try-it-locally.md)" in first_screen
    assert "`make test-fast`" in first_screen
    assert "12 minutes on a 2-core machine" in first_screen
    for download in ("Meltano", "tap-jsonl", "`sq`", "`rnp`", "s3rver", "`gnupg`"):
        assert download in first_screen, download


def test_make_test_runs_everything_and_test_fast_leaves_out_system_tests() -> None:
    """`.ci/run` calls `make test`; `make test-fast` is lint plus pytest -m 'not system'."""
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    recipes = dict(re.findall(r"^([\w-]+):([^\n]*\n(?:\t[^\n]*\n)*)", makefile, re.MULTILINE))
    assert recipes["test"].split("\n")[0].split() == ["lint", "unit"]
    assert "pytest" in recipes["unit"]
    assert "not system" not in recipes["unit"]
    assert recipes["test-fast"].split("\n")[0].split() == ["lint"]
    assert "pytest -n auto --dist loadfile -m 'not system'" in recipes["test-fast"]
    assert (ROOT / ".ci" / "run").read_text(encoding="utf-8").rstrip().endswith("make test")


def test_readme_is_a_short_guide() -> None:
    """Under 20 KB; the manual (and the generated settings table) lives in docs/."""
    text = README.read_text(encoding="utf-8")
    assert len(text.encode()) < 20_000
    assert "<!-- settings:start -->" not in text
    for heading in ("## What it does", "## Try it locally (five minutes)", "## Documentation"):
        assert heading in text.splitlines(), heading


def test_the_readme_links_every_document() -> None:
    linked = {(README.parent / target.split("#")[0]).resolve() for target in links(README)}
    documents = sorted(DOCS.glob("*.md"))
    assert [p.name for p in documents] == [
        "aep-behaviour.md",
        "development.md",
        "encryption.md",
        "guarantees.md",
        "iam-and-check.md",
        "naming-and-macros.md",
        "parquet.md",
        "performance.md",
        "settings.md",
        "troubleshooting.md",
        "try-it-locally.md",
    ]
    assert [p for p in documents if p.resolve() not in linked] == []


@pytest.mark.parametrize("document", DOCUMENTS, ids=[p.name for p in DOCUMENTS])
def test_relative_links_resolve(document: Path) -> None:
    """Each link to a file of the repository finds it, and each #anchor a heading there."""
    broken = []
    for target in links(document):
        path, _, fragment = target.partition("#")
        found = (document.parent / path).resolve() if path else document
        if not found.exists() or (
            fragment and (found.suffix != ".md" or fragment not in anchors(found))
        ):
            broken.append(target)
    assert broken == []


def test_the_settings_table_is_generated_once() -> None:
    text = (DOCS / "settings.md").read_text(encoding="utf-8")
    assert text.count("<!-- settings:start -->") == 1
    assert text.count("<!-- settings:end -->") == 1
    assert "| bucket | True | None |" in text


def test_meltano_yml_keeps_its_hand_written_parts() -> None:
    data = project()
    assert "version" not in data  # deprecated in Meltano 4
    assert data["requires_meltano"] == ">=4,<5"
    (tap,) = data["plugins"]["extractors"]
    assert tap["pip_url"] == "tap-jsonl==0.3.1"
    assert tap["config"]["path"] == "$MELTANO_PROJECT_ROOT/demo/jsonl/*.jsonl"
    assert list((ROOT / "demo" / "jsonl").glob("*.jsonl"))
    assert loader(data)["config"]["bucket"]
    assert loader(data, "target-adobe-s3--incremental")["inherit_from"] == "target-adobe-s3"
    intervals = {s["name"]: s["interval"] for s in data["schedules"]}
    assert intervals == {
        "segments-daily-full": "0 6 * * *",  # AEP's daily export
        "segments-every-6-hours": "0 */6 * * *",  # and its every-6-hours one
    }
    jobs = {j["name"] for j in data["jobs"]}
    assert {s["job"] for s in data["schedules"]} == jobs
