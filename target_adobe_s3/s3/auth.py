"""AWS credentials from the settings: keys, a profile, an assumed role or boto3's default chain.

Nothing here logs or formats a secret: messages name settings, never their values.
"""

from __future__ import annotations

import logging
import os
import re
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import boto3
import botocore.session
from botocore.config import Config
from botocore.credentials import (
    CredentialProvider,
    CredentialResolver,
    DeferredRefreshableCredentials,
)
from botocore.exceptions import BotoCoreError, NoCredentialsError

from target_adobe_s3.s3.redact import hide_secrets

if TYPE_CHECKING:
    from target_adobe_s3.s3.settings import S3Settings

ROLE_DURATION_SECONDS = 3600
"""Each assumed-role session lasts an hour; botocore refreshes it ~15 minutes before expiry."""

DEFAULT_REGION = "us-east-1"

_REGION_RE = re.compile(r"^[a-z]{2,4}(-[a-z]+)+-[0-9]{1,2}$")  # eu-west-1, eusc-de-east-1
_URL_UNSAFE_RE = re.compile(r"[\s\x00-\x1f\x7f]")
_EXTERNAL_ID_RE = re.compile(r"^[\w+=,.@:/-]{2,1224}$")
_SESSION_UNSAFE_RE = re.compile(r"[^\w+=,.@-]")
_AWS_HOST_SUFFIXES = (".amazonaws.com", ".amazonaws.com.cn", ".api.aws")

NO_CREDENTIALS = (
    "no AWS credentials found (Unable to locate credentials); set aws_access_key_id and "
    "aws_secret_access_key, or aws_profile (role_arn then assumes a role with them), or "
    "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment"
)


def boto_problem(exc: BotoCoreError) -> str:
    """A botocore error as the user reads it: finding no credentials says how to give them."""
    if isinstance(exc, NoCredentialsError):
        return NO_CREDENTIALS
    return str(exc)


def auth_problems(s3: S3Settings) -> list[str]:
    """Problems with the S3 and credential settings, each starting with a setting's name."""
    problems: list[str] = []
    has_id, has_secret = bool(s3.aws_access_key_id), bool(s3.aws_secret_access_key)
    if has_id and not has_secret:
        problems.append(
            "aws_access_key_id: set aws_secret_access_key too, or remove the key id to use "
            "aws_profile or boto3's default credential chain"
        )
    if has_secret and not has_id:
        problems.append(
            "aws_secret_access_key: set aws_access_key_id too, or remove the secret to use "
            "aws_profile or boto3's default credential chain"
        )
    if s3.aws_session_token and not (has_id and has_secret):
        problems.append(
            "aws_session_token: a session token only works with aws_access_key_id and "
            "aws_secret_access_key; set both or remove the token"
        )
    if s3.aws_profile and (has_id or has_secret):
        problems.append(
            "aws_profile: cannot be combined with aws_access_key_id/aws_secret_access_key; "
            "keep either the profile or the keys"
        )
    role_arn = s3.role_arn or ""
    if role_arn and not (role_arn.startswith("arn:") and ":role/" in role_arn):
        problems.append(
            f"role_arn: {role_arn!r} is not an IAM role ARN; use the form "
            "arn:aws:iam::123456789012:role/aep-export"
        )
    if s3.external_id:
        if not role_arn:
            problems.append(
                "external_id: only used when assuming a role; set role_arn or remove external_id"
            )
        elif not _EXTERNAL_ID_RE.fullmatch(s3.external_id):
            problems.append(
                "external_id: must be 2-1224 characters of letters, digits and + = , . @ : / - _ "
                "(the value is not shown because it is secret)"
            )
    if s3.kms_key_id and s3.server_side_encryption != "aws:kms":
        problems.append(
            "kms_key_id: only used with server_side_encryption aws:kms; set "
            "server_side_encryption to aws:kms or remove kms_key_id"
        )
    region = s3.region
    if region and not _REGION_RE.fullmatch(region):
        problems.append(
            f"region: {region!r} is not an AWS region name like eu-west-1, us-gov-west-1 or "
            "cn-north-1; remove it to look the bucket's region up"
        )
    endpoint = s3.endpoint_url
    if endpoint and (problem := endpoint_problem(endpoint)):
        problems.append(f"endpoint_url: {problem}")
    return problems


def endpoint_problem(text: str) -> str | None:
    """Why `text` is not an endpoint of the form http(s)://host[:port][/path], or None.

    The URL is never quoted back: it might hold a password.
    """
    shape = (
        "must be an http:// or https:// URL with a host, e.g. http://127.0.0.1:9000; "
        "remove it to use AWS's own endpoints"
    )
    if _URL_UNSAFE_RE.search(text):
        return f"{shape} (it holds a space or a control character)"
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 (raises ValueError on a bad port)
    except ValueError:
        return shape
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return shape
    if "@" in parts.netloc:
        return (
            "must not hold credentials (user:password@host); give them in "
            "aws_access_key_id/aws_secret_access_key or use aws_profile"
        )
    if parts.query or parts.fragment or text.endswith(("?", "#")):
        return "must not have a query (?...) or a fragment (#...); give the host, port and path"
    return None


