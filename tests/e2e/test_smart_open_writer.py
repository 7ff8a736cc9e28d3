"""Why the target streams its own parts instead of using smart_open's S3 multipart writer.

Each test shows, against moto, what smart_open.s3.MultipartWriter (9.x) does where the
target's guarantees need something else (docs/performance.md, "Streaming delivery"):
- a part is uploaded inside `write()`, in the caller's thread: input would wait for every
  UploadPart instead of going on while parts fly (s3/stream.py uploads them on a pool);
- every file becomes a multipart upload, a three-byte one too: no single PutObject for a
  small file, and three requests instead of one for each of thousands of small segments;
- the parts it completes with carry no SHA-256 and no argument can give one per part (its
  `client_kwargs` are the same for every call): S3 cannot check each part against the
  SHA-256 taken as the bytes were written, and AWS refuses to complete an upload created
  with a checksum algorithm whose parts lack their checksums;
- a part whose upload was aborted by its UploadId (the target does so from another thread
  when a run fails or gets SIGTERM) is retried 6 times, 10 s apart, before the writer gives
  up: a stopped run would hang a minute per file.
Its create also goes through that retry and drops the answer's metadata, so the check for
an orphaned upload after a retried create (s3/upload.py `start_upload`) has nothing to read.
smart_open is therefore only a dev dependency, for these tests; when a release changes one
of these behaviours, its test fails and the choice can be made again.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
import smart_open.s3 as smart_open_s3

MIN_PART = 5 * 1024 * 1024


@pytest.fixture
def client(s3_endpoint: str) -> Iterator[Any]:
    made = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    yield made
    made.close()


def test_its_writer_uploads_each_part_in_the_callers_thread(client: Any, bucket: str) -> None:
    writer = smart_open_s3.MultipartWriter(bucket, "k.csv", part_size=MIN_PART, client=client)
    try:
        writer.write(b"x" * (MIN_PART + 1))
        # write() has returned: the part is already in S3, so the caller waited for it.
        [upload] = client.list_multipart_uploads(Bucket=bucket)["Uploads"]
        listing = client.list_parts(Bucket=bucket, Key="k.csv", UploadId=upload["UploadId"])
        assert [part["Size"] for part in listing["Parts"]] == [MIN_PART]
    finally:
        writer.terminate()
    assert client.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


def test_its_writer_makes_a_multipart_upload_of_even_a_tiny_file(client: Any, bucket: str) -> None:
    writer = smart_open_s3.MultipartWriter(bucket, "tiny.csv", client=client)
    writer.write(b"a\n1")
    writer.close()
    head = client.head_object(Bucket=bucket, Key="tiny.csv")
    assert head["ContentLength"] == 3
    assert head["ETag"].strip('"').endswith("-1")  # one part of a multipart upload


def test_its_writer_completes_without_the_parts_checksums(client: Any, bucket: str) -> None:
    sent: list[dict[str, Any]] = []

    def capture(params: dict[str, Any], **_: Any) -> None:
        sent.append(params)

    client.meta.events.register("provide-client-params.s3.CompleteMultipartUpload", capture)
    sha256 = {"ChecksumAlgorithm": "SHA256"}
    writer = smart_open_s3.MultipartWriter(
        bucket,
        "big.csv",
        part_size=MIN_PART,
        client=client,
        client_kwargs={
            "S3.Client.create_multipart_upload": sha256,
            "S3.Client.upload_part": sha256,
        },
    )
    writer.write(b"y" * (MIN_PART + 10))
    writer.close()
    [complete] = sent
    parts = complete["MultipartUpload"]["Parts"]
    assert len(parts) == 2
    assert all(set(part) == {"ETag", "PartNumber"} for part in parts)  # no ChecksumSHA256


def test_its_writer_retries_an_aborted_upload_for_a_minute() -> None:
    policy = smart_open_s3.Retry()
    assert "NoSuchUpload" in policy.client_error_codes
    assert (policy.attempts - 1) * policy.sleep_seconds >= 50
