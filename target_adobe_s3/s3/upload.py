"""One object uploaded so that its key shows nothing or the whole file, then verified.

Small files go up in one PutObject, larger ones as a multipart upload completed last and
aborted by its UploadId on failure; `OpenUploads` (open_uploads.py) lists the UploadIds still
open so that a
failed or stopped run aborts each. Each object is then checked (`verify.verify_stored`).
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from botocore.exceptions import BotoCoreError, ClientError

from target_adobe_s3.errors import DeliveryError
from target_adobe_s3.s3.client import s3_errors
from target_adobe_s3.s3.verify import (
    FileSlice,
    b64,
    checksum_arguments,
    composite_sha256,
    verify_stored,
    window_sha256,
)

if TYPE_CHECKING:
    from typing import IO

    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import CompletedPartTypeDef

    from target_adobe_s3.s3.open_uploads import OpenUploads

PART_SIZE = 8 * 1024 * 1024
"""Files up to this size go up in one PutObject; larger ones as multipart uploads."""

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


def upload_file(
    client: S3Client,
    bucket: str,
    key: str,
    path: Path,
    *,
    options: Mapping[str, str] | None = None,
    stop: threading.Event | None = None,
    sha256: str | None = None,
    opened: OpenUploads | None = None,
) -> None:
    """Upload a file so that the key shows either nothing or the whole file, verified.

    Small files use one PutObject. Larger ones use a multipart upload that is
    completed last and aborted on any failure or interruption, or when `stop` is set
    (checked before each request: the run failed or was stopped in another thread);
    its UploadId is in `opened` while it is open. `options` (see `object_options`) go
    with the PutObject or the CreateMultipartUpload, with the key's `content_type`
    unless they name one. `sha256` is the file's SHA-256 (hex) when already known.
    The stored object is then checked (see `verify_stored`).

    Raises:
        DeliveryError: S3 refused, the attempts ran out, `stop` was set, or S3 stored
            something else than the file.
    """
    where = f"uploading s3://{bucket}/{key}"
    extra: dict[str, Any] = {"ContentType": content_type(key), **dict(options or {})}
    extra.update(checksum_arguments(client))
    size = path.stat().st_size

    def check_stop() -> None:
        if stop is not None and stop.is_set():
            raise DeliveryError(f"{where} stopped: another upload failed or the run was stopped")

    check_stop()
    if size > PART_SIZE:
        checksum = _upload_parts(
            client, bucket, key, path, extra=extra, check_stop=check_stop, opened=opened
        )
    else:
        checksum = _put_file(client, bucket, key, path, extra=extra, sha256=sha256)
    verify_stored(client, bucket, key, size, checksum)


def _put_file(
    client: S3Client,
    bucket: str,
    key: str,
    path: Path,
    *,
    extra: Mapping[str, Any],
    sha256: str | None,
) -> str | None:
    """One PutObject of the whole file; its checksum as S3 shows it (None without)."""
    with s3_errors(f"uploading s3://{bucket}/{key}"), path.open("rb") as whole:
        client.put_object(Bucket=bucket, Key=key, Body=whole, **extra)
        if "ChecksumAlgorithm" not in extra:
            return None
        if sha256:
            return b64(bytes.fromhex(sha256))
        return b64(window_sha256(whole, 0, path.stat().st_size))


def _upload_parts(
    client: S3Client,
    bucket: str,
    key: str,
    path: Path,
    *,
    extra: Mapping[str, Any],
    check_stop: Callable[[], None],
    opened: OpenUploads | None,
) -> str | None:
    """A multipart upload of the file, completed or aborted; its checksum as S3 shows it.

    With checksums, each part's SHA-256 is read from the file here, independently of
    the one botocore sends with the part; S3 keeps the parts' checksums and shows the
    object's as `composite_sha256` of them, which is what `verify_stored` compares.
    """
    where = f"uploading s3://{bucket}/{key}"
    size = path.stat().st_size
    algorithm = (
        {"ChecksumAlgorithm": extra["ChecksumAlgorithm"]} if "ChecksumAlgorithm" in extra else {}
    )
    if opened is not None:
        opened.creating(key)
    try:
        with s3_errors(where):
            upload_id = _start_upload(client, bucket, key, extra)
    except BaseException:
        if opened is not None:
            opened.created(None, key)
        raise
    if opened is not None:
        opened.add(upload_id, key)
    digests: list[bytes] = []
    try:
        with s3_errors(where):
            parts: list[CompletedPartTypeDef] = []
            with path.open("rb") as file:
                for number, start in enumerate(range(0, size, PART_SIZE), start=1):
                    check_stop()
                    length = min(PART_SIZE, size - start)
                    part: CompletedPartTypeDef = {"PartNumber": number}
                    if algorithm:
                        digests.append(window_sha256(file, start, length))
                        part["ChecksumSHA256"] = b64(digests[-1])
                    part["ETag"] = client.upload_part(
                        Bucket=bucket,
                        Key=key,
                        UploadId=upload_id,
                        PartNumber=number,
                        Body=cast("IO[bytes]", FileSlice(file, start, length)),
                        **algorithm,
                    )["ETag"]
                    parts.append(part)
            check_stop()
            client.complete_multipart_upload(
                Bucket=bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts}
            )
    except BaseException:
        with contextlib.suppress(Exception):
            client.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
        raise
    finally:
        if opened is not None:
            opened.discard(upload_id)
    return composite_sha256(digests) if algorithm else None


def _start_upload(client: S3Client, bucket: str, key: str, extra: Mapping[str, Any]) -> str:
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
