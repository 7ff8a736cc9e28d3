"""`--check`: one line per permission, the probe object gone, non-zero exit on any failure."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from target_adobe_s3.check import probe_prefix
from target_adobe_s3.settings import Settings
from tests.helpers import TARGET, Run, objects, run_with_stdin_open
from tests.test_auth import IamServer, iam_server

PROBE = r"target-adobe-s3-check-[0-9a-f]{32}\.txt"


@pytest.fixture(scope="module")
def iam() -> Iterator[IamServer]:
    with iam_server() as server:
        yield server


def run_check(config: dict[str, Any], tmp_path: Path) -> Run:
    """Run `--config c.json --check` with stdin a pipe that is never closed nor written."""
    return run_with_stdin_open(config, tmp_path, "--check")


def columns(run: Run) -> list[tuple[str, str, str]]:
    """Each stdout line as (status, what, detail)."""
    found = []
    for line in run.stdout_lines:
        status, what, *rest = line.split(maxsplit=2)
        found.append((status, what, rest[0] if rest else ""))
    return found


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
    lines = columns(run)
    assert [(status, what) for status, what, _ in lines] == [
        ("ok", "s3:ListBucket"),
        ("ok", "s3:PutObject"),
        ("ok", "s3:GetObject"),
        ("ok", "s3:DeleteObject"),
    ]
    assert lines[0][2] == f"s3://{bucket}/acme/campaigns/"
    probe = lines[1][2]
    assert re.fullmatch(rf"s3://{bucket}/acme/campaigns/{PROBE}", probe)
    assert lines[2][2] == lines[3][2] == probe
    assert objects(s3, bucket) == {"acme/campaigns/old.csv": b"kept"}
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
    assert columns(run)[0] == ("ok", "s3:GetBucketLocation", "eu-central-1")
    assert objects(s3, config["bucket"]) == {}


def test_missing_bucket_fails_and_skips_the_rest(config: dict[str, Any], tmp_path: Path) -> None:
    config["bucket"] = "no-such-bucket-for-check"
    run = run_check(config, tmp_path)
    assert run.returncode == 1
    lines = columns(run)
    assert lines[0][:2] == ("failed", "s3:ListBucket")
    assert lines[0][2].startswith("NoSuchBucket: ")
    assert [(status, what) for status, what, _ in lines[1:]] == [
        ("skipped", "s3:PutObject"),
        ("skipped", "s3:GetObject"),
        ("skipped", "s3:DeleteObject"),
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


@pytest.mark.parametrize(
    ("folder", "prefix"),
    [
        ("", ""),
        ("acme/out", "acme/out/"),
        ("acme/out/", "acme/out/"),
        ("/acme//seg_%SEGMENT_ID%/x", "acme/seg_"),
        ("%SEGMENT_NAME%/x", ""),
        ("a/%DATETIME(YYYY)%/%SEGMENT_ID%", "a/"),
    ],
)
def test_probe_goes_under_the_static_part_of_the_folder(folder: str, prefix: str) -> None:
    settings, problems = Settings.from_config({"bucket": "acme-audiences", "folder_path": folder})
    assert settings is not None, problems
    assert probe_prefix(settings) == prefix


# --- PGP key ------------------------------------------------------------------------------------


def test_pgp_key_line(config: dict[str, Any], tmp_path: Path, gpg_keys: Any) -> None:
    """An RSA-3072 key whose primary encrypts: the line names it by its fingerprint."""
    config["pgp_public_key"] = gpg_keys.public["rsa_primary"]
    run = run_check(config, tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    fingerprint = gpg_keys.fingerprints["rsa_primary"][0]
    assert columns(run)[-1] == ("ok", "pgp_public_key", f"RSA-3072 {fingerprint}")


# --- against a moto server that enforces IAM ------------------------------------------------------


def test_missing_put_permission(iam: IamServer, tmp_path: Path) -> None:
    bucket = iam.bucket()
    keys = iam.user(["s3:ListBucket", "s3:GetObject", "s3:DeleteObject"])
    run = run_check(iam_config(iam, bucket, keys), tmp_path)
    assert run.returncode == 1
    lines = columns(run)
    assert lines[0] == ("ok", "s3:ListBucket", f"s3://{bucket}/aep/")
    assert lines[1] == ("missing", "s3:PutObject", "AccessDenied: Access Denied")
    assert [(status, what) for status, what, _ in lines[2:]] == [
        ("skipped", "s3:GetObject"),
        ("skipped", "s3:DeleteObject"),
    ]
    assert objects(iam.client("s3"), bucket) == {}


def test_missing_delete_permission_leaves_the_probe(iam: IamServer, tmp_path: Path) -> None:
    bucket = iam.bucket()
    keys = iam.user(["s3:ListBucket", "s3:PutObject", "s3:GetObject"])
    run = run_check(iam_config(iam, bucket, keys), tmp_path)
    assert run.returncode == 1
    lines = columns(run)
    assert [(status, what) for status, what, _ in lines] == [
        ("ok", "s3:ListBucket"),
        ("ok", "s3:PutObject"),
        ("ok", "s3:GetObject"),
        ("missing", "s3:DeleteObject"),
    ]
    assert re.fullmatch(
        rf"AccessDenied: Access Denied; delete s3://{bucket}/aep/{PROBE} by hand", lines[3][2]
    )
    (left,) = objects(iam.client("s3"), bucket)
    assert lines[3][2].endswith(f"s3://{bucket}/{left} by hand")


def test_missing_list_permission_still_checks_the_rest(iam: IamServer, tmp_path: Path) -> None:
    bucket = iam.bucket()
    keys = iam.user(["s3:PutObject", "s3:GetObject", "s3:DeleteObject"])
    run = run_check(iam_config(iam, bucket, keys), tmp_path)
    assert run.returncode == 1
    assert [(status, what) for status, what, _ in columns(run)] == [
        ("missing", "s3:ListBucket"),
        ("ok", "s3:PutObject"),
        ("ok", "s3:GetObject"),
        ("ok", "s3:DeleteObject"),
    ]


def test_wrong_secret(iam: IamServer, tmp_path: Path) -> None:
    bucket = iam.bucket()
    keys = iam.user(["s3:*"])
    keys["aws_secret_access_key"] = "wrong-secret-value"
    run = run_check(iam_config(iam, bucket, keys), tmp_path)
    assert run.returncode == 1
    status, what, detail = columns(run)[0]
    assert (status, what) == ("failed", "s3:ListBucket")
    assert detail.startswith("SignatureDoesNotMatch: ")
    assert "wrong-secret-value" not in run.stdout + run.stderr


def test_assumed_role_is_checked_first(iam: IamServer, tmp_path: Path) -> None:
    bucket = iam.bucket()
    source = iam.user(["sts:AssumeRole"])
    role_arn = iam.role(["s3:ListBucket", "s3:PutObject", "s3:GetObject", "s3:DeleteObject"])
    config = {**iam_config(iam, bucket, source), "role_arn": role_arn, "external_id": "ext-42"}
    run = run_check(config, tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    assert [(status, what) for status, what, _ in columns(run)] == [
        ("ok", "sts:AssumeRole"),
        ("ok", "s3:ListBucket"),
        ("ok", "s3:PutObject"),
        ("ok", "s3:GetObject"),
        ("ok", "s3:DeleteObject"),
    ]
    assert columns(run)[0][2] == role_arn
    assert objects(iam.client("s3"), bucket) == {}


def test_role_the_source_may_not_assume(iam: IamServer, tmp_path: Path) -> None:
    bucket = iam.bucket()
    source = iam.user(["s3:ListBucket"])
    config = {**iam_config(iam, bucket, source), "role_arn": iam.role(["s3:*"])}
    run = run_check(config, tmp_path)
    assert run.returncode == 1
    ((status, what, detail),) = columns(run)
    assert (status, what) == ("missing", "sts:AssumeRole")
    assert detail.startswith("AccessDenied: ")
    assert detail.endswith("(assuming role_arn)")
