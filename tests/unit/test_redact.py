"""Credential text is masked (s3/redact.py): keys, tokens, their Base64 and signing headers."""

from __future__ import annotations

import base64

import pytest

from target_adobe_s3.s3.redact import hide_secrets, redact


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "x-amz-security-token:FAKEtoken123\nx-amz-date:20240501T000000Z",
            "x-amz-security-token:***\nx-amz-date:20240501T000000Z",
            id="canonical-request",
        ),
        pytest.param(
            "{'X-Amz-Security-Token': b'FAKEtoken123', 'X-Amz-Date': b'1'}",
            "{'X-Amz-Security-Token': b'***', 'X-Amz-Date': b'1'}",
            id="headers",
        ),
        pytest.param(
            "Credential=AKIDEXAMPLE/20240501/us-east-1/s3/aws4_request, SignedHeaders=host",
            "Credential=***/20240501/us-east-1/s3/aws4_request, SignedHeaders=host",
            id="authorization",
        ),
        pytest.param(
            "https://b.s3.amazonaws.com/k?X-Amz-Credential=AKIDEXAMPLE%2F20240501&X-Amz-Security-Token=abc%2Bdef&x=1",
            "https://b.s3.amazonaws.com/k?X-Amz-Credential=***%2F20240501&X-Amz-Security-Token=***&x=1",
            id="presigned-url",
        ),
        pytest.param(
            "<AccessKeyId>ASIA1</AccessKeyId><SecretAccessKey>s/k</SecretAccessKey>"
            "<SessionToken>t==</SessionToken>",
            "<AccessKeyId>***</AccessKeyId><SecretAccessKey>***</SecretAccessKey>"
            "<SessionToken>***</SessionToken>",
            id="sts-answer",
        ),
        pytest.param("SignedHeaders=host;x-amz-security-token, Signature=ab", None, id="names"),
    ],
)
def test_redact_credential_text(text: str, expected: str | None) -> None:
    assert redact(text) == (text if expected is None else expected)


def test_known_secrets_and_their_base64_are_hidden() -> None:
    hide_secrets("S3cretValueForRedactTest", None, "")
    encoded = base64.b64encode(b"S3cretValueForRedactTest").decode()
    assert redact(f"a S3cretValueForRedactTest b {encoded} c") == "a *** b *** c"
