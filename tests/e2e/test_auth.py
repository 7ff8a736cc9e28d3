"""Credentials: settings checks, assume-role through STS (moto enforcing IAM), STS endpoint."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from botocore.credentials import RefreshableCredentials

from target_adobe_s3.s3.auth import (
    assume_role_refresher,
    auth_problems,
    make_session,
)
from target_adobe_s3.settings import s3_settings
from tests.support.helpers import (
    MEMBER_SCHEMA,
    objects,
    record_message,
    run_target,
    schema_message,
)
from tests.support.iam import IamServer, iam_server
from tests.support.s3_servers import free_port


@pytest.fixture(scope="module")
def iam() -> Iterator[IamServer]:
    with iam_server() as server:
        yield server


# --- settings checks ----------------------------------------------------------------------------

KEYS = {"aws_access_key_id": "AKIAEXAMPLEKEYID1234", "aws_secret_access_key": "s3cr3t-value"}


@pytest.mark.parametrize(
    ("config", "setting"),
    [
        ({"aws_access_key_id": "AKIAEXAMPLEKEYID1234"}, "aws_access_key_id"),
        ({"aws_secret_access_key": "s3cr3t-value"}, "aws_secret_access_key"),
        ({"aws_session_token": "tok3n-value"}, "aws_session_token"),
        ({**KEYS, "aws_profile": "prod"}, "aws_profile"),
        ({"external_id": "ext-1234"}, "external_id"),
        ({"role_arn": "arn:aws:iam::123456789012:role/r", "external_id": "x"}, "external_id"),
        ({"role_arn": "aep-export"}, "role_arn"),
        ({"kms_key_id": "alias/aep"}, "kms_key_id"),
        ({"kms_key_id": "alias/aep", "server_side_encryption": "AES256"}, "kms_key_id"),
        ({"region": "Europe"}, "region"),
        ({"region": "eu-west"}, "region"),
        ({"region": "EU-WEST-1"}, "region"),
        ({"endpoint_url": "127.0.0.1:9000"}, "endpoint_url"),
        ({"endpoint_url": "ftp://example.com"}, "endpoint_url"),
        ({"endpoint_url": "http://"}, "endpoint_url"),
        ({"endpoint_url": "http://host:port"}, "endpoint_url"),
    ],
)
def test_incompatible_settings_are_named(config: dict[str, Any], setting: str) -> None:
    (problem,) = auth_problems(s3_settings(config))
    assert problem.startswith(f"{setting}: ")
    for secret in ("s3cr3t-value", "tok3n-value", "ext-1234"):
        assert secret not in problem


@pytest.mark.parametrize(
    "config",
    [
        {},
        KEYS,
        {**KEYS, "aws_session_token": "token"},
        {"aws_profile": "prod"},
        {"role_arn": "arn:aws:iam::123456789012:role/aep-export", "external_id": "ext-1234"},
        {**KEYS, "role_arn": "arn:aws-cn:iam::123456789012:role/a/b"},
        {"server_side_encryption": "aws:kms", "kms_key_id": "alias/aep"},
        {"region": "eu-west-1"},
        {"region": "us-gov-west-1"},
        {"region": "cn-north-1"},
        {"region": "ap-southeast-2"},
        {"endpoint_url": "http://127.0.0.1:9000"},
        {"endpoint_url": "https://s3.eu-west-1.amazonaws.com/"},
        {"aws_access_key_id": "", "aws_secret_access_key": "", "region": ""},
    ],
)
def test_compatible_settings_pass(config: dict[str, Any]) -> None:
    assert auth_problems(s3_settings(config)) == []


def test_mixed_credentials_fail_the_run_before_reading_input(
    config: dict[str, Any], tmp_path: Path
) -> None:
    config.update(aws_profile="prod", aws_session_token="tok3n-value")
    config.pop("aws_secret_access_key")
    run = run_target(config, "", tmp_path)
    assert run.returncode == 1
    assert "aws_profile: cannot be combined" in run.stderr
    assert "aws_access_key_id: set aws_secret_access_key too" in run.stderr
    assert "aws_session_token: " in run.stderr
    assert "tok3n-value" not in run.stderr


# --- STS endpoint and session name --------------------------------------------------------------


# --- assume role --------------------------------------------------------------------------------


def members(segment: str = "s1") -> list[dict[str, Any]]:
    return [
        schema_message("members", MEMBER_SCHEMA),
        record_message("members", {"segment_id": segment, "email": "a@example.com"}),
    ]


def test_assume_role_writes_with_the_roles_permissions(iam: IamServer, tmp_path: Path) -> None:
    """The source user may only assume the role: the upload works only as the role."""
    bucket = iam.bucket()
    source = iam.user(["sts:AssumeRole"])
    role_arn = iam.role(["s3:*"])
    config = {
        "bucket": bucket,
        "endpoint_url": iam.url,
        "region": "us-east-1",
        **source,
        "export_time": "2024-05-01T06:18:04Z",
        "run_id": "run-1",
        "temp_dir": str(tmp_path),
    }
    denied = run_target(config, members(), tmp_path)
    assert denied.returncode == 1
    assert "AccessDenied" in denied.stderr or "403" in denied.stderr

    config.update(role_arn=role_arn, external_id="aep-ext-1")
    run = run_target(config, members(), tmp_path)
    assert run.returncode == 0, run.stderr
    written = objects(iam.client("s3"), bucket)
    assert [key.startswith("amazon_s3_segments1_") for key in written] == [True]
    assert "aep-ext-1" not in run.stderr


def test_session_credentials_come_from_sts_and_refresh(iam: IamServer) -> None:
    source = iam.user(["sts:AssumeRole"])
    role_arn = iam.role(["s3:ListAllMyBuckets"])
    config = {
        "endpoint_url": iam.url,
        "region": "us-east-1",
        "role_arn": role_arn,
        "run_id": "run-7",
        **source,
    }
    credentials = make_session(s3_settings(config)).get_credentials()
    assert isinstance(credentials, RefreshableCredentials)
    assert credentials.method == "assume-role"
    frozen = credentials.get_frozen_credentials()
    assert frozen.access_key is not None
    assert frozen.secret_key is not None
    assert frozen.access_key.startswith("ASIA")  # STS temporary credentials
    assert frozen.access_key != source["aws_access_key_id"]
    assert frozen.token

    identity = iam.client(
        "sts",
        {
            "aws_access_key_id": frozen.access_key,
            "aws_secret_access_key": frozen.secret_key,
            "aws_session_token": frozen.token,
        },
    ).get_caller_identity()
    role_name = role_arn.rsplit("/", 1)[1]
    assert identity["Arn"] == (
        f"arn:aws:sts::123456789012:assumed-role/{role_name}/target-adobe-s3-run-7"
    )


def test_each_refresh_assumes_the_role_again(iam: IamServer) -> None:
    source = iam.user(["sts:AssumeRole"])
    role_arn = iam.role(["s3:*"])
    refresh = assume_role_refresher(
        iam.client("sts", source), role_arn, "target-adobe-s3-run-9", "ext-9999"
    )
    first, second = refresh(), refresh()
    assert set(first) == {"access_key", "secret_key", "token", "expiry_time"}
    assert first["access_key"] != second["access_key"]
    assert datetime.fromisoformat(first["expiry_time"]).tzinfo is not None


def test_role_denied_to_the_source_is_one_clear_line(iam: IamServer, tmp_path: Path) -> None:
    bucket = iam.bucket()
    source = iam.user(["s3:ListBucket"])  # no sts:AssumeRole
    config = {
        "bucket": bucket,
        "endpoint_url": iam.url,
        "region": "us-east-1",
        **source,
        "role_arn": iam.role(["s3:*"]),
        "temp_dir": str(tmp_path),
    }
    run = run_target(config, members(), tmp_path)
    assert run.returncode == 1
    assert "assuming role_arn failed: AccessDenied" in run.stderr
    assert "Traceback" not in run.stderr


def test_aws_endpoint_url_sts_is_where_the_role_is_assumed(
    config: dict[str, Any], tmp_path: Path, s3: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With AWS_ENDPOINT_URL_STS on a closed port, the role cannot be assumed: nothing written."""
    dead = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", dead)
    config.update(role_arn="arn:aws:iam::123456789012:role/aep-export")
    run = run_target(config, members(), tmp_path)
    assert run.returncode == 1
    assert dead in run.stderr
    assert objects(s3, config["bucket"]) == {}


def test_assume_role_on_the_s3_endpoint(config: dict[str, Any], tmp_path: Path, s3: Any) -> None:
    """Without AWS_ENDPOINT_URL_STS, a local endpoint_url serves STS too."""
    config.update(role_arn="arn:aws:iam::123456789012:role/aep-export", external_id="ext-1234")
    run = run_target(config, members(), tmp_path)
    assert run.returncode == 0, run.stderr
    assert len(objects(s3, config["bucket"])) == 1
