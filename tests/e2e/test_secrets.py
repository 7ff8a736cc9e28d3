"""Nothing leaked: at debug log level (the SDK reads LOGLEVEL / TARGET_ADOBE_S3_LOGLEVEL),
on success and on failure, no credential (nor its Base64) reaches stdout or stderr.

botocore's debug log prints request headers (the access key id in Authorization, the session
token in X-Amz-Security-Token) and STS's answer with the temporary keys; the target hides
them (target_adobe_s3.s3.redact.hide_secrets).
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.support.helpers import (
    MEMBER_SCHEMA,
    TARGET,
    Run,
    record_message,
    run_target,
    schema_message,
    singer_text,
    state_message,
    write_config,
)
from tests.support.iam import IamServer, iam_server

FAKE = {
    "aws_access_key_id": "AKIAFAKEKEY7LEAKTEST",
    "aws_secret_access_key": "fakeSECRET/leak+test0123456789abcdefWXYZ",
    "aws_session_token": "FAKEsessionTOKEN//leaktest+0123456789==",
}
EXTERNAL_ID = "ext-LEAKTEST-4242"
ROLE = "arn:aws:iam::123456789012:role/aep-export"
MESSAGES = [
    schema_message("m", MEMBER_SCHEMA),
    record_message("m", {"segment_id": "s1", "email": "a@x.com"}),
    state_message({"n": 1}),
]


@pytest.fixture(autouse=True)
def _debug_logging(monkeypatch: pytest.MonkeyPatch) -> None:
    """The children inherit it: the SDK sets the root logger (botocore too) to DEBUG."""
    monkeypatch.setenv("LOGLEVEL", "DEBUG")


@pytest.fixture
def secret_config(config: dict, gpg_keys: Any) -> dict:
    config.update(FAKE, pgp_public_key=gpg_keys.public["rsa_subkey"])
    return config


def needles(config: dict) -> list[str]:
    """Every secret value, its Base64, and a distinctive line of the PGP key."""
    values = [
        str(config[name])
        for name in ("aws_access_key_id", "aws_secret_access_key", "aws_session_token")
        if config.get(name)
    ]
    if config.get("external_id"):
        values.append(config["external_id"])
    found = values + [base64.b64encode(v.encode()).decode() for v in values]
    if config.get("pgp_public_key"):
        lines = [line for line in config["pgp_public_key"].splitlines() if len(line) > 60]
        found.append(lines[1])
    return found


def assert_nothing_leaked(config: dict, run: Run) -> None:
    for needle in needles(config):
        assert needle not in run.stdout
        assert needle not in run.stderr, needle
    text = run.stderr + run.stdout
    for element in ("AccessKeyId", "SecretAccessKey", "SessionToken"):
        assert set(re.findall(rf"<{element}>([^<]*)</{element}>", text)) <= {"***"}
    assert set(re.findall(r"X-Amz-Security-Token': b'([^']*)'", text)) <= {"***"}
    assert set(re.findall(r"Credential=([^/\s,']*)", text)) <= {"***"}


def test_successful_run_with_role_at_debug(secret_config: dict, tmp_path: Path) -> None:
    secret_config.update(role_arn=ROLE, external_id=EXTERNAL_ID)
    run = run_target(secret_config, MESSAGES, tmp_path)
    assert run.returncode == 0, run.stderr
    assert run.stdout_lines == ['{"n": 1}']
    # Debug logging really was on, and showed what would have leaked.
    assert "| DEBUG" in run.stderr
    assert "X-Amz-Security-Token" in run.stderr
    assert "<SecretAccessKey>***</SecretAccessKey>" in run.stderr  # STS's answer
    assert_nothing_leaked(secret_config, run)


def test_successful_run_with_keys_and_token_at_debug(secret_config: dict, tmp_path: Path) -> None:
    run = run_target(secret_config, MESSAGES, tmp_path)
    assert run.returncode == 0, run.stderr
    assert "Credential=***/" in run.stderr
    assert_nothing_leaked(secret_config, run)


@pytest.mark.parametrize(
    ("change", "text", "expected"),
    [
        pytest.param({"bucket": "Bad_Bucket"}, MESSAGES, "bucket: 'Bad_Bucket'", id="bad-bucket"),
        pytest.param(
            {"bucket": "no-such-bucket-leaktest"}, MESSAGES, "does not exist", id="no-bucket"
        ),
        pytest.param(
            {"aws_profile": "prod"}, MESSAGES, "aws_profile: cannot be combined", id="mixed-auth"
        ),
        pytest.param(
            {"role_arn": ROLE, "external_id": EXTERNAL_ID},
            singer_text(MESSAGES[:2]) + '{"type": "RECORD", "stream": "m", "record": {,}}\n',
            "input line 3",
            id="bad-input",
        ),
    ],
)
def test_failed_runs_at_debug(
    secret_config: dict, tmp_path: Path, change: dict, text: Any, expected: str
) -> None:
    secret_config.update(change)
    run = run_target(secret_config, text, tmp_path)
    assert run.returncode == 1
    assert expected in run.stderr
    assert_nothing_leaked(secret_config, run)


def test_access_denied_at_debug(gpg_keys: Any, tmp_path: Path) -> None:
    """Real keys from a moto server that enforces IAM; the user may list but not write."""
    with iam_server() as iam:
        server: IamServer = iam
        config = {
            "bucket": server.bucket(),
            "endpoint_url": server.url,
            "region": "us-east-1",
            **server.user(["s3:ListBucket"]),
            "pgp_public_key": gpg_keys.public["rsa_subkey"],
            "temp_dir": str(tmp_path),
        }
        run = run_target(config, MESSAGES, tmp_path)
    assert run.returncode == 1
    assert "access denied" in run.stderr
    assert "Credential=***/" in run.stderr
    assert_nothing_leaked(config, run)


def test_check_at_debug(secret_config: dict, tmp_path: Path) -> None:
    secret_config.update(role_arn=ROLE, external_id=EXTERNAL_ID)
    done = subprocess.run(
        [TARGET, "--config", str(write_config(secret_config, tmp_path)), "--check"],
        capture_output=True,
        timeout=120,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    run = Run(done.returncode, done.stdout.decode(), done.stderr.decode())
    assert run.returncode == 0, run.stdout + run.stderr
    assert "s3:PutObject" in run.stdout
    assert_nothing_leaked(secret_config, run)


@pytest.mark.parametrize("args", [["--about"], ["--about", "--format", "json"]])
def test_about_with_secret_config(secret_config: dict, tmp_path: Path, args: list[str]) -> None:
    done = subprocess.run(
        [TARGET, "--config", str(write_config(secret_config, tmp_path)), *args],
        capture_output=True,
        timeout=60,
        check=False,
    )
    run = Run(done.returncode, done.stdout.decode(), done.stderr.decode())
    assert run.returncode == 0, run.stderr
    assert "aws_secret_access_key" in run.stdout
    assert_nothing_leaked(secret_config, run)


def test_settings_from_the_environment_at_debug(secret_config: dict, tmp_path: Path) -> None:
    """`--config ENV`: the SDK reads TARGET_ADOBE_S3_<NAME>; values never echoed."""
    env = {**os.environ}
    for name, value in secret_config.items():
        env[f"TARGET_ADOBE_S3_{name.upper()}"] = (
            json.dumps(value) if not isinstance(value, str) else value
        )
    done = subprocess.run(
        [TARGET, "--config", "ENV"],
        input=singer_text(MESSAGES).encode(),
        capture_output=True,
        timeout=120,
        check=False,
        env=env,
    )
    run = Run(done.returncode, done.stdout.decode(), done.stderr.decode())
    assert run.returncode == 0, run.stderr
    assert_nothing_leaked(secret_config, run)
