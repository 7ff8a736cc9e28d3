"""Credentials' pure parts (s3/auth.py): the STS endpoint and the role session name."""

from __future__ import annotations

import pytest

from target_adobe_s3.s3.auth import (
    role_session_name,
    sts_endpoint,
)


def test_sts_uses_a_non_aws_endpoint_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ENDPOINT_URL_STS", raising=False)
    assert sts_endpoint("http://127.0.0.1:9000") == "http://127.0.0.1:9000"
    assert sts_endpoint("https://s3.eu-west-1.amazonaws.com") is None
    vpc = "https://bucket.vpce-1a2b.s3.us-east-1.vpce.amazonaws.com"
    assert sts_endpoint(vpc) is None
    assert sts_endpoint(None) is None


def test_aws_endpoint_url_sts_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", "http://127.0.0.1:1")
    assert sts_endpoint("http://127.0.0.1:9000") is None


def test_role_session_name_keeps_to_what_sts_accepts() -> None:
    assert role_session_name("run-1") == "target-adobe-s3-run-1"
    name = role_session_name("a b/c:" + "x" * 100)
    assert name.startswith("target-adobe-s3-a-b-c-x")
    assert len(name) == 64
    assert role_session_name(None).startswith("target-adobe-s3-")
