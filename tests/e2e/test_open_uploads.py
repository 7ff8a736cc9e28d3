"""A stopping run aborts, by UploadId, uploads whose create was still in flight."""

from __future__ import annotations

import threading
import time
from typing import Any

from target_adobe_s3.s3.open_uploads import OpenUploads


def open_upload_ids(s3: Any, bucket: str) -> list[str]:
    return [u["UploadId"] for u in s3.list_multipart_uploads(Bucket=bucket).get("Uploads", [])]


def test_a_create_in_flight_when_the_run_stops_is_aborted_once_it_answers(
    s3: Any, bucket: str
) -> None:
    opened = OpenUploads()
    sent = threading.Event()

    def create_slowly() -> None:
        opened.creating("late.csv")
        sent.set()
        time.sleep(0.3)  # the answer arrives after the run decided to stop
        answer = s3.create_multipart_upload(Bucket=bucket, Key="late.csv")
        opened.add(answer["UploadId"], "late.csv")

    thread = threading.Thread(target=create_slowly, daemon=True)
    thread.start()
    sent.wait(5)
    problems = opened.abort_all(s3, bucket, grace=10)
    thread.join(5)
    assert problems == []
    assert open_upload_ids(s3, bucket) == []
    assert opened.open() == {}


def test_a_create_that_never_answers_is_named(s3: Any, bucket: str) -> None:
    opened = OpenUploads()
    opened.creating("stuck.csv")  # this thread never hears back
    kept = s3.create_multipart_upload(Bucket=bucket, Key="kept.csv")["UploadId"]
    other = threading.Thread(target=opened.add, args=(kept, "kept.csv"))  # another upload thread
    other.start()
    other.join(5)
    problems = opened.abort_all(s3, bucket, grace=0.2)
    assert problems == [
        f"The CreateMultipartUpload of s3://{bucket}/stuck.csv was still unanswered when the "
        "run stopped: if S3 opened that upload, it stays open, and billed, until aborted by "
        "hand or by a lifecycle rule (AbortIncompleteMultipartUpload)"
    ]
    assert open_upload_ids(s3, bucket) == []


def test_a_failed_create_is_no_longer_in_flight(s3: Any, bucket: str) -> None:
    opened = OpenUploads()
    opened.creating("failed.csv")
    opened.created(None, "failed.csv")
    assert opened.abort_all(s3, bucket, grace=0) == []  # not named as unanswered
