"""Every default once, in the schema; Settings as the one typed view of every setting.

target_adobe_s3.schema (DEFAULTS, with_defaults), target_adobe_s3.settings (s3_settings,
Settings.fast_path, validate_records) and target_adobe_s3.s3.settings (S3Settings).
"""

from __future__ import annotations

from typing import Any

import pytest

from target_adobe_s3.schema import (
    CONFIG_SCHEMA,
    DEFAULTS,
    REFUSED_SDK_SETTINGS,
    drop_refused_settings,
    with_defaults,
)
from target_adobe_s3.settings import Settings, s3_settings
from target_adobe_s3.target import TargetAdobeS3

BUCKET = "acme-audiences"
SECRETS = {
    "aws_access_key_id": "AKIAUNITTESTKEY12345",
    "aws_secret_access_key": "unit/secret+value0123456789abcdefWXYZ",
    "aws_session_token": "unitSESSIONtoken//0123456789==",
}


def settings(**changes: Any) -> Settings:
    built, problems = Settings.from_config({"bucket": BUCKET, **changes})
    assert problems == []
    assert built is not None
    return built


# --- the schema's defaults ----------------------------------------------------------------------


def test_defaults_are_the_schemas_own() -> None:
    ours = {
        name: spec["default"]
        for name, spec in CONFIG_SCHEMA["properties"].items()
        if "default" in spec
    }
    assert {name: DEFAULTS[name] for name in ours} == ours
    assert DEFAULTS["destination_name"] == "amazon_s3"
    assert DEFAULTS["max_rows_per_file"] == 5_000_000
    assert DEFAULTS["retry_max_attempts"] == 5
    assert DEFAULTS["request_checksum_calculation"] == "when_supported"
    assert DEFAULTS["validate_records"] is True  # the SDK's built-in setting


def test_defaults_cover_the_settings_a_run_knows() -> None:
    """The SDK's built-in settings in DEFAULTS are those of the target's own schema."""
    schema = TargetAdobeS3.config_jsonschema
    TargetAdobeS3.append_builtin_config(schema)
    with_default = {name for name, spec in schema["properties"].items() if "default" in spec}
    assert set(DEFAULTS) == with_default
    assert not set(REFUSED_SDK_SETTINGS) & set(schema["properties"])


def test_drop_refused_settings_removes_only_those() -> None:
    schema = {"properties": {"load_method": {}, "batch_size_rows": {}, "bucket": {}}}
    drop_refused_settings(schema)
    assert schema == {"properties": {"bucket": {}}}


def test_with_defaults_fills_only_what_is_absent() -> None:
    filled = with_defaults({"bucket": BUCKET, "destination_name": "", "csv_header": None})
    assert filled["bucket"] == BUCKET
    assert filled["destination_name"] == ""  # given (empty): kept, Settings reads it
    assert filled["csv_header"] is None
    assert filled["csv_delimiter"] == "\t"
    assert filled["segment_names"] == {}
    assert "region" not in filled  # no default: stays absent
    assert list(filled)[:3] == ["bucket", "destination_name", "csv_header"]


def test_with_defaults_copies_mutable_defaults() -> None:
    first = with_defaults({})
    first["segment_names"]["s1"] = "changed"
    first["mandatory_fields"].append("email")
    assert with_defaults({})["segment_names"] == {}
    assert with_defaults({})["mandatory_fields"] == []
    assert DEFAULTS["segment_names"] == {}


# --- empty values mean the default ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("setting", "attribute", "expected"),
    [
        ("segment_status_field", "segment_status_field", "segment_status"),
        ("segment_membership_field", "membership_field", "segmentMembership"),
        ("export_mode", "export_mode", "full"),
        ("qualification_time_field", "qualification_time_field", "last_qualification_time"),
        ("file_type", "file_type", "csv"),
        ("compression", "compression", "none"),
        ("mandatory_fields", "mandatory_fields", ()),
        ("deduplication_keys", "dedup_keys", ()),
    ],
)
@pytest.mark.parametrize("empty", ["", None])
def test_an_empty_value_is_the_schemas_default(
    setting: str, attribute: str, expected: Any, empty: Any
) -> None:
    assert getattr(settings(**{setting: empty}), attribute) == expected


