"""S3 storage: object options on every upload, small and multipart, and the bucket's region."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import boto3
import pytest

from target_adobe_s3.errors import DeliveryError
from target_adobe_s3.files.buffer import BufferFiles, PartBuffer
from target_adobe_s3.s3.client import bucket_region, make_client, object_options
from target_adobe_s3.s3.stream import Uploads
from target_adobe_s3.s3.upload import PART_SIZE, upload_bytes
from target_adobe_s3.settings import s3_settings
from tests.support.helpers import (
    MEMBER_SCHEMA,
    objects,
    open_uploads,
    record_message,
    run_target,
    schema_message,
)

ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"
AUTHENTICATED_USERS = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"


@pytest.fixture(scope="module")
def kms_key(s3_endpoint: str) -> str:
    """A KMS key on the local server, for aws:kms encryption."""
    kms = boto3.client("kms", endpoint_url=s3_endpoint, region_name="us-east-1")
    return str(kms.create_key(Description="target-adobe-s3 tests")["KeyMetadata"]["Arn"])


def options_of(settings: dict[str, Any]) -> dict[str, str]:
    """The object options of these settings (the others left out)."""
    return object_options(s3_settings(settings))


def upload_file(
    client: Any, bucket: str, key: str, path: Path, options: dict[str, str] | None = None
) -> None:
    """Upload a file as a run does: full parts streamed from a part buffer, then finished."""
    uploads = Uploads(client, bucket, options, workers=2)
    files = BufferFiles(path.parent)
    try:
        upload = uploads.object(key)
        buffer = PartBuffer(files, upload)
        buffer.write(path.read_bytes())
        buffer.finish()
        whole = None if buffer.streamed else buffer.path
        upload.finish(whole, buffer.size, buffer.sha256.hexdigest()).result(timeout=60)
    finally:
        assert uploads.stop() == []
        files.close()


def grants(s3: Any, bucket: str, key: str) -> set[tuple[str, str]]:
    """(grantee, permission) of an object's ACL; the owner is `owner`."""
    acl = s3.get_object_acl(Bucket=bucket, Key=key)
    owner = acl["Owner"]["ID"]
    found = set()
    for grant in acl["Grants"]:
        grantee = grant["Grantee"]
        who = "owner" if grantee.get("ID") == owner else grantee.get("URI") or grantee.get("ID")
        found.add((who, grant["Permission"]))
    return found


def test_small_file_gets_kms_encryption_acl_and_class(
    s3: Any, bucket: str, config: dict[str, Any], tmp_path: Path, kms_key: str
) -> None:
    path = tmp_path / "small.csv"
    path.write_bytes(b"email\na@example.com\n")
    options = options_of(
        {
            "server_side_encryption": "aws:kms",
            "kms_key_id": kms_key,
            "acl": "public-read",
            "storage_class": "STANDARD_IA",
        }
    )
    upload_file(make_client(s3_settings(config)), bucket, "out/small.csv", path, options=options)

    head = s3.head_object(Bucket=bucket, Key="out/small.csv")
    assert head["ServerSideEncryption"] == "aws:kms"
    assert head["SSEKMSKeyId"] == kms_key
    assert head["StorageClass"] == "STANDARD_IA"
    assert grants(s3, bucket, "out/small.csv") == {("owner", "FULL_CONTROL"), (ALL_USERS, "READ")}
    assert objects(s3, bucket) == {"out/small.csv": b"email\na@example.com\n"}


def test_multipart_file_gets_the_same_options(
    s3: Any, bucket: str, config: dict[str, Any], tmp_path: Path
) -> None:
    path = tmp_path / "big.csv"
    data = (b"0123456789abcdef" * 65536) * 8 + b"tail\n"  # 8 MiB + 5 bytes: two parts
    assert len(data) > PART_SIZE
    path.write_bytes(data)
    options = options_of(
        {
            "server_side_encryption": "AES256",
            "acl": "authenticated-read",
            "storage_class": "GLACIER_IR",
        }
    )
    upload_file(make_client(s3_settings(config)), bucket, "out/big.csv", path, options=options)

    head = s3.head_object(Bucket=bucket, Key="out/big.csv")
    assert head["ServerSideEncryption"] == "AES256"
    assert head["StorageClass"] == "GLACIER_IR"
    assert head["ContentLength"] == len(data)
    assert head["ETag"].endswith('-2"')  # a completed two-part multipart upload
    assert grants(s3, bucket, "out/big.csv") == {
        ("owner", "FULL_CONTROL"),
        (AUTHENTICATED_USERS, "READ"),
    }
    assert s3.get_object(Bucket=bucket, Key="out/big.csv")["Body"].read() == data
    assert open_uploads(s3, bucket) == []


