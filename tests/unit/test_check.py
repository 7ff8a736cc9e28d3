"""--check's pure parts: where the probe goes, and the documented policy against the checks."""

from __future__ import annotations

import pytest

from target_adobe_s3.check import probe_prefix
from target_adobe_s3.settings import Settings
from tests.support.iam import CHECKED, POLICY


@pytest.mark.parametrize(
    ("folder", "prefix"),
    [
        ("", ""),
        ("acme/out", "acme/out/"),
        ("acme/out/", "acme/out/"),
        ("/acme//seg_%SEGMENT_ID%/x", "acme/seg_"),
        ("%SEGMENT_NAME%/x", ""),
        ("a/%DATETIME(YYYY)%/%SEGMENT_ID%", "a/"),
    ],
)
def test_probe_goes_under_the_static_part_of_the_folder(folder: str, prefix: str) -> None:
    settings, problems = Settings.from_config({"bucket": "acme-audiences", "folder_path": folder})
    assert settings is not None, problems
    assert probe_prefix(settings) == prefix


def test_the_documented_policy_names_every_action_the_target_uses() -> None:
    assert sorted(CHECKED) == POLICY
