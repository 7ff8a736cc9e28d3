"""The requests of one object: part sizes, Content-Type, PutObject, a safe CreateMultipartUpload.

How a run's files use them while input is read (parts in the background, completed last,
aborted by UploadId on failure) is `stream.py`; each object is then checked
(`verify.verify_stored`).
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from target_adobe_s3.s3.client import s3_errors
from target_adobe_s3.s3.verify import b64, checksum_arguments, verify_stored

if TYPE_CHECKING:
    from pathlib import Path

    from mypy_boto3_s3 import S3Client

PART_SIZE = 8 * 1024 * 1024
"""A multipart upload's part size, and the largest file that goes up in one PutObject.

S3 wants at least 5 MiB per part but the last; 8 MiB is botocore's own default chunk: the
requests cost little against the bytes (about one request per 8 MiB), and the temp disk a
file being written holds (about one part) stays small with thousands of files open.
"""
PARTS_PER_SIZE = 1000
"""Parts of one size before the part size doubles (`part_size`)."""
MAX_PARTS = 10_000
"""S3's most parts in one multipart upload."""


def part_size(number: int) -> int:
    """The size of part `number` (from 1): 8 MiB, doubled every 1,000 parts, 4 GiB at most.

    A file's size is unknown while it is written, and S3 takes at most 10,000 parts, each
    at most 5 GiB: fixed 8 MiB parts would stop at 78 GiB. Doubling every 1,000 parts keeps
    small files in small parts and reaches 7.8 TiB at part 10,000, past S3's 5 TiB limit.
    """
    return PART_SIZE << min((number - 1) // PARTS_PER_SIZE, 9)


CONTENT_TYPES: dict[str, str] = {
    "csv": "text/csv; charset=utf-8",
    "json": "application/x-ndjson",
    "parquet": "application/vnd.apache.parquet",
    "gz": "application/gzip",
    "gpg": "application/pgp-encrypted",
}
"""Content-Type by the file name's last extension: the outermost layer decides."""


def content_type(key: str) -> str:
    """The Content-Type of an object by its key's last extension (`.csv.gz` is gzip)."""
    name = key.rpartition("/")[2]
    stem, dot, extension = name.rpartition(".")
    found = CONTENT_TYPES.get(extension.lower()) if dot and stem else None
    return found or "application/octet-stream"


def upload_bytes(
    client: S3Client,
    bucket: str,
    key: str,
    data: bytes,
    options: Mapping[str, str] | None = None,
) -> None:
    """Upload a small object (a manifest) in one PutObject, with `object_options`, verified.

    `options` may also carry other PutObject arguments such as ContentType.

    Raises:
        DeliveryError: S3 refused, or stored something else (see `verify_stored`).
    """
    extra: dict[str, Any] = {**dict(options or {}), **checksum_arguments(client)}
    with s3_errors(f"uploading s3://{bucket}/{key}"):
        client.put_object(Bucket=bucket, Key=key, Body=data, **extra)
    checksum = b64(hashlib.sha256(data).digest()) if extra.get("ChecksumAlgorithm") else None
    verify_stored(client, bucket, key, len(data), checksum)


def put_file(
    client: S3Client,
    bucket: str,
    key: str,
    path: Path,
    *,
    extra: Mapping[str, Any],
    sha256: str,
) -> str | None:
    """One PutObject of a whole file (SHA-256 `sha256`, hex); its checksum as S3 shows it.

    Returns None when no checksum is sent (`extra` without ChecksumAlgorithm).
    """
    with s3_errors(f"uploading s3://{bucket}/{key}"), path.open("rb") as whole:
        client.put_object(Bucket=bucket, Key=key, Body=whole, **extra)
    return b64(bytes.fromhex(sha256)) if "ChecksumAlgorithm" in extra else None


def start_upload(client: S3Client, bucket: str, key: str, extra: Mapping[str, Any]) -> str:
    """CreateMultipartUpload, leaving no upload open that the caller does not know of.

    When an attempt's answer is lost (a reset or a timeout after S3 acted), botocore's
    retry creates a second upload and the first stays open, unseen, for good. So when
    the create needed a retry, or failed or was interrupted, the key's other open
    uploads are aborted (best effort: skipped without s3:ListBucketMultipartUploads).
    This also aborts an upload of the same key by another run at that moment.
    """
    try:
        answer = client.create_multipart_upload(Bucket=bucket, Key=key, **extra)
    except BaseException:
        abort_other_uploads(client, bucket, key, keep=None)
        raise
    upload_id = answer["UploadId"]
    if answer.get("ResponseMetadata", {}).get("RetryAttempts"):
        abort_other_uploads(client, bucket, key, keep=upload_id)
    return upload_id


def abort_other_uploads(client: S3Client, bucket: str, key: str, keep: str | None) -> None:
    """Abort the key's open uploads but `keep`, as far as ListMultipartUploads shows them."""
    with contextlib.suppress(ClientError, BotoCoreError):
        listing = client.list_multipart_uploads(Bucket=bucket, Prefix=key)
        for upload in listing.get("Uploads", []):
            if upload.get("Key") == key and upload.get("UploadId") != keep:
                with contextlib.suppress(ClientError, BotoCoreError):
                    client.abort_multipart_upload(
                        Bucket=bucket, Key=key, UploadId=upload["UploadId"]
                    )
