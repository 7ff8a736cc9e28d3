"""Several uploads at once, on daemon threads, that one `stop` ends together."""

from __future__ import annotations

import queue
import threading
from collections.abc import Mapping
from concurrent.futures import Future
from typing import TYPE_CHECKING

from target_adobe_s3.s3.open_uploads import OpenUploads
from target_adobe_s3.s3.upload import abort_other_uploads, upload_file

if TYPE_CHECKING:
    from pathlib import Path

    from mypy_boto3_s3 import S3Client


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
            abort_other_uploads(self.client, self.bucket, key, keep=None)
        return problems
