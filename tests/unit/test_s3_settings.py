"""The s3 layer takes typed settings (S3Settings): object options, botocore config, sources."""

from __future__ import annotations

from typing import Any

import pytest

from target_adobe_s3.s3.auth import credential_source, sts_endpoint
from target_adobe_s3.s3.client import client_config, object_options
from target_adobe_s3.settings import s3_settings


def test_object_options_from_the_s3_settings() -> None:
    assert object_options(s3_settings({})) == {}
    assert object_options(
        s3_settings({"server_side_encryption": "AES256", "kms_key_id": "alias/k", "acl": ""})
    ) == {"ServerSideEncryption": "AES256"}  # the KMS key goes only with aws:kms
    assert object_options(
        s3_settings(
            {
                "server_side_encryption": "aws:kms",
                "kms_key_id": "alias/k",
                "storage_class": "GLACIER_IR",
            }
        )
    ) == {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": "alias/k", "StorageClass": "GLACIER_IR"}


def test_client_config_takes_the_schemas_defaults() -> None:
    config: Any = client_config(s3_settings({}))
    assert config.retries == {"total_max_attempts": 5, "mode": "standard"}
    assert (config.connect_timeout, config.read_timeout) == (60, 60)
    assert config.s3 == {}
    assert config.request_checksum_calculation == "when_supported"
    assert config.response_checksum_validation == "when_supported"


def test_client_config_from_given_settings() -> None:
    config: Any = client_config(
        s3_settings(
            {
                "retry_max_attempts": 2,
                "retry_mode": "adaptive",
                "request_timeout": 9,
                "endpoint_url": "http://127.0.0.1:9000",
                "request_checksum_calculation": "when_required",
            }
        )
    )
    assert config.retries == {"total_max_attempts": 2, "mode": "adaptive"}
    assert (config.connect_timeout, config.read_timeout) == (9, 9)
    assert config.s3 == {"addressing_style": "path"}
    assert config.request_checksum_calculation == "when_required"
    assert config.user_agent_extra == "target-adobe-s3"


def test_credential_source_names_settings_never_values() -> None:
    keys = {"aws_access_key_id": "AKIAUNIT1234", "aws_secret_access_key": "s3cret"}
    assert credential_source(s3_settings({})) == "boto3's default credential chain"
    assert credential_source(s3_settings(keys)) == "aws_access_key_id"
    assert (
        credential_source(s3_settings({**keys, "aws_session_token": "tok"}))
        == "aws_access_key_id with aws_session_token"
    )
    assert credential_source(s3_settings({"aws_profile": "prod"})) == "profile prod"
    role = "arn:aws:iam::123456789012:role/aep-export"
    assert credential_source(s3_settings({**keys, "role_arn": role})) == f"role {role}"


def test_sts_endpoint_follows_a_local_endpoint_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ENDPOINT_URL_STS", raising=False)
    assert sts_endpoint("http://127.0.0.1:9000") == "http://127.0.0.1:9000"
    assert sts_endpoint("https://s3.eu-west-1.amazonaws.com") is None
    assert sts_endpoint(None) is None
