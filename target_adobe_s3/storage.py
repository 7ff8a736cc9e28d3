"""S3: the client built from settings, bucket region, object options, complete-or-absent uploads."""

from __future__ import annotations

import contextlib
import ctypes
import io
import queue
import threading
from collections.abc import Iterator, Mapping
from concurrent.futures import Future
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from target_adobe_s3.auth import DEFAULT_REGION, auth_problems, boto_problem, make_session
from target_adobe_s3.errors import DeliveryError

if TYPE_CHECKING:
    from typing import IO

    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import CompletedPartTypeDef

__all__ = [
    "PART_SIZE",
    "Uploads",
    "auth_problems",
    "bucket_region",
    "check_bucket",
    "client_config",
    "make_client",
    "object_options",
    "s3_errors",
    "upload_bytes",
    "upload_file",
]

PART_SIZE = 8 * 1024 * 1024
"""Files up to this size go up in one PutObject; larger ones as multipart uploads."""

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
    except BotoCoreError as exc:
        raise DeliveryError(f"{action} failed: {boto_problem(exc)}") from None


_LOCATION_REGIONS = {"": "us-east-1", "EU": "eu-west-1"}
"""GetBucketLocation's legacy answers: no constraint is us-east-1, "EU" is eu-west-1."""


def object_options(config: Mapping[str, Any]) -> dict[str, str]:
    """PutObject/CreateMultipartUpload arguments every object gets: encryption, ACL, class.

    Pass the result as `options` to `upload_file` and `upload_bytes` (data files and the
    manifest alike).
    """
    options: dict[str, str] = {}
    encryption = config.get("server_side_encryption") or None
    if encryption:
        options["ServerSideEncryption"] = str(encryption)
        if encryption == "aws:kms" and config.get("kms_key_id"):
            options["SSEKMSKeyId"] = str(config["kms_key_id"])
    if config.get("acl"):
        options["ACL"] = str(config["acl"])
    if config.get("storage_class"):
        options["StorageClass"] = str(config["storage_class"])
    return options


def client_config(config: Mapping[str, Any]) -> Config:
    """The botocore Config built from the retry and timeout settings.

    `retry_max_attempts` counts every attempt, the first included, so it is passed as
    botocore's `total_max_attempts`. The `max_attempts` key of the `retries` dict would
    be off by one: in every retry mode (legacy, standard, adaptive) it counts the
    retries after the first attempt, and botocore sets `total_max_attempts` to it plus
    one (`_compute_retry_max_attempts` in botocore/args.py). `request_timeout` is both
    the connect and the read timeout: a connection that sends nothing for that long
    fails its attempt, which is then retried like a 500 or a reset.
    """
    timeout = config.get("request_timeout") or 60
    return Config(
        retries={
            "total_max_attempts": int(config.get("retry_max_attempts") or 5),
            "mode": config.get("retry_mode") or "standard",
        },
        connect_timeout=timeout,
        read_timeout=timeout,
        s3={"addressing_style": "path"} if config.get("endpoint_url") else {},
        user_agent_extra="target-adobe-s3",
    )


def _client(session: boto3.session.Session, config: Mapping[str, Any], region: str) -> S3Client:
    endpoint = config.get("endpoint_url") or None
    return session.client(
        "s3", region_name=region, endpoint_url=endpoint, config=client_config(config)
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


def make_client(
    config: Mapping[str, Any], *, session: boto3.session.Session | None = None
) -> S3Client:
    """The one S3 client of a run, built from the settings (see `auth.make_session`).

    Without `region`, the bucket's region is looked up and the client built for it.
    """
    with s3_errors("creating the S3 client"):
        session = session or make_session(config)
        region = config.get("region") or None
        default = cast("str | None", session.region_name) or DEFAULT_REGION
        client = _client(session, config, region or default)
        if region or not config.get("bucket"):
            return client
        found = bucket_region(client, str(config["bucket"]))
        if found and found != client.meta.region_name:
            client = _client(session, config, found)
        return client


def check_bucket(client: S3Client, bucket: str) -> None:
    """Fail early, before any input is read, when the bucket cannot be reached."""
    with s3_errors(f"checking bucket '{bucket}'"):
        client.head_bucket(Bucket=bucket)


def upload_bytes(
    client: S3Client,
    bucket: str,
    key: str,
    data: bytes,
    options: Mapping[str, str] | None = None,
) -> None:
    """Upload a small object (a manifest, a probe) in one PutObject, with `object_options`.

    `options` may also carry other PutObject arguments such as ContentType.
    """
    extra: dict[str, Any] = dict(options or {})
    with s3_errors(f"uploading s3://{bucket}/{key}"):
        client.put_object(Bucket=bucket, Key=key, Body=data, **extra)


class FileSlice(io.RawIOBase):
    """A seekable window on an open file: one multipart part, read as botocore asks.

    botocore reads a body in small blocks (checksum, then the request) and seeks back to
    retry, so a part never has to sit whole in memory: with several uploads at once,
    8 MiB parts each read into a bytes object would dominate the process's memory.
    """

    def __init__(self, file: io.BufferedReader, start: int, length: int) -> None:
        super().__init__()
        self._file = file
        self._start = start
        self._length = length
        self._position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._length}[whence]
        self._position = max(0, min(self._length, base + offset))
        return self._position

    def __len__(self) -> int:
        return self._length

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        wanted = min(len(view), self._length - self._position)
        if wanted <= 0:
            return 0
        self._file.seek(self._start + self._position)
        count = self._file.readinto(view[:wanted]) or 0
        self._position += count
        return count