def sts_endpoint(endpoint_url: str | None) -> str | None:
    """The endpoint for STS when assuming role_arn; None lets boto3 choose.

    `AWS_ENDPOINT_URL_STS` (boto3's service-specific endpoint variable) always wins. Otherwise
    an `endpoint_url` that is not an AWS host also serves STS: S3-compatible servers that offer
    AssumeRole (MinIO, moto's server) answer it on the same endpoint. An AWS `endpoint_url`
    (a VPC endpoint, FIPS or dual-stack S3) says nothing about STS, so the regional AWS STS
    endpoint is used.
    """
    if os.environ.get("AWS_ENDPOINT_URL_STS") or not endpoint_url:
        return None
    host = (urlsplit(endpoint_url).hostname or "").lower()
    if host.endswith(_AWS_HOST_SUFFIXES):
        return None
    return endpoint_url


def role_session_name(run_id: str | None) -> str:
    """`target-adobe-s3-<run>`, with only the characters STS accepts, at most 64 long."""
    run = _SESSION_UNSAFE_RE.sub("-", run_id or uuid.uuid4().hex[:12])
    return f"target-adobe-s3-{run}"[:64]


def assume_role_refresher(
    sts: Any, role_arn: str, session_name: str, external_id: str | None
) -> Callable[[], dict[str, str]]:
    """A botocore refresh function: a fresh AssumeRole each time the credentials run low."""

    def refresh() -> dict[str, str]:
        request: dict[str, Any] = {
            "RoleArn": role_arn,
            "RoleSessionName": session_name,
            "DurationSeconds": ROLE_DURATION_SECONDS,
        }
        if external_id:
            request["ExternalId"] = external_id
        credentials = sts.assume_role(**request)["Credentials"]
        hide_secrets(
            credentials["AccessKeyId"], credentials["SecretAccessKey"], credentials["SessionToken"]
        )
        return {
            "access_key": credentials["AccessKeyId"],
            "secret_key": credentials["SecretAccessKey"],
            "token": credentials["SessionToken"],
            "expiry_time": credentials["Expiration"].isoformat(),
        }

    return refresh


class _OneLineRefreshFailures(logging.Filter):
    """botocore logs a failed refresh with a traceback; keep it to one line."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and str(record.msg).startswith("Refreshing temporary credentials"):
            error = record.exc_info[1]
            record.msg = f"{record.msg} " + str(error).replace("%", "%%")
            record.exc_info = None
            record.exc_text = None
        return True


_ONE_LINE = _OneLineRefreshFailures()


class _AssumedRoleProvider(CredentialProvider):
    """Hands botocore credentials that assume the role on first use and before expiry."""

    METHOD = "assume-role"
    CANONICAL_NAME = "target-adobe-s3-assume-role"

    def __init__(self, refresh: Callable[[], dict[str, str]]) -> None:
        super().__init__()
        self._refresh = refresh

    def load(self) -> DeferredRefreshableCredentials:
        return DeferredRefreshableCredentials(refresh_using=self._refresh, method=self.METHOD)


def credential_source(s3: S3Settings) -> str:
    """Where the credentials come from, for messages (never the secrets themselves)."""
    if s3.role_arn:
        return f"role {s3.role_arn}"
    if s3.aws_access_key_id:
        return "aws_access_key_id" + (" with aws_session_token" if s3.aws_session_token else "")
    if s3.aws_profile:
        return f"profile {s3.aws_profile}"
    return "boto3's default credential chain"


def make_session(s3: S3Settings) -> boto3.session.Session:
    """A boto3 session with the credentials the settings ask for.

    Explicit keys (and session token), else `aws_profile`, else boto3's default chain. With
    `role_arn` those become the source credentials of an STS AssumeRole whose credentials
    are fetched on first use and refreshed before they expire, so long runs keep working.
    """
    hide_secrets(*s3.secrets)
    source = boto3.session.Session(
        aws_access_key_id=s3.aws_access_key_id,
        aws_secret_access_key=s3.aws_secret_access_key,
        aws_session_token=s3.aws_session_token,
        profile_name=s3.aws_profile,
        region_name=s3.region,
    )
    if not s3.role_arn:
        return source
    sts = source.client(
        "sts",
        region_name=source.region_name or DEFAULT_REGION,
        endpoint_url=sts_endpoint(s3.endpoint_url),
        config=Config(
            retries={"max_attempts": 3, "mode": "standard"}, user_agent_extra="target-adobe-s3"
        ),
    )
    refresh = assume_role_refresher(sts, s3.role_arn, role_session_name(s3.run_id), s3.external_id)
    logging.getLogger("botocore.credentials").addFilter(_ONE_LINE)  # once: filters are a set
    role_session = botocore.session.Session(profile=s3.aws_profile)
    role_session.register_component(
        "credential_provider", CredentialResolver([_AssumedRoleProvider(refresh)])
    )
    return boto3.session.Session(botocore_session=role_session, region_name=s3.region)
