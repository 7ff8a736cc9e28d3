"""A moto server that enforces IAM (signatures and policies), with an admin user and helpers.

Tests of credentials, assume-role and --check make users and roles allowed exactly some
actions; POLICY is the S3 part of the IAM policy documented in docs/iam-and-check.md.
"""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.support.s3_servers import moto_server

BOOTSTRAP_CALLS = 4
"""Unauthenticated requests moto lets through before it enforces IAM: the admin's setup."""

ALLOW_ALL = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
}
TRUST_ANYONE = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}],
}


@dataclass
class IamServer:
    """A moto server that checks signatures and IAM policies, with an admin user."""

    url: str
    admin: dict[str, str]

    def client(self, service: str, keys: dict[str, str] | None = None) -> Any:
        """A client of `service` signed with `keys` (the admin's by default)."""
        make: Any = boto3.client  # any service by name
        return make(service, endpoint_url=self.url, region_name="us-east-1", **(keys or self.admin))

    def user(self, actions: list[str]) -> dict[str, str]:
        """A new user allowed only `actions` on every resource; returns its keys."""
        iam = self.client("iam")
        name = f"user-{uuid.uuid4().hex[:8]}"
        iam.create_user(UserName=name)
        policy = {"Version": "2012-10-17", "Statement": [allow(actions)]}
        iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=json.dumps(policy))
        key = iam.create_access_key(UserName=name)["AccessKey"]
        return {
            "aws_access_key_id": key["AccessKeyId"],
            "aws_secret_access_key": key["SecretAccessKey"],
        }

    def role(self, actions: list[str]) -> str:
        """A new role anyone may assume, allowed only `actions`; returns its ARN."""
        iam = self.client("iam")
        name = f"role-{uuid.uuid4().hex[:8]}"
        arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(TRUST_ANYONE))[
            "Role"
        ]["Arn"]
        policy = {"Version": "2012-10-17", "Statement": [allow(actions)]}
        iam.put_role_policy(RoleName=name, PolicyName="p", PolicyDocument=json.dumps(policy))
        return str(arn)

    def bucket(self) -> str:
        """A new bucket owned by the admin."""
        name = f"iam-{uuid.uuid4().hex[:16]}"
        self.client("s3").create_bucket(Bucket=name)
        return name


def allow(actions: list[str]) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": actions, "Resource": "*"}


@contextlib.contextmanager
def iam_server() -> Iterator[IamServer]:
    """Start a moto server that enforces IAM once the admin user exists."""
    with contextlib.ExitStack() as stack:
        with pytest.MonkeyPatch.context() as mp:  # read by the server process at start
            mp.setenv("INITIAL_NO_AUTH_ACTION_COUNT", str(BOOTSTRAP_CALLS))
            url = stack.enter_context(moto_server())
        iam = boto3.client("iam", endpoint_url=url, region_name="us-east-1")
        iam.create_user(UserName="admin")
        policy = iam.create_policy(PolicyName="all", PolicyDocument=json.dumps(ALLOW_ALL))
        iam.attach_user_policy(UserName="admin", PolicyArn=policy["Policy"]["Arn"])
        key = iam.create_access_key(UserName="admin")["AccessKey"]
        yield IamServer(
            url,
            {
                "aws_access_key_id": key["AccessKeyId"],
                "aws_secret_access_key": key["SecretAccessKey"],
            },
        )


def documented_policy_actions() -> list[str]:
    """The S3 actions of the IAM policy in docs/iam-and-check.md (its first JSON block)."""
    doc = (Path(__file__).resolve().parents[2] / "docs" / "iam-and-check.md").read_text()
    block = doc.split("## IAM policy", 1)[1].split("```json", 1)[1].split("```", 1)[0]
    actions = set()
    for statement in json.loads(block)["Statement"]:
        named = statement["Action"]
        actions.update([named] if isinstance(named, str) else named)
    return sorted(action for action in actions if action.startswith("s3:"))


POLICY = documented_policy_actions()
"""The documented policy's S3 actions: exactly those the target uses."""
CHECKED = {
    "s3:GetBucketLocation": "warn",  # runs fall back to HeadBucket's region header
    "s3:ListBucket": "missing",
    "s3:PutObject": "missing",
    "s3:GetObject": "missing",
    "s3:DeleteObject": "missing",
    "s3:ListBucketMultipartUploads": "warn",  # optional: a best-effort extra in runs
    "s3:AbortMultipartUpload": "missing",
}
"""What `--check` reports for each action of the policy when the credentials lack it."""
