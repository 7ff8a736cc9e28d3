"""Unknown settings and TARGET_ADOBE_S3_* variables (setting_names.py): the closest named."""

from __future__ import annotations

import pytest

from target_adobe_s3.setting_names import ENV_PREFIX, unknown_env_settings, unknown_settings
from target_adobe_s3.settings import Settings
from target_adobe_s3.target import TargetAdobeS3

TYPOS = {
    "pgp_public_kye": "pgp_public_key",
    "folder-path": "folder_path",
    "feilds": "fields",
    "Bucket": "bucket",
}


def known() -> set[str]:
    """Every setting's name, the SDK's built-in ones included, as a run sees them."""
    schema = TargetAdobeS3.config_jsonschema
    TargetAdobeS3.append_builtin_config(schema)
    return set(schema["properties"])


def test_the_closest_known_name_is_suggested() -> None:
    config = {"bucket": "b", **dict.fromkeys(TYPOS, "x"), "nonsense": 1, "x y": 2}
    assert unknown_settings(config, known()) == [
        "pgp_public_kye: unknown setting; did you mean pgp_public_key?",
        "folder-path: unknown setting; did you mean folder_path?",
        "feilds: unknown setting; did you mean fields?",
        "Bucket: unknown setting; did you mean bucket?",
        "nonsense: unknown setting; see target-adobe-s3 --about",
        "'x y': unknown setting; see target-adobe-s3 --about",
    ]


def test_the_sdk_s_built_in_settings_are_settings() -> None:
    names = {
        "add_record_metadata",
        "validate_records",
        "stream_maps",
        "stream_map_config",
        "faker_config",
        "flattening_enabled",
        "flattening_max_depth",
        "flattening_max_key_length",
        "flattening_separator",
    }
    assert unknown_settings(dict.fromkeys(names), known()) == []


def test_sdk_settings_this_target_refuses_are_unknown() -> None:
    """`load_method` and `batch_size_rows` would be accepted and silently ignored."""
    assert unknown_settings({"load_method": "overwrite", "batch_size_rows": 10}, known()) == [
        "load_method: unknown setting; see target-adobe-s3 --about",
        "batch_size_rows: unknown setting; see target-adobe-s3 --about",
    ]


def test_unknown_names_are_reported_with_the_other_problems() -> None:
    config = {"bucket": "Bad_Bucket", "pgp_public_kye": "x"}
    settings, problems = Settings.from_config(config, known())
    assert settings is None
    assert problems == [
        "pgp_public_kye: unknown setting; did you mean pgp_public_key?",
        "bucket: 'Bad_Bucket' must be 3-63 characters of lowercase letters, digits, '.' and "
        "'-', starting and ending with a letter or digit",
    ]


@pytest.mark.parametrize(
    ("variable", "expected"),
    [
        ("TARGET_ADOBE_S3_FEILDS", "TARGET_ADOBE_S3_FIELDS"),
        ("TARGET_ADOBE_S3_FOLDERPATH", "TARGET_ADOBE_S3_FOLDER_PATH"),
        ("TARGET_ADOBE_S3_REGIONN", "TARGET_ADOBE_S3_REGION"),
    ],
)
def test_misspelt_variables_name_the_variable_meant(variable: str, expected: str) -> None:
    environ = {variable: "x", "TARGET_ADOBE_S3_BUCKET": "b", "PATH": "/bin"}
    assert unknown_env_settings(environ, known()) == [
        f"{variable}: unknown setting; did you mean {expected}?"
    ]


def test_the_prefix_is_the_sdk_s() -> None:
    assert TargetAdobeS3._env_var_prefix == ENV_PREFIX
