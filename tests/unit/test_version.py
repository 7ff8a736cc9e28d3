"""The version is declared once, in pyproject.toml, and the CHANGELOG is laid out per release.

The installed metadata (what the SDK's `--version` and `--about` print) and
`target_adobe_s3.__version__` read it; the wheel's metadata and the installed CLI are checked
in tests/system/test_packaging.py.
"""

from __future__ import annotations

import re
from importlib.metadata import version
from pathlib import Path

import target_adobe_s3

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

ROOT = Path(__file__).resolve().parents[2]
RELEASE = re.compile(r"^## \[(\d+\.\d+\.\d+)\] - \d{4}-\d\d-\d\d$")


def declared() -> str:
    with (ROOT / "pyproject.toml").open("rb") as handle:
        value: str = tomllib.load(handle)["project"]["version"]
    return value


def as_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split("."))


def test_version_is_declared_once_in_pyproject() -> None:
    assert re.fullmatch(r"\d+\.\d+\.\d+", declared())
    # Installed metadata, read again after `pip install -e .` when pyproject changes.
    assert version("target-adobe-s3") == declared(), "reinstall: pip install -e '.[dev]'"
    assert target_adobe_s3.__version__ == declared()
    sources = [p for p in (ROOT / "target_adobe_s3").rglob("*.py") if declared() in p.read_text()]
    assert sources == [], "the version is written only in pyproject.toml"


def test_changelog_has_unreleased_on_top_then_dated_releases_newest_first() -> None:
    headings = [
        line
        for line in (ROOT / "CHANGELOG.md").read_text(encoding="utf-8").splitlines()
        if line.startswith("## ")
    ]
    assert headings[0] == "## [Unreleased]"
    released = []
    for heading in headings[1:]:
        match = RELEASE.match(heading)
        assert match, f"a release heading is `## [X.Y.Z] - YYYY-MM-DD`: {heading!r}"
        released.append(as_tuple(match.group(1)))
    assert released == sorted(released, reverse=True)
    # pyproject's version is the last release, or the one [Unreleased] becomes.
    assert not released or as_tuple(declared()) >= released[0]
