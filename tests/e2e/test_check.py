"""`--check`: one line per permission, the probe object gone, non-zero exit on any failure."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.deliveries import BIG_KEY, BOTH, SMALL, SMALL_KEY
from tests.support.helpers import (
    TARGET,
    check_columns,
    objects,
    open_uploads,
    rows_by_segment,
    run_check,
    run_target,
    sent_by_segment,
)
from tests.support.iam import CHECKED, POLICY, IamServer, iam_server

PROBE = r"target-adobe-s3-check-[0-9a-f]{32}\.txt"
MULTIPART_ACTIONS = ["s3:ListBucketMultipartUploads", "s3:AbortMultipartUpload"]


@pytest.fixture(scope="module")
def iam() -> Iterator[IamServer]:
    with iam_server() as server:
        yield server


def iam_config(iam: IamServer, bucket: str, keys: dict[str, str]) -> dict[str, Any]:
    return {
        "bucket": bucket,
        "endpoint_url": iam.url,
        "region": "us-east-1",
        "folder_path": "aep/%SEGMENT_ID%",
        **keys,
    }


# --- against the session's moto server ----------------------------------------------------------


def test_check_passes_and_removes_its_probe(
    config: dict[str, Any], tmp_path: Path, s3: Any
) -> None:
    bucket = config["bucket"]
    s3.put_object(Bucket=bucket, Key="acme/campaigns/old.csv", Body=b"kept")
    config["folder_path"] = "acme/campaigns/%SEGMENT_NAME%"
    run = run_check(config, tmp_path)

    assert run.returncode == 0, run.stdout + run.stderr
    lines = check_columns(run)
    assert [(status, what) for status, what, _ in lines] == [
        ("ok", "s3:ListBucket"),
        ("ok", "s3:PutObject"),
        ("ok", "s3:GetObject"),
        ("ok", "s3:DeleteObject"),
        ("ok", "s3:ListBucketMultipartUploads"),
        ("ok", "s3:AbortMultipartUpload"),
    ]
    assert lines[0][2] == f"s3://{bucket}/acme/campaigns/"
    probe = lines[1][2]
    assert re.fullmatch(rf"s3://{bucket}/acme/campaigns/{PROBE}", probe)
    assert lines[2][2] == lines[3][2] == lines[4][2] == lines[5][2] == probe
    assert objects(s3, bucket) == {"acme/campaigns/old.csv": b"kept"}
    assert open_uploads(s3, bucket) == []
    assert run.stdout_lines[0] == f"ok       s3:ListBucket          s3://{bucket}/acme/campaigns/"


def test_check_looks_the_region_up_when_none_is_set(
    config: dict[str, Any], tmp_path: Path, s3: Any
) -> None:
    config.pop("region")
    config["bucket"] = "check-eu-central-" + config["bucket"][-12:]
    s3.create_bucket(
        Bucket=config["bucket"], CreateBucketConfiguration={"LocationConstraint": "eu-central-1"}
    )
    run = run_check(config, tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    assert check_columns(run)[0] == ("ok", "s3:GetBucketLocation", "eu-central-1")
    assert objects(s3, config["bucket"]) == {}


def test_missing_bucket_fails_and_skips_the_rest(config: dict[str, Any], tmp_path: Path) -> None:
    config["bucket"] = "no-such-bucket-for-check"
    run = run_check(config, tmp_path)
    assert run.returncode == 1
    lines = check_columns(run)
    assert lines[0][:2] == ("failed", "s3:ListBucket")
    assert lines[0][2].startswith("NoSuchBucket: ")
    assert [(status, what) for status, what, _ in lines[1:]] == [
        ("skipped", "s3:PutObject"),
        ("skipped", "s3:GetObject"),
        ("skipped", "s3:DeleteObject"),
        ("skipped", "s3:ListBucketMultipartUploads"),
        ("skipped", "s3:AbortMultipartUpload"),
    ]


def test_settings_problems_are_the_usual_config_error(
    config: dict[str, Any], tmp_path: Path
) -> None:
    config.update(aws_profile="prod", kms_key_id="alias/aep")
    run = run_check(config, tmp_path)
    assert run.returncode == 1
    assert run.stdout == ""
    assert "aws_profile: cannot be combined" in run.stderr
    assert "kms_key_id: only used with server_side_encryption aws:kms" in run.stderr
    assert "Config validation failed" in run.stderr


def test_schema_problems_are_the_usual_config_error(config: dict[str, Any], tmp_path: Path) -> None:
    config.update(server_side_encryption="DES")
    run = run_check(config, tmp_path)
    assert run.returncode == 1
    assert run.stdout == ""
    assert "'DES' is not one of" in run.stderr


def test_help_lists_the_flag() -> None:
    done = subprocess.run([TARGET, "--help"], capture_output=True, text=True, check=True)
    assert "--check" in done.stdout


# --- PGP key ------------------------------------------------------------------------------------


def test_pgp_key_line(config: dict[str, Any], tmp_path: Path, gpg_keys: Any) -> None:
    """An RSA-3072 key whose primary encrypts: the line names it by its fingerprint."""
    config["pgp_public_key"] = gpg_keys.public["rsa_primary"]
    run = run_check(config, tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    fingerprint = gpg_keys.fingerprints["rsa_primary"][0]
    assert check_columns(run)[-1] == ("ok", "pgp_public_key", f"RSA-3072 {fingerprint}")


# --- against a moto server that enforces IAM ------------------------------------------------------


def test_missing_put_permission(iam: IamServer, tmp_path: Path) -> None:
    bucket = iam.bucket()
    keys = iam.user(["s3:ListBucket", "s3:GetObject", "s3:DeleteObject"])
    run = run_check(iam_config(iam, bucket, keys), tmp_path)
    assert run.returncode == 1
    lines = check_columns(run)
    assert lines[0] == ("ok", "s3:ListBucket", f"s3://{bucket}/aep/")
    assert lines[1] == ("missing", "s3:PutObject", "AccessDenied: Access Denied")
    assert [(status, what) for status, what, _ in lines[2:]] == [
        ("skipped", "s3:GetObject"),
        ("skipped", "s3:DeleteObject"),
        ("skipped", "s3:ListBucketMultipartUploads"),
        ("skipped", "s3:AbortMultipartUpload"),
    ]
    assert objects(iam.client("s3"), bucket) == {}


def test_missing_delete_permission_leaves_the_probe(iam: IamServer, tmp_path: Path) -> None:
    bucket = iam.bucket()
    keys = iam.user(["s3:ListBucket", "s3:PutObject", "s3:GetObject", *MULTIPART_ACTIONS])
    run = run_check(iam_config(iam, bucket, keys), tmp_path)
    assert run.returncode == 1
    lines = check_columns(run)
    assert [(status, what) for status, what, _ in lines] == [
        ("ok", "s3:ListBucket"),
        ("ok", "s3:PutObject"),
        ("ok", "s3:GetObject"),
        ("missing", "s3:DeleteObject"),
        ("ok", "s3:ListBucketMultipartUploads"),
        ("ok", "s3:AbortMultipartUpload"),
    ]
    assert re.fullmatch(
        rf"AccessDenied: Access Denied; delete s3://{bucket}/aep/{PROBE} by hand", lines[3][2]
    )
    (left,) = objects(iam.client("s3"), bucket)
    assert lines[3][2].endswith(f"s3://{bucket}/{left} by hand")


def test_missing_list_permission_still_checks_the_rest(iam: IamServer, tmp_path: Path) -> None:
    bucket = iam.bucket()
    keys = iam.user(["s3:PutObject", "s3:GetObject", "s3:DeleteObject", *MULTIPART_ACTIONS])
    run = run_check(iam_config(iam, bucket, keys), tmp_path)
    assert run.returncode == 1
    assert [(status, what) for status, what, _ in check_columns(run)] == [
        ("missing", "s3:ListBucket"),
        ("ok", "s3:PutObject"),
        ("ok", "s3:GetObject"),
        ("ok", "s3:DeleteObject"),
        ("ok", "s3:ListBucketMultipartUploads"),
        ("ok", "s3:AbortMultipartUpload"),
    ]


def test_wrong_secret(iam: IamServer, tmp_path: Path) -> None:
    bucket = iam.bucket()
    keys = iam.user(["s3:*"])
    keys["aws_secret_access_key"] = "wrong-secret-value"
    run = run_check(iam_config(iam, bucket, keys), tmp_path)
    assert run.returncode == 1
    status, what, detail = check_columns(run)[0]
    assert (status, what) == ("failed", "s3:ListBucket")
    assert detail.startswith("SignatureDoesNotMatch: ")
    assert "wrong-secret-value" not in run.stdout + run.stderr


def test_assumed_role_is_checked_first(iam: IamServer, tmp_path: Path) -> None:
    bucket = iam.bucket()
    source = iam.user(["sts:AssumeRole"])
    role_arn = iam.role(
        ["s3:ListBucket", "s3:PutObject", "s3:GetObject", "s3:DeleteObject", *MULTIPART_ACTIONS]
    )
    config = {**iam_config(iam, bucket, source), "role_arn": role_arn, "external_id": "ext-42"}
    run = run_check(config, tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    assert [(status, what) for status, what, _ in check_columns(run)] == [
        ("ok", "sts:AssumeRole"),
        ("ok", "s3:ListBucket"),
        ("ok", "s3:PutObject"),
        ("ok", "s3:GetObject"),
        ("ok", "s3:DeleteObject"),
        ("ok", "s3:ListBucketMultipartUploads"),
        ("ok", "s3:AbortMultipartUpload"),
    ]
    assert check_columns(run)[0][2] == role_arn
    assert objects(iam.client("s3"), bucket) == {}


def test_role_the_source_may_not_assume(iam: IamServer, tmp_path: Path) -> None:
    bucket = iam.bucket()
    source = iam.user(["s3:ListBucket"])
    config = {**iam_config(iam, bucket, source), "role_arn": iam.role(["s3:*"])}
    run = run_check(config, tmp_path)
    assert run.returncode == 1
    ((status, what, detail),) = check_columns(run)
    assert (status, what) == ("missing", "sts:AssumeRole")
    assert detail.startswith("AccessDenied: ")
    assert detail.endswith("(assuming role_arn)")


# --- the documented IAM policy (docs/iam-and-check.md): enough for --check and a run ---------

FIXED = {"export_time": "2024-05-01T06:18:04Z", "run_id": "run-1"}
MOTO_HEAD_BUCKET = ["s3:HeadBucket"]
"""moto authorizes HeadBucket as `s3:HeadBucket`, an action AWS does not have (AWS
authorizes it with s3:ListBucket), so runs against moto's IAM need it too."""