def upload_file(
    client: S3Client,
    bucket: str,
    key: str,
    path: Path,
    *,
    options: Mapping[str, str] | None = None,
    stop: threading.Event | None = None,
) -> None:
    """Upload a file so that the key shows either nothing or the whole file.

    Small files use one PutObject. Larger ones use a multipart upload that is
    completed last and aborted on any failure or interruption, or when `stop` is set
    (checked before each request: the run failed or was stopped in another thread).
    `options` (see `object_options`) go with the PutObject or the CreateMultipartUpload.

    Raises:
        DeliveryError: S3 refused, the attempts ran out, or `stop` was set.
    """
    where = f"uploading s3://{bucket}/{key}"
    extra: dict[str, Any] = dict(options or {})
    size = path.stat().st_size

    def check_stop() -> None:
        if stop is not None and stop.is_set():
            raise DeliveryError(f"{where} stopped: another upload failed or the run was stopped")

    check_stop()
    with s3_errors(where):
        if size <= PART_SIZE:
            with path.open("rb") as whole:
                client.put_object(Bucket=bucket, Key=key, Body=whole, **extra)
            return
        upload_id = _start_upload(client, bucket, key, extra)
    try:
        with s3_errors(where):
            parts: list[CompletedPartTypeDef] = []
            with path.open("rb") as file:
                for number, start in enumerate(range(0, size, PART_SIZE), start=1):
                    check_stop()
                    part = FileSlice(file, start, min(PART_SIZE, size - start))
                    etag = client.upload_part(
                        Bucket=bucket,
                        Key=key,
                        UploadId=upload_id,
                        PartNumber=number,
                        Body=cast("IO[bytes]", part),
                    )["ETag"]
                    parts.append({"ETag": etag, "PartNumber": number})
            check_stop()
            client.complete_multipart_upload(
                Bucket=bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts}
            )
    except BaseException:
        with contextlib.suppress(Exception):
            client.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
        raise


def limit_malloc_arenas(count: int = 2) -> bool:
    """Cap glibc's malloc arenas (M_ARENA_MAX); call it before any thread starts.

    glibc gives threads arenas of their own (the SDK's drain threads, the uploads), and
    the buffers they free stay in each arena: with four uploads, a million-record run
    peaked 7-11 MiB higher. glibc fixes the cap when the first thread allocates, so it is
    set when the export starts. Returns False where the C library has no `mallopt` (not
    glibc): nothing done.
    """
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(_M_ARENA_MAX, count))


_M_ARENA_MAX = -8


class Uploads:
    """Several `upload_file`s at once, on daemon threads, that one `stop` ends together.

    Daemon threads, so that a run stopped by SIGTERM exits at once instead of waiting for
    a request that hangs: `stop` aborts, from the calling thread, the multipart uploads
    that were under way, and their threads die with the process.
    """

    def __init__(
        self, client: S3Client, bucket: str, options: Mapping[str, str] | None = None
    ) -> None:
        self.client = client
        self.bucket = bucket
        self.options = dict(options or {})
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._under_way: set[str] = set()

    def start(self, files: list[tuple[str, Path]], workers: int) -> list[Future[None]]:
        """Start uploading (key, path) pairs, `workers` at a time; one future per pair."""
        results: list[Future[None]] = [Future() for _ in files]
        jobs: queue.SimpleQueue[int] = queue.SimpleQueue()
        for index in range(len(files)):
            jobs.put(index)

        def work() -> None:
            while not self._stop.is_set():
                try:
                    index = jobs.get_nowait()
                except queue.Empty:
                    return
                key, path = files[index]
                if not results[index].set_running_or_notify_cancel():
                    continue
                with self._lock:
                    self._under_way.add(key)
                try:
                    upload_file(
                        self.client, self.bucket, key, path, options=self.options, stop=self._stop
                    )
                except BaseException as exc:  # handed to the caller through the future
                    results[index].set_exception(exc)
                else:
                    results[index].set_result(None)
                finally:
                    with self._lock:
                        self._under_way.discard(key)

        for number in range(max(1, min(workers, len(files)))):
            threading.Thread(target=work, name=f"upload-{number + 1}", daemon=True).start()
        return results

    def stop(self) -> None:
        """Start no more uploads and abort the multipart uploads under way."""
        self._stop.set()
        with self._lock:
            keys = sorted(self._under_way)
        for key in keys:
            _abort_other_uploads(self.client, self.bucket, key, keep=None)


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
        _abort_other_uploads(client, bucket, key, keep=None)
        raise
    upload_id = answer["UploadId"]
    if answer.get("ResponseMetadata", {}).get("RetryAttempts"):
        _abort_other_uploads(client, bucket, key, keep=upload_id)
    return upload_id


def _abort_other_uploads(client: S3Client, bucket: str, key: str, keep: str | None) -> None:
    with contextlib.suppress(ClientError, BotoCoreError):
        listing = client.list_multipart_uploads(Bucket=bucket, Prefix=key)
        for upload in listing.get("Uploads", []):
            if upload.get("Key") == key and upload.get("UploadId") != keep:
                with contextlib.suppress(ClientError, BotoCoreError):
                    client.abort_multipart_upload(
                        Bucket=bucket, Key=key, UploadId=upload["UploadId"]
                    )
