"""S3: the one client of a run, built from the S3 settings; bucket region; error translation.

Also the arguments every object gets (`object_options`: encryption, ACL, storage class).
Uploads are in `stream` (a run's files, sent while input is read) and `upload` (one object's
requests); what S3 stored is checked in `verify`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, cast

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, SSLError

from target_adobe_s3.errors import DeliveryError
from target_adobe_s3.s3.auth import DEFAULT_REGION, boto_problem, make_session

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

    from target_adobe_s3.s3.settings import S3Settings

_SSL_HINT = (
    "the server's certificate is not trusted: for a private CA or a self-signed certificate, "
    "set AWS_CA_BUNDLE to its PEM file"
)
_ROLE_HINTS = {
    "AccessDenied": "the source credentials may not assume the role, or the trust policy's "
    "external id does not match external_id",
    "InvalidClientTokenId": "the source credentials are not known to STS",
    "ExpiredToken": "the source session token has expired",
}


@contextlib.contextmanager
def s3_errors(action: str) -> Iterator[None]:
    """Turn boto errors into one-line DeliveryErrors that say what was being done."""
    try:
        yield
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code = error.get("Code", "error")
        text = error.get("Message") or ""
        hint = {
            "NoSuchBucket": "the bucket does not exist",
            "404": "the bucket does not exist",
            "AccessDenied": "access denied: check the credentials and the IAM policy",
            "403": "access denied: check the credentials and the IAM policy",
            "InvalidAccessKeyId": "the access key id is not known",
            "SignatureDoesNotMatch": "the secret access key is wrong",
            "PermanentRedirect": "the bucket is in another region: fix or remove region",
            "301": "the bucket is in another region: fix or remove region",
            "AuthorizationHeaderMalformed": "wrong region for the bucket: fix or remove region",
            "ExpiredToken": "the session token has expired: renew it, or use role_arn",
            "InvalidToken": "the session token is not valid: renew it, or use role_arn",
        }.get(code, text)
        if exc.operation_name == "AssumeRole":
            action = f"{action}: assuming role_arn"
            hint = _ROLE_HINTS.get(code, text)
        raise DeliveryError(f"{action} failed: {code}" + (f" ({hint})" if hint else "")) from None
    except SSLError as exc:
        raise DeliveryError(f"{action} failed: {exc} ({_SSL_HINT})") from None
    except BotoCoreError as exc:
        raise DeliveryError(f"{action} failed: {boto_problem(exc)}") from None


_LOCATION_REGIONS = {"": "us-east-1", "EU": "eu-west-1"}
"""GetBucketLocation's legacy answers: no constraint is us-east-1, "EU" is eu-west-1."""


def object_options(s3: S3Settings) -> dict[str, str]:
    """PutObject/CreateMultipartUpload arguments every object gets: encryption, ACL, class.

    Pass the result as `options` to `stream.Uploads` and `upload_bytes` (data files and the
    manifest alike).
    """
    options: dict[str, str] = {}
    if s3.server_side_encryption:
        options["ServerSideEncryption"] = s3.server_side_encryption
        if s3.server_side_encryption == "aws:kms" and s3.kms_key_id:
            options["SSEKMSKeyId"] = s3.kms_key_id
    if s3.acl:
        options["ACL"] = s3.acl
    if s3.storage_class:
        options["StorageClass"] = s3.storage_class
    return options


def client_config(s3: S3Settings) -> Config:
    """The botocore Config built from the retry and timeout settings.

    `retry_max_attempts` counts every attempt, the first included, so it is passed as
    botocore's `total_max_attempts`. The `max_attempts` key of the `retries` dict would
    be off by one: in every retry mode (legacy, standard, adaptive) it counts the
    retries after the first attempt, and botocore sets `total_max_attempts` to it plus
    one (`_compute_retry_max_attempts` in botocore/args.py). `request_timeout` is both
    the connect and the read timeout: a connection that sends nothing for that long
    fails its attempt, which is then retried like a 500 or a reset.
    `request_checksum_calculation` and `response_checksum_validation` go to botocore as
    they are (unset: botocore's own default, when_supported, or its environment).
    """
    return Config(
        retries={"total_max_attempts": s3.retry_max_attempts, "mode": s3.retry_mode},
        connect_timeout=s3.request_timeout,
        read_timeout=s3.request_timeout,
        s3={"addressing_style": "path"} if s3.endpoint_url else {},
        user_agent_extra="target-adobe-s3",
        request_checksum_calculation=s3.request_checksum_calculation,
        response_checksum_validation=s3.response_checksum_validation,
    )


def _client(session: boto3.session.Session, s3: S3Settings, region: str) -> S3Client:
    return session.client(
        "s3", region_name=region, endpoint_url=s3.endpoint_url, config=client_config(s3)
    )


def bucket_region(client: S3Client, bucket: str) -> str | None:
    """The bucket's region from GetBucketLocation, else from HeadBucket's region header.

    None when neither tells (the bucket is missing, or S3 refuses both).
    """
    try:
        answer = client.get_bucket_location(Bucket=bucket)
        constraint = cast("str | None", answer.get("LocationConstraint"))
    except ClientError:
        pass
    else:
        text = str(constraint or "")
        return _LOCATION_REGIONS.get(text, text)
    try:
        headers = client.head_bucket(Bucket=bucket)["ResponseMetadata"]["HTTPHeaders"]
    except ClientError as exc:  # S3 names the region even when it refuses or redirects
        headers = exc.response.get("ResponseMetadata", {}).get("HTTPHeaders", {})
    return headers.get("x-amz-bucket-region") or None


def make_client(s3: S3Settings, *, session: boto3.session.Session | None = None) -> S3Client:
    """The one S3 client of a run, built from the settings (see `auth.make_session`).

    Without `region`, the bucket's region is looked up and the client built for it.
    """
    with s3_errors("creating the S3 client"):
        session = session or make_session(s3)
        default = cast("str | None", session.region_name) or DEFAULT_REGION
        client = _client(session, s3, s3.region or default)
        if s3.region or not s3.bucket:
            return client
        found = bucket_region(client, s3.bucket)
        if found and found != client.meta.region_name:
            client = _client(session, s3, found)
        return client


def check_bucket(client: S3Client, bucket: str) -> None:
    """Fail early, before any input is read, when the bucket cannot be reached."""
    with s3_errors(f"checking bucket '{bucket}'"):
        client.head_bucket(Bucket=bucket)