def test_multipart_with_kms_key(
    s3: Any, bucket: str, config: dict[str, Any], tmp_path: Path, kms_key: str
) -> None:
    path = tmp_path / "big.csv"
    path.write_bytes(b"x" * (PART_SIZE + 1))
    options = options_of({"server_side_encryption": "aws:kms", "kms_key_id": kms_key})
    upload_file(make_client(s3_settings(config)), bucket, "big.csv", path, options=options)
    head = s3.head_object(Bucket=bucket, Key="big.csv")
    assert (head["ServerSideEncryption"], head["SSEKMSKeyId"]) == ("aws:kms", kms_key)


def test_upload_without_options_gets_the_buckets_defaults(
    s3: Any, bucket: str, config: dict[str, Any], tmp_path: Path
) -> None:
    path = tmp_path / "plain.csv"
    path.write_bytes(b"a\n")
    upload_file(make_client(s3_settings(config)), bucket, "plain.csv", path)
    assert objects(s3, bucket) == {"plain.csv": b"a\n"}
    assert grants(s3, bucket, "plain.csv") == {("owner", "FULL_CONTROL")}
    assert "StorageClass" not in s3.head_object(Bucket=bucket, Key="plain.csv")  # STANDARD


def test_upload_bytes_with_options_and_content_type(
    s3: Any, bucket: str, config: dict[str, Any]
) -> None:
    options = {
        **options_of({"server_side_encryption": "AES256", "storage_class": "ONEZONE_IA"}),
        "ContentType": "application/json",
    }
    upload_bytes(
        make_client(s3_settings(config)), bucket, "manifest.json", b'{"files": []}', options
    )
    head = s3.head_object(Bucket=bucket, Key="manifest.json")
    assert head["ServerSideEncryption"] == "AES256"
    assert head["StorageClass"] == "ONEZONE_IA"
    assert head["ContentType"] == "application/json"
    assert objects(s3, bucket) == {"manifest.json": b'{"files": []}'}


def test_upload_bytes_to_a_missing_bucket_is_a_delivery_error(config: dict[str, Any]) -> None:
    with pytest.raises(DeliveryError, match="NoSuchBucket"):
        upload_bytes(make_client(s3_settings(config)), "no-such-bucket-here", "k", b"x")


# --- region lookup ------------------------------------------------------------------------------


def located_bucket(s3: Any, constraint: str | None) -> str:
    name = f"loc-{uuid.uuid4().hex[:16]}"
    if constraint:
        s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": constraint})
    else:
        s3.create_bucket(Bucket=name)
    return name


@pytest.mark.parametrize(
    ("constraint", "region"),
    [("eu-central-1", "eu-central-1"), ("EU", "eu-west-1"), (None, "us-east-1")],
)
def test_client_is_built_for_the_buckets_region(
    s3: Any, config: dict[str, Any], constraint: str | None, region: str
) -> None:
    config.pop("region")
    config["bucket"] = located_bucket(s3, constraint)
    client = make_client(s3_settings(config))
    assert client.meta.region_name == region
    assert bucket_region(client, config["bucket"]) == region


def test_a_set_region_is_not_looked_up(s3: Any, config: dict[str, Any]) -> None:
    config.update(bucket=located_bucket(s3, "eu-central-1"), region="ap-south-1")
    assert make_client(s3_settings(config)).meta.region_name == "ap-south-1"


def test_missing_bucket_keeps_the_default_region(config: dict[str, Any]) -> None:
    config.update(bucket="no-such-bucket-here")
    config.pop("region")
    assert (
        make_client(s3_settings(config)).meta.region_name == "us-east-1"
    )  # AWS_DEFAULT_REGION of the tests


def test_run_without_region_writes_to_a_bucket_elsewhere(
    s3: Any, config: dict[str, Any], tmp_path: Path
) -> None:
    config.pop("region")
    config["bucket"] = located_bucket(s3, "ap-southeast-2")
    messages = [
        schema_message("members", MEMBER_SCHEMA),
        record_message("members", {"segment_id": "s1", "email": "a@example.com"}),
    ]
    run = run_target(config, messages, tmp_path)
    assert run.returncode == 0, run.stderr
    (body,) = objects(s3, config["bucket"]).values()
    assert b"a@example.com" in body


def test_client_built_by_make_client_keeps_the_settings(config: dict[str, Any]) -> None:
    config.update(retry_max_attempts=1, retry_mode="adaptive", request_timeout=3)
    built: Any = make_client(s3_settings(config)).meta.config
    assert built.retries == {"total_max_attempts": 1, "mode": "adaptive"}
    assert (built.connect_timeout, built.read_timeout) == (3, 3)
