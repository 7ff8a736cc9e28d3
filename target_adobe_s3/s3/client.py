"""S3: the client built from settings, bucket region, object options, verified uploads.

Uploads are complete or absent: small files go up in one PutObject, larger ones as a
multipart upload completed last and aborted by its UploadId on failure. Each object is
then checked with one HeadObject: its size against the bytes sent and, when uploads
carry checksums (`request_checksum_calculation` when_supported), its SHA-256 against ours.
"""

from __future__ import annotations

import base64
import contextlib
import ctypes
import hashlib
import io
import queue
import threading
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, SSLError

from target_adobe_s3.errors import DeliveryError
from target_adobe_s3.s3.auth import DEFAULT_REGION, auth_problems, boto_problem, make_session

if TYPE_CHECKING:
    from typing import IO

    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import CompletedPartTypeDef

__all__ = [
    "PART_SIZE",
    "OpenUploads",
    "Uploads",
    "auth_problems",
    "bucket_region",
    "check_bucket",
    "client_config",
    "content_type",
    "make_client",
    "object_options",
    "s3_errors",
    "sends_checksums",
    "stored_problem",
    "upload_bytes",
    "upload_file",
]

PART_SIZE = 8 * 1024 * 1024
"""Files up to this size go up in one PutObject; larger ones as multipart uploads."""

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
    `request_checksum_calculation` and `response_checksum_validation` go to botocore as
    they are (unset: botocore's own default, when_supported, or its environment).
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
        request_checksum_calculation=config.get("request_checksum_calculation") or None,
        response_checksum_validation=config.get("response_checksum_validation") or None,
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


def sends_checksums(client: S3Client) -> bool:
    """Whether uploads carry a SHA-256 for S3 to check and keep.

    They do unless `request_checksum_calculation` is when_required: then, as botocore
    does, no checksum is sent that the operation does not require, and an object is
    verified by its size alone.
    """
    mode = getattr(client.meta.config, "request_checksum_calculation", None)
    return mode != "when_required"


def _b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode()


def composite_sha256(part_digests: list[bytes]) -> str:
    """S3's checksum of a multipart object: SHA-256 of the parts' SHA-256s, `-<parts>`."""
    return f"{_b64(hashlib.sha256(b''.join(part_digests)).digest())}-{len(part_digests)}"


def stored_problem(head: Mapping[str, Any], size: int, checksum: str | None) -> str | None:
    """What differs between a HeadObject answer and what was sent; None when nothing does.

    `checksum` is the object's SHA-256 as S3 shows it (Base64; `<Base64>-<parts>` for a
    multipart object), or None when none was sent. A server that shows no checksum is
    judged by the size alone; one that shows a composite without the `-<parts>` suffix
    (moto) is compared on the Base64 part.
    """
    stored_size = int(head.get("ContentLength", -1))
    if stored_size != size:
        return f"S3 stored {stored_size} bytes, {size} were sent"
    stored = head.get("ChecksumSHA256")
    if checksum is None or not stored:
        return None
    mine, _, my_parts = checksum.partition("-")
    theirs, _, their_parts = str(stored).partition("-")
    if theirs != mine or (their_parts and their_parts != my_parts):
        return f"S3's SHA-256 is {stored}, the file's is {checksum}"
    return None


FRAMING_HINT = (
    " (the server may have kept botocore's aws-chunked framing as the content, as s3rver "
    "does: set request_checksum_calculation and response_checksum_validation to when_required)"
)
"""Said when S3 stored more bytes than were sent with a checksum."""


def verify_stored(client: S3Client, bucket: str, key: str, size: int, checksum: str | None) -> None:
    """Check what S3 stored with one HeadObject; delete the object when it differs.

    Raises:
        DeliveryError: HeadObject failed, or the object differs (naming what differs and
            whether it was deleted).
    """
    where = f"s3://{bucket}/{key}"
    with s3_errors(f"verifying {where} (HeadObject, which needs s3:GetObject)"):
        head = client.head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
    problem = stored_problem(head, size, checksum)
    if problem is None:
        return
    if checksum is not None and int(head.get("ContentLength", 0)) > size:
        problem += FRAMING_HINT
    try:
        client.delete_object(Bucket=bucket, Key=key)
        outcome = "the object was deleted"
    except (ClientError, BotoCoreError) as exc:
        code = exc.response.get("Error", {}).get("Code") if isinstance(exc, ClientError) else exc
        outcome = f"deleting it failed too ({code}): delete it by hand"
    raise DeliveryError(f"verifying {where} failed: {problem}; {outcome}")


def _checksum_arguments(client: S3Client) -> dict[str, Any]:
    """`ChecksumAlgorithm=SHA256` when uploads carry checksums: botocore computes it."""
    return {"ChecksumAlgorithm": "SHA256"} if sends_checksums(client) else {}


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
    extra: dict[str, Any] = {**dict(options or {}), **_checksum_arguments(client)}
    with s3_errors(f"uploading s3://{bucket}/{key}"):
        client.put_object(Bucket=bucket, Key=key, Body=data, **extra)
    checksum = _b64(hashlib.sha256(data).digest()) if extra.get("ChecksumAlgorithm") else None
    verify_stored(client, bucket, key, len(data), checksum)


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


def window_sha256(file: io.BufferedReader, start: int, length: int) -> bytes:
    """SHA-256 of `length` bytes of `file` from `start`, read 1 MiB at a time."""
    digest = hashlib.sha256()
    window = FileSlice(file, start, length)
    buffer = bytearray(1024 * 1024)
    while count := window.readinto(buffer):
        digest.update(memoryview(buffer)[:count])
    return digest.digest()


class OpenUploads:
    """The multipart uploads this run created and has not completed or aborted.

    Upload threads add each UploadId as soon as CreateMultipartUpload answers and remove
    it once the upload is completed or aborted; `abort_all` aborts the rest by id, from
    any thread, whatever ListMultipartUploads allows.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._keys: dict[str, str] = {}

    def add(self, upload_id: str, key: str) -> None:
        """Note an upload that is now open."""
        with self._lock:
            self._keys[upload_id] = key

    def discard(self, upload_id: str) -> None:
        """Forget an upload that was completed or aborted."""
        with self._lock:
            self._keys.pop(upload_id, None)

    def open(self) -> dict[str, str]:
        """UploadId → key of every upload still open."""
        with self._lock:
            return dict(self._keys)

    def abort_all(self, client: S3Client, bucket: str) -> list[str]:
        """Abort every open upload by its id; one line per upload that stays open."""
        problems = []
        for upload_id, key in sorted(self.open().items(), key=lambda item: item[1]):
            try:
                client.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
            except ClientError as exc:
                code = str(exc.response.get("Error", {}).get("Code", "error"))
                if code != "NoSuchUpload":  # completed or aborted meanwhile: nothing open
                    problems.append(_still_open(bucket, key, upload_id, code))
            except BotoCoreError as exc:
                problems.append(_still_open(bucket, key, upload_id, str(exc)))
            self.discard(upload_id)
        return problems


def _still_open(bucket: str, key: str, upload_id: str, reason: str) -> str:
    return (
        f"The multipart upload of s3://{bucket}/{key} (UploadId {upload_id}) could not be "
        f"aborted ({reason}): it stays open, and billed, until aborted by hand or by a "
        "lifecycle rule (AbortIncompleteMultipartUpload)"
    )


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
    extra.update(_checksum_arguments(client))
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
            return _b64(bytes.fromhex(sha256))
        return _b64(window_sha256(whole, 0, path.stat().st_size))


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
    with s3_errors(where):
        upload_id = _start_upload(client, bucket, key, extra)
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
                        part["ChecksumSHA256"] = _b64(digests[-1])
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
    a request that hangs: `stop` aborts, from the calling thread, every multipart upload
    the threads opened (by UploadId), and their threads die with the process.
    """

    def __init__(
        self, client: S3Client, bucket: str, options: Mapping[str, str] | None = None
    ) -> None:
        self.client = client
        self.bucket = bucket
        self.options = dict(options or {})
        self.opened = OpenUploads()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._under_way: set[str] = set()

    def start(self, files: list[tuple[str, Path, str | None]], workers: int) -> list[Future[None]]:
        """Start uploading (key, path, SHA-256 hex or None) files, `workers` at a time.

        Returns one future per file.
        """
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
                key, path, sha256 = files[index]
                if not results[index].set_running_or_notify_cancel():
                    continue
                with self._lock:
                    self._under_way.add(key)
                try:
                    upload_file(
                        self.client,
                        self.bucket,
                        key,
                        path,
                        options=self.options,
                        stop=self._stop,
                        sha256=sha256,
                        opened=self.opened,
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

    def stop(self) -> list[str]:
        """Start no more uploads and abort the multipart uploads under way.

        Each upload the threads opened is aborted by its UploadId; then, as a best-effort
        extra, any other open upload of the keys under way that ListMultipartUploads
        shows (one whose create answer was lost). Returns one line per upload that could
        not be aborted.
        """
        self._stop.set()
        with self._lock:
            keys = sorted(self._under_way)
        problems = self.opened.abort_all(self.client, self.bucket)
        for key in keys:
            _abort_other_uploads(self.client, self.bucket, key, keep=None)
        return problems


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
