"""S3: the client built from settings, bucket check, complete-or-absent uploads."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from target_adobe_s3.errors import DeliveryError

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import CompletedPartTypeDef

PART_SIZE = 8 * 1024 * 1024
"""Files up to this size go up in one PutObject; larger ones as multipart uploads."""


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
        }.get(code, text)
        raise DeliveryError(f"{action} failed: {code}" + (f" ({hint})" if hint else "")) from None
    except BotoCoreError as exc:
        raise DeliveryError(f"{action} failed: {exc}") from None


def auth_problems(config: Mapping[str, Any]) -> list[str]:
    """Problems with the S3 and credential settings, each starting with a setting's name."""
    return []


def make_client(config: Mapping[str, Any]) -> S3Client:
    """One S3 client from the settings; credentials fall back to boto3's default chain."""
    endpoint = config.get("endpoint_url") or None
    botocore_config = Config(
        retries={"max_attempts": 5, "mode": "standard"},
        s3={"addressing_style": "path"} if endpoint else {},
        user_agent_extra="target-adobe-s3",
    )
    with s3_errors("creating the S3 client"):
        session = boto3.session.Session(
            aws_access_key_id=config.get("aws_access_key_id") or None,
            aws_secret_access_key=config.get("aws_secret_access_key") or None,
            aws_session_token=config.get("aws_session_token") or None,
            profile_name=config.get("aws_profile") or None,
            region_name=config.get("region") or None,
        )
        return session.client("s3", endpoint_url=endpoint, config=botocore_config)


def check_bucket(client: S3Client, bucket: str) -> None:
    """Fail early, before any input is read, when the bucket cannot be reached."""
    with s3_errors(f"checking bucket '{bucket}'"):
        client.head_bucket(Bucket=bucket)


def upload_file(client: S3Client, bucket: str, key: str, path: Path) -> None:
    """Upload a file so that the key shows either nothing or the whole file.

    Small files use one PutObject. Larger ones use a multipart upload that is
    completed last and aborted on any failure or interruption.
    """
    where = f"uploading s3://{bucket}/{key}"
    size = path.stat().st_size
    with s3_errors(where):
        if size <= PART_SIZE:
            with path.open("rb") as body:
                client.put_object(Bucket=bucket, Key=key, Body=body)
            return
        upload_id = client.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    try:
        with s3_errors(where):
            parts: list[CompletedPartTypeDef] = []
            with path.open("rb") as body:
                number = 1
                while chunk := body.read(PART_SIZE):
                    etag = client.upload_part(
                        Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=chunk
                    )["ETag"]
                    parts.append({"ETag": etag, "PartNumber": number})
                    number += 1
            client.complete_multipart_upload(
                Bucket=bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts}
            )
    except BaseException:
        with contextlib.suppress(Exception):
            client.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
        raise
