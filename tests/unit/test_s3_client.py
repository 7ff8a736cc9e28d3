"""The S3 client's pure parts (s3/client.py): object options, botocore's config from settings."""

from __future__ import annotations

from typing import Any

from target_adobe_s3.s3.client import client_config, object_options
from target_adobe_s3.settings import s3_settings


def options_of(settings: dict[str, Any]) -> dict[str, str]:
    """The object options of these settings (the others left out)."""
    return object_options(s3_settings(settings))


def test_object_options_from_settings() -> None:
    assert options_of({}) == {}
    assert options_of(
        {
            "server_side_encryption": "aws:kms",
            "kms_key_id": "alias/aep",
            "acl": "bucket-owner-full-control",
            "storage_class": "STANDARD_IA",
        }
    ) == {
        "ServerSideEncryption": "aws:kms",
        "SSEKMSKeyId": "alias/aep",
        "ACL": "bucket-owner-full-control",
        "StorageClass": "STANDARD_IA",
    }
    assert options_of({"server_side_encryption": "AES256", "acl": ""}) == {
        "ServerSideEncryption": "AES256"
    }


def test_client_config_counts_every_attempt() -> None:
    settings = {"retry_max_attempts": 4, "retry_mode": "adaptive", "request_timeout": 7}
    config: Any = client_config(s3_settings(settings))
    assert config.retries == {"total_max_attempts": 4, "mode": "adaptive"}
    assert (config.connect_timeout, config.read_timeout) == (7, 7)
    default: Any = client_config(s3_settings({}))
    assert default.retries == {"total_max_attempts": 5, "mode": "standard"}
    assert (default.connect_timeout, default.read_timeout) == (60, 60)
