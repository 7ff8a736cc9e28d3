"""The multipart uploads a run has open, so that a failed or stopped run aborts each by id."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

CREATE_GRACE_SECONDS = 10.0
"""How long a stopping run waits for CreateMultipartUploads in flight, to abort them too."""


class OpenUploads:
    """The multipart uploads this run created and has not completed or aborted.

    Upload threads say when a CreateMultipartUpload is sent (`creating`), add each
    UploadId as soon as it answers and remove it once the upload is completed or
    aborted; `abort_all` waits a little for creates still in flight, then aborts every
    open upload by id, from any thread, whatever ListMultipartUploads allows.
    """

    def __init__(self) -> None:
        self._lock = threading.Condition()
        self._keys: dict[str, str] = {}
        self._creating: dict[int, str] = {}

    def creating(self, key: str) -> None:
        """Note that this thread is about to send a CreateMultipartUpload for `key`."""
        with self._lock:
            self._creating[threading.get_ident()] = key

    def created(self, upload_id: str | None, key: str) -> None:
        """This thread's create answered (`upload_id`) or failed (None)."""
        with self._lock:
            self._creating.pop(threading.get_ident(), None)
            if upload_id is not None:
                self._keys[upload_id] = key
            self._lock.notify_all()

    def add(self, upload_id: str, key: str) -> None:
        """Note an upload that is now open."""
        self.created(upload_id, key)

    def discard(self, upload_id: str) -> None:
        """Forget an upload that was completed or aborted."""
        with self._lock:
            self._keys.pop(upload_id, None)

    def open(self) -> dict[str, str]:
        """UploadId → key of every upload still open."""
        with self._lock:
            return dict(self._keys)

    def abort_all(
        self, client: S3Client, bucket: str, grace: float = CREATE_GRACE_SECONDS
    ) -> list[str]:
        """Abort every open upload by its id; one line per upload that stays open.

        Creates still in flight get up to `grace` seconds to answer first, so that an
        upload S3 opens just as the run stops is aborted too (the threads die with the
        process); one still unanswered then is named in the lines.
        """
        with self._lock:
            self._lock.wait_for(lambda: not self._creating, timeout=grace)
            unanswered = sorted(self._creating.values())
        problems = [
            f"The CreateMultipartUpload of s3://{bucket}/{key} was still unanswered when the "
            "run stopped: if S3 opened that upload, it stays open, and billed, until aborted "
            "by hand or by a lifecycle rule (AbortIncompleteMultipartUpload)"
            for key in unanswered
        ]
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
