"""A run's objects, uploaded while input is read: parts in the background, completed last.

`Uploads` is the run's pool of `upload_concurrency` daemon threads. Each file is an
`ObjectUpload` under its key: its first full part creates the multipart upload, and each
full part goes up on a thread while input goes on (`send`). At most two parts per thread
wait or fly at once: when S3 lags, input waits, so temp disk stays bounded. After end of
input, `finish` completes the upload (or puts a file that never filled one part in a
single PutObject) and checks what S3 stored against the SHA-256s taken as the bytes were
written. One failure stops the rest; `stop` aborts every multipart upload of the run by
its UploadId, from the calling thread, whatever the threads are doing.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any, Protocol

from target_adobe_s3.errors import DeliveryError
from target_adobe_s3.s3.client import s3_errors
from target_adobe_s3.s3.open_uploads import OpenUploads
from target_adobe_s3.s3.upload import (
    abort_other_uploads,
    content_type,
    part_size,
    put_file,
    start_upload,
)
from target_adobe_s3.s3.verify import (
    FileSlice,
    Readable,
    b64,
    checksum_arguments,
    composite_sha256,
    verify_stored,
)

if TYPE_CHECKING:
    from pathlib import Path
    from typing import IO

    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import CompletedPartTypeDef

QUEUED_PER_THREAD = 2
"""Parts waiting or in flight per upload thread before `send` makes input wait."""


class Body(Protocol):
    """One full part of a file, in a file of its own (files.buffer.Chunk)."""

    @property
    def number(self) -> int:
        """The part's number in its upload: 1, 2, ..."""
        ...

    @property
    def file(self) -> Readable:
        """The file whose first `size` bytes are the part."""
        ...

    @property
    def size(self) -> int:
        """The part's size in bytes."""
        ...

    @property
    def sha256(self) -> bytes:
        """The part's SHA-256, taken as its bytes were written."""
        ...

    @property
    def release(self) -> Callable[[], None]:
        """Hand the file back once the part is up (or dropped)."""
        ...


class Stopped(DeliveryError):
    """An upload not made because another failed or the run was stopped."""


