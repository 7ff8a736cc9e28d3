"""`--check`: one line per permission, the probe object gone, non-zero exit on any failure."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from target_adobe_s3.check import probe_prefix
from target_adobe_s3.settings import Settings
from tests.support.deliveries import BIG_KEY, BOTH, SMALL, SMALL_KEY, WHEN_REQUIRED
from tests.support.helpers import (
    TARGET,
    Run,
    objects,
    open_uploads,
    rows_by_segment,
    run_target,
    run_with_stdin_open,
    sent_by_segment,
)
from tests.support.iam import IamServer, iam_server
from tests.support.s3_servers import S3rver, s3rver_or_skip

PROBE = r"target-adobe-s3-check-[0-9a-f]{32}\.txt"
MULTIPART_ACTIONS = ["s3:ListBucketMultipartUploads", "s3:AbortMultipartUpload"]


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
        ("skipped", "s3:ListBucketMultipartUploads"),
        ("skipped", "s3:AbortMultipartUpload"),
    ]
    assert objects(iam.client("s3"), bucket) == {}


def test_missing_delete_permission_leaves_the_probe(iam: IamServer, tmp_path: Path) -> None:
    bucket = iam.bucket()
    keys = iam.user(["s3:ListBucket", "s3:PutObject", "s3:GetObject", *MULTIPART_ACTIONS])
    run = run_check(iam_config(iam, bucket, keys), tmp_path)
    assert run.returncode == 1
    lines = columns(run)
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
    assert [(status, what) for status, what, _ in columns(run)] == [
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
    status, what, detail = columns(run)[0]
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
    assert [(status, what) for status, what, _ in columns(run)] == [
        ("ok", "sts:AssumeRole"),
        ("ok", "s3:ListBucket"),
        ("ok", "s3:PutObject"),
        ("ok", "s3:GetObject"),
        ("ok", "s3:DeleteObject"),
        ("ok", "s3:ListBucketMultipartUploads"),
        ("ok", "s3:AbortMultipartUpload"),
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


# --- the README's IAM policy: enough for --check and a run, and each action tested -----------


def readme_policy_actions() -> list[str]:
    """The S3 actions of the README's IAM policy (its first JSON block)."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    block = readme.split("## IAM policy", 1)[1].split("```json", 1)[1].split("```", 1)[0]
    actions = set()
    for statement in json.loads(block)["Statement"]:
        named = statement["Action"]
        actions.update([named] if isinstance(named, str) else named)
    return sorted(action for action in actions if action.startswith("s3:"))


POLICY = readme_policy_actions()
FIXED = {"export_time": "2024-05-01T06:18:04Z", "run_id": "run-1"}
MOTO_HEAD_BUCKET = ["s3:HeadBucket"]
"""moto authorizes HeadBucket as `s3:HeadBucket`, an action AWS does not have (AWS
authorizes it with s3:ListBucket), so runs against moto's IAM need it too."""
CHECKED = {
    "s3:GetBucketLocation": "warn",  # runs fall back to HeadBucket's region header
    "s3:ListBucket": "missing",
    "s3:PutObject": "missing",
    "s3:GetObject": "missing",
    "s3:DeleteObject": "missing",
    "s3:ListBucketMultipartUploads": "warn",  # optional: a best-effort extra in runs
    "s3:AbortMultipartUpload": "missing",
}


def test_the_readme_policy_names_every_action_the_target_uses() -> None:
    assert sorted(CHECKED) == POLICY


def test_the_readme_policy_is_enough_for_check_and_a_run(iam: IamServer, tmp_path: Path) -> None:
    bucket = iam.bucket()
    config = iam_config(iam, bucket, iam.user(POLICY + MOTO_HEAD_BUCKET))
    config.pop("region")  # GetBucketLocation is checked and used too
    check = run_check(config, tmp_path)
    assert check.returncode == 0, check.stdout + check.stderr
    assert {status for status, _, _ in columns(check)} == {"ok"}
    assert sorted(what for _, what, _ in columns(check)) == POLICY
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
    lines = {what: status for status, what, _ in columns(run)}
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


# --- s3rver over HTTPS: no ListMultipartUploads, no AbortMultipartUpload ------------------------


@pytest.fixture(scope="module")
def s3rver() -> Iterator[S3rver]:
    yield from s3rver_or_skip()


@pytest.mark.parametrize("settings", [{}, WHEN_REQUIRED])
def test_check_on_s3rver(
    s3rver: S3rver,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    settings: dict[str, str],
) -> None:
    """With botocore's defaults the probe comes back framed; with when_required it is
    whole. s3rver has no multipart listing nor abort: warnings, not failures."""
    monkeypatch.setenv("AWS_CA_BUNDLE", str(s3rver.ca_bundle))
    bucket = s3rver.bucket()
    run = run_check({**s3rver.target_config(bucket), **settings}, tmp_path)
    lines = columns(run)
    assert [(status, what) for status, what, _ in lines] == [
        ("ok", "s3:ListBucket"),
        ("ok", "s3:PutObject"),
        ("ok" if settings else "failed", "s3:GetObject"),
        ("ok", "s3:DeleteObject"),
        ("warn", "s3:ListBucketMultipartUploads"),
        ("warn", "s3:AbortMultipartUpload"),
    ]
    probe = lines[1][2]
    if not settings:
        assert run.returncode == 1
        assert re.fullmatch(
            rf"{re.escape(probe)} read back \d+ bytes, 33 were written \(the server may have "
            r"kept botocore's aws-chunked framing as the content, as s3rver does: set "
            r"request_checksum_calculation and response_checksum_validation to "
            r"when_required\)",
            lines[2][2],
        )
    else:
        assert run.returncode == 0, run.stdout + run.stderr
    assert lines[4][2].startswith("NotImplemented: ")
    assert lines[4][2].endswith("; optional")
    assert re.fullmatch(
        rf"MethodNotAllowed: .*: the server cannot abort uploads, so a failed run leaves its "
        rf"parts; abort upload \S+ of {re.escape(probe)} by hand \(it holds no part\)",
        lines[5][2],
    )
    assert objects(s3rver.client(), bucket) == {}