def test_the_documented_policy_is_enough_for_check_and_a_run(
    iam: IamServer, tmp_path: Path
) -> None:
    bucket = iam.bucket()
    config = iam_config(iam, bucket, iam.user(POLICY + MOTO_HEAD_BUCKET))
    config.pop("region")  # GetBucketLocation is checked and used too
    check = run_check(config, tmp_path)
    assert check.returncode == 0, check.stdout + check.stderr
    assert {status for status, _, _ in check_columns(check)} == {"ok"}
    assert sorted(what for _, what, _ in check_columns(check)) == POLICY
    run = run_target({**config, **FIXED, "folder_path": "aep"}, BOTH, tmp_path)
    assert run.returncode == 0, run.stderr
    assert run.stdout_lines == [json.dumps({"bookmark": 3})]
    found = objects(iam.client("s3"), bucket)
    assert sorted(found) == [f"aep/{SMALL_KEY}", f"aep/{BIG_KEY}"]
    assert rows_by_segment(found) == sent_by_segment(BOTH)
    assert open_uploads(iam.client("s3"), bucket) == []


@pytest.mark.parametrize("action", sorted(CHECKED))
def test_check_reports_each_action_of_the_policy(
    iam: IamServer, tmp_path: Path, action: str
) -> None:
    bucket = iam.bucket()
    config = iam_config(iam, bucket, iam.user([a for a in POLICY if a != action]))
    config.pop("region")
    run = run_check(config, tmp_path)
    lines = {what: status for status, what, _ in check_columns(run)}
    assert lines[action] == CHECKED[action]
    others = {what: status for what, status in lines.items() if what != action}
    assert set(others.values()) <= {"ok", "skipped"}, run.stdout
    assert run.returncode == (1 if CHECKED[action] == "missing" else 0)


def test_a_run_without_get_object_fails_as_it_cannot_verify(iam: IamServer, tmp_path: Path) -> None:
    bucket = iam.bucket()
    keys = iam.user([a for a in POLICY if a != "s3:GetObject"] + MOTO_HEAD_BUCKET)
    run = run_target(
        {**iam_config(iam, bucket, keys), **FIXED, "folder_path": "aep"}, SMALL, tmp_path
    )
    assert run.returncode == 1
    assert run.stdout == ""
    (line,) = [line for line in run.stderr.splitlines() if "Export failed" in line]
    assert line.endswith(
        f"Export failed: verifying s3://{bucket}/aep/{SMALL_KEY} (HeadObject, which needs "
        "s3:GetObject) failed: 403 (access denied: check the credentials and the IAM policy). "
        "No STATE was emitted for undelivered records."
    )