class Uploads:
    """The run's uploads: a bounded pool of threads, what is open, and one `stop` for all."""

    def __init__(
        self,
        client: S3Client,
        bucket: str,
        options: Mapping[str, str] | None = None,
        workers: int = 4,
    ) -> None:
        """Uploads into `bucket` with `options` (see `object_options`), `workers` at a time."""
        self.client = client
        self.bucket = bucket
        self.options = dict(options or {})
        self.workers = max(1, workers)
        self.opened = OpenUploads()
        self.failed: BaseException | None = None
        """The first upload that failed (not one stopped because of it)."""
        self._stop = threading.Event()
        self._state = threading.Condition()
        self._queued = 0
        self._under_way: set[str] = set()
        self._jobs: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []

    def object(self, key: str) -> ObjectUpload:
        """The upload of one file under `key` (nothing is sent before its first part)."""
        return ObjectUpload(self, key)

    def arguments(self, key: str) -> dict[str, Any]:
        """PutObject and CreateMultipartUpload arguments: options, Content-Type, checksum."""
        extra: dict[str, Any] = {"ContentType": content_type(key), **self.options}
        extra.update(checksum_arguments(self.client))
        return extra

    def check(self, where: str) -> None:
        """Raise when the run's uploads failed or were stopped (the first failure itself).

        Raises:
            DeliveryError: an upload failed (that one), or `Stopped`.
        """
        if not self._stop.is_set():
            return
        if self.failed is not None:
            raise self.failed
        raise Stopped(f"{where} stopped: the run was stopped")

    def raise_failure(self) -> None:
        """Raise the run's first failed upload, if one failed."""
        if self.failed is not None:
            raise self.failed

    def fail(self, exc: BaseException) -> None:
        """Note a failed upload (the first one is the run's failure) and stop the others."""
        with self._state:
            if self.failed is None and not isinstance(exc, Stopped):
                self.failed = exc
            self._stop.set()
            self._state.notify_all()

    def submit(self, job: Callable[[], None]) -> None:
        """Run `job` on a thread of the pool, after the jobs submitted before it."""
        if len(self._threads) < self.workers:
            thread = threading.Thread(
                target=self._work, name=f"upload-{len(self._threads) + 1}", daemon=True
            )
            self._threads.append(thread)
            thread.start()
        self._jobs.put(job)

    def _work(self) -> None:
        while (job := self._jobs.get()) is not None:
            job()

    def take_room(self, where: str) -> None:
        """Wait until a part may be queued (backpressure); count it as queued.

        Raises:
            DeliveryError: the uploads failed or were stopped meanwhile.
        """
        with self._state:
            self._state.wait_for(
                lambda: self._queued < self.workers * QUEUED_PER_THREAD or self._stop.is_set()
            )
            self.check(where)
            self._queued += 1

    def give_room(self) -> None:
        """A queued part is up, or failed."""
        with self._state:
            self._queued -= 1
            self._state.notify_all()

    def under_way(self, key: str, *, done: bool = False) -> None:
        """Note that `key` has a multipart upload being created or open (or not, `done`)."""
        with self._state:
            if done:
                self._under_way.discard(key)
            else:
                self._under_way.add(key)

    def stop(self) -> list[str]:
        """Start no more requests and abort every multipart upload of the run.

        Each upload the threads opened is aborted by its UploadId; then, as a best-effort
        extra, any other open upload of the keys under way that ListMultipartUploads
        shows (one whose create answer was lost). The threads end after their request
        (or die with the process). Returns one line per upload that could not be aborted.
        """
        with self._state:
            self._stop.set()
            self._state.notify_all()
            keys = sorted(self._under_way)
        problems = self.opened.abort_all(self.client, self.bucket)
        for key in keys:
            abort_other_uploads(self.client, self.bucket, key, keep=None)
        for _ in self._threads:
            self._jobs.put(None)
        self._threads = []
        return problems