def test_absent_settings_take_the_schemas_defaults() -> None:
    built = settings()
    assert (built.max_rows_per_file, built.dedup_memory_mb, built.upload_concurrency) == (
        5_000_000,
        2,
        4,
    )
    assert (built.include_manifest, built.export_empty_files, built.formula_escape) == (
        False,
        False,
        False,
    )
    assert (built.schema_validation, built.validate_records) == ("types", True)
    assert built.s3.retry_max_attempts == 5
    assert built.s3.retry_mode == "standard"
    assert built.s3.request_timeout == 60
    assert built.s3.request_checksum_calculation == "when_supported"
    assert built.s3.response_checksum_validation == "when_supported"


# --- the S3 settings ----------------------------------------------------------------------------


def test_s3_settings_are_typed_and_empty_text_is_none() -> None:
    s3 = s3_settings(
        {
            "bucket": BUCKET,
            "region": "eu-west-1",
            "endpoint_url": "",
            "aws_profile": None,
            "role_arn": "arn:aws:iam::123456789012:role/aep-export",
            "server_side_encryption": "aws:kms",
            "kms_key_id": "alias/aep",
            "retry_max_attempts": 9,
            "retry_mode": "adaptive",
            "run_id": "run-7",
        }
    )
    assert (s3.bucket, s3.region, s3.endpoint_url, s3.aws_profile) == (
        BUCKET,
        "eu-west-1",
        None,
        None,
    )
    assert s3.role_arn == "arn:aws:iam::123456789012:role/aep-export"
    assert (s3.server_side_encryption, s3.kms_key_id, s3.acl) == ("aws:kms", "alias/aep", None)
    assert (s3.retry_max_attempts, s3.retry_mode, s3.request_timeout) == (9, "adaptive", 60)
    assert s3.run_id == "run-7"


def test_settings_hold_the_s3_settings() -> None:
    built = settings(region="eu-west-1", acl="bucket-owner-full-control", **SECRETS)
    assert built.s3 == s3_settings(
        {"bucket": BUCKET, "region": "eu-west-1", **SECRETS} | {"acl": "bucket-owner-full-control"}
    )
    assert built.s3.secrets == (
        SECRETS["aws_access_key_id"],
        SECRETS["aws_secret_access_key"],
        SECRETS["aws_session_token"],
        None,
    )


def test_no_secret_shows_in_the_settings_repr() -> None:
    built = settings(
        role_arn="arn:aws:iam::123456789012:role/aep-export", external_id="ext-UNIT-42", **SECRETS
    )
    text = repr(built)
    assert "aws:iam::123456789012:role/aep-export" in text  # not secret: shown
    for secret in (*SECRETS.values(), "ext-UNIT-42"):
        assert secret not in text


# --- which record path ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "fast", "features"),
    [
        ({}, True, ()),
        ({"schema_validation": "types"}, True, ()),
        ({"schema_validation": ""}, True, ()),
        ({"schema_validation": "full"}, False, ()),
        ({"stream_maps": {"members": {"email": None}}}, False, ("stream_maps",)),
        ({"flattening_enabled": True}, False, ("flattening_enabled",)),
        ({"add_record_metadata": True}, False, ("add_record_metadata",)),
        ({"flattening_enabled": False, "stream_maps": {}}, True, ()),
    ],
)
def test_the_fast_path_unless_the_sdk_owns_a_feature(
    changes: dict[str, Any], fast: bool, features: tuple[str, ...]
) -> None:
    built = settings(**changes)
    assert built.fast_path is fast
    assert built.sdk_record_features == features


@pytest.mark.parametrize(("value", "expected"), [(True, True), (False, False), (None, False)])
def test_validate_records_is_read_once(value: Any, expected: bool) -> None:
    assert settings(validate_records=value).validate_records is expected