class ObjectUpload:
    """One file's object: parts sent while input is read, completed or put after it."""

    def __init__(self, uploads: Uploads, key: str) -> None:
        self.key = key
        self._uploads = uploads
        self._where = f"uploading s3://{uploads.bucket}/{key}"
        self._create = threading.Lock()
        self._upload_id: str | None = None
        self._create_failed = False
        self._parts: dict[int, CompletedPartTypeDef] = {}
        self._digests: list[bytes] = []
        self._sent: list[Future[None]] = []
        self._size = 0

    def part_size(self, number: int) -> int:
        """The size of part `number` (see `upload.part_size`)."""
        return part_size(number)

    def send(self, chunk: Body) -> None:
        """Upload a full part on a thread of the pool, creating the upload first if needed.

        Waits while too many parts are queued. The chunk is released once it is up, or
        failed; when this raises, it was not taken.

        Raises:
            DeliveryError: the run's uploads failed (the first failure) or were stopped.
        """
        uploads = self._uploads
        uploads.take_room(self._where)
        future: Future[None] = Future()
        self._sent.append(future)
        self._digests.append(chunk.sha256)
        self._size += chunk.size

        def job() -> None:
            try:
                future.set_running_or_notify_cancel()
                self._upload_part(chunk)
            except BaseException as exc:  # handed to the caller through the future
                uploads.fail(exc)
                future.set_exception(exc)
            else:
                future.set_result(None)
            finally:
                chunk.release()
                uploads.give_room()

        uploads.submit(job)

    def finish(self, path: Path | None, size: int, sha256: str) -> Future[None]:
        """After end of input: complete the upload, or put the whole file at `path`, verified.

        `path` is None when parts were sent; `size` and `sha256` (hex) are the whole
        file's. Runs on the pool after every part sent before; the future fails when the
        upload does (the run's first failure stops every other).
        """
        uploads = self._uploads
        future: Future[None] = Future()

        def job() -> None:
            try:
                future.set_running_or_notify_cancel()
                uploads.check(self._where)
                if self._sent:
                    self._complete(size)
                else:
                    assert path is not None, "a file that sent no part is put whole"
                    self._put(path, size, sha256)
            except BaseException as exc:  # handed to the caller through the future
                uploads.fail(exc)
                future.set_exception(exc)
            else:
                future.set_result(None)

        uploads.submit(job)
        return future

    def _upload_id_or_create(self) -> str:
        """The upload's id; the first part to need it creates the upload (others wait)."""
        uploads, key = self._uploads, self.key
        with self._create:
            if self._upload_id is not None:
                return self._upload_id
            if self._create_failed:
                raise Stopped(f"{self._where} stopped: its CreateMultipartUpload failed")
            uploads.under_way(key)
            uploads.opened.creating(key)  # before the check: `stop` then waits for it
            try:
                uploads.check(self._where)
                with s3_errors(self._where):
                    arguments = uploads.arguments(key)
                    upload_id = start_upload(uploads.client, uploads.bucket, key, arguments)
            except BaseException:
                uploads.opened.created(None, key)
                self._create_failed = True
                raise
            uploads.opened.add(upload_id, key)
            self._upload_id = upload_id
            return upload_id

    def _upload_part(self, chunk: Body) -> None:
        uploads = self._uploads
        upload_id = self._upload_id_or_create()
        uploads.check(self._where)
        checksum = "ChecksumAlgorithm" in uploads.arguments(self.key)
        algorithm: dict[str, Any] = {"ChecksumAlgorithm": "SHA256"} if checksum else {}
        body: IO[bytes] = FileSlice(chunk.file, 0, chunk.size)  # type: ignore[assignment]
        with s3_errors(self._where):
            answer = uploads.client.upload_part(
                Bucket=uploads.bucket,
                Key=self.key,
                UploadId=upload_id,
                PartNumber=chunk.number,
                Body=body,
                **algorithm,
            )
        part: CompletedPartTypeDef = {"PartNumber": chunk.number, "ETag": answer["ETag"]}
        if checksum:
            part["ChecksumSHA256"] = b64(chunk.sha256)
        self._parts[chunk.number] = part

    def _complete(self, size: int) -> None:
        """Wait for every part, complete the upload, then check what S3 stored."""
        uploads, key = self._uploads, self.key
        for sent in self._sent:
            sent.result()
        assert self._size == size, "every byte of the file went in a part"
        upload_id = self._upload_id
        assert upload_id is not None
        parts = [self._parts[number] for number in sorted(self._parts)]
        try:
            uploads.check(self._where)
            with s3_errors(self._where):
                uploads.client.complete_multipart_upload(
                    Bucket=uploads.bucket,
                    Key=key,
                    UploadId=upload_id,
                    MultipartUpload={"Parts": parts},
                )
        except BaseException:
            with contextlib.suppress(Exception):
                uploads.client.abort_multipart_upload(
                    Bucket=uploads.bucket, Key=key, UploadId=upload_id
                )
            raise
        finally:
            uploads.opened.discard(upload_id)
            uploads.under_way(key, done=True)
        checksum = "ChecksumSHA256" in parts[0]
        verify_stored(
            uploads.client,
            uploads.bucket,
            key,
            size,
            composite_sha256(self._digests) if checksum else None,
        )

    def _put(self, path: Path, size: int, sha256: str) -> None:
        uploads = self._uploads
        arguments = uploads.arguments(self.key)
        checksum = put_file(
            uploads.client, uploads.bucket, self.key, path, extra=arguments, sha256=sha256
        )
        verify_stored(uploads.client, uploads.bucket, self.key, size, checksum)
