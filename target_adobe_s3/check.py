"""`--check`: verify the connection as AEP does when a destination is created.

List the bucket under the folder, write a small probe object there as a run writes files,
read it back, delete it, open a multipart upload on the probe's key, list and abort it,
and load the PGP key when one is set. One line per permission on stdout; no stdin.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import click
from botocore.exceptions import BotoCoreError, ClientError
from singer_sdk.exceptions import ConfigValidationError
from singer_sdk.plugin_base import JSONSchemaValidator

from target_adobe_s3.errors import DeliveryError
from target_adobe_s3.s3.auth import credential_source, make_session
from target_adobe_s3.s3.client import make_client, object_options
from target_adobe_s3.s3.verify import FRAMING_HINT, sends_checksums
from target_adobe_s3.settings import Settings

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from singer_sdk.plugin_base import PluginBase, _ConfigInput

    from target_adobe_s3.openpgp import Recipient
    from target_adobe_s3.s3.settings import S3Settings

PROBE_BODY = b"target-adobe-s3 connection check\n"
_DENIED = frozenset({"AccessDenied", "403", "AllAccessDisabled", "AccountProblem"})
_GONE = frozenset({"NoSuchBucket", "404", "PermanentRedirect", "301"})
_UNSUPPORTED = frozenset({"NotImplemented", "501", "MethodNotAllowed", "405"})
_MULTIPART = ("s3:ListBucketMultipartUploads", "s3:AbortMultipartUpload")


@dataclass(frozen=True)
class CheckLine:
    """One verdict: `ok`, `warn`, `missing` (refused), `failed` or `skipped`."""

    status: str
    what: str
    detail: str = ""

    def __str__(self) -> str:
        """`status  what  detail`, in aligned columns."""
        return f"{self.status:<8} {self.what:<22} {self.detail}".rstrip()

    @property
    def failed(self) -> bool:
        """True for `missing` and `failed`."""
        return self.status in ("missing", "failed")


def describe_error(exc: BaseException) -> tuple[str, str]:
    """The status (`missing` when refused, else `failed`) and `Code: message` of an error."""
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code", "error"))
        message = str(error.get("Message") or "")
        where = " (assuming role_arn)" if exc.operation_name == "AssumeRole" else ""
        status = "missing" if code in _DENIED else "failed"
        return status, f"{code}: {message}{where}".rstrip(": ")
    return "failed", str(exc)


def probe_prefix(settings: Settings) -> str:
    """Where the probe goes: the folder path's text before its first macro.

    A folder without macros is a whole folder, so it ends with `/`.
    """
    static = settings.folder.static_prefix
    prefix = re.sub(r"/+", "/", static).lstrip("/")
    if static == settings.folder.text and prefix and not prefix.endswith("/"):
        prefix += "/"
    return prefix


class _Checker:
    """Runs the steps in order and remembers whether any failed."""

    def __init__(self, echo: Callable[[str], None]) -> None:
        self.echo = echo
        self.lines: list[CheckLine] = []

    def report(self, status: str, what: str, detail: str = "") -> CheckLine:
        line = CheckLine(status, what, detail)
        self.lines.append(line)
        self.echo(str(line))
        return line

    def error(self, what: str, exc: BaseException) -> CheckLine:
        status, detail = describe_error(exc)
        return self.report(status, what, detail)

    @property
    def passed(self) -> bool:
        return not any(line.failed for line in self.lines)


def describe_recipient(recipient: Recipient) -> str:
    """`RSA-3072 <fingerprint>`: the encryption key's algorithm and fingerprint."""
    return f"{recipient.algorithm} {recipient.fingerprint}"


def _s3_lines(checker: _Checker, client: S3Client, s3: S3Settings, prefix: str) -> None:
    bucket = s3.bucket
    if not s3.region:
        try:
            client.get_bucket_location(Bucket=bucket)
            checker.report("ok", "s3:GetBucketLocation", client.meta.region_name)
        except ClientError as exc:
            status, detail = describe_error(exc)
            if status == "missing":  # the run falls back to HeadBucket's region header
                checker.report("warn", "s3:GetBucketLocation", f"{detail}; set region to skip it")
            else:
                checker.report(status, "s3:GetBucketLocation", detail)
    try:
        client.list_objects_v2(Bucket=bucket, Prefix=prefix, MaxKeys=1)
        checker.report("ok", "s3:ListBucket", f"s3://{bucket}/{prefix}")
    except ClientError as exc:
        line = checker.error("s3:ListBucket", exc)
        code = str(exc.response.get("Error", {}).get("Code", ""))
        if code in _GONE:
            for action in ("s3:PutObject", "s3:GetObject", "s3:DeleteObject", *_MULTIPART):
                checker.report("skipped", action, f"bucket {bucket} not reachable: {line.detail}")
            return
    key = f"{prefix}target-adobe-s3-check-{uuid.uuid4().hex}.txt"
    where = f"s3://{bucket}/{key}"
    options: dict[str, Any] = dict(object_options(s3))
    if sends_checksums(client):  # as a run sends files: with a SHA-256
        options["ChecksumAlgorithm"] = "SHA256"
    try:
        client.put_object(Bucket=bucket, Key=key, Body=PROBE_BODY, **options)
        checker.report("ok", "s3:PutObject", where)
    except ClientError as exc:
        checker.error("s3:PutObject", exc)
        for action in ("s3:GetObject", "s3:DeleteObject", *_MULTIPART):
            checker.report("skipped", action, "no probe object was written")
        return
    _read_probe(checker, client, bucket, key, framed=bool(options.get("ChecksumAlgorithm")))
    try:
        client.delete_object(Bucket=bucket, Key=key)
        checker.report("ok", "s3:DeleteObject", where)
    except ClientError as exc:
        status, detail = describe_error(exc)
        checker.report(status, "s3:DeleteObject", f"{detail}; delete {where} by hand")
    _multipart_lines(checker, client, bucket, key, options)


def _read_probe(
    checker: _Checker, client: S3Client, bucket: str, key: str, *, framed: bool
) -> None:
    """s3:GetObject (which HeadObject, the run's verification, needs too): read the probe."""
    where = f"s3://{bucket}/{key}"
    try:
        body = client.get_object(Bucket=bucket, Key=key)["Body"].read()
    except ClientError as exc:
        checker.error("s3:GetObject", exc)
        return
    except BotoCoreError as exc:  # a response checksum that does not match
        checker.report("failed", "s3:GetObject", f"{where}: {exc}")
        return
    if body == PROBE_BODY:
        checker.report("ok", "s3:GetObject", where)
        return
    detail = f"{where} read back {len(body)} bytes, {len(PROBE_BODY)} were written"
    hint = FRAMING_HINT if framed and len(body) > len(PROBE_BODY) else ""
    checker.report("failed", "s3:GetObject", detail + hint)


def _multipart_lines(
    checker: _Checker, client: S3Client, bucket: str, key: str, options: dict[str, Any]
) -> None:
    """Open a multipart upload on the probe's key (no part), list it, abort it by id.

    Listing is optional (runs list only as a best-effort extra); a server that has no
    listing or no abort (s3rver) gets a warning, a refusal is `missing`.
    """
    where = f"s3://{bucket}/{key}"
    try:
        upload_id = client.create_multipart_upload(Bucket=bucket, Key=key, **options)["UploadId"]
    except ClientError as exc:
        checker.error("s3:PutObject", exc)  # CreateMultipartUpload needs s3:PutObject
        for action in _MULTIPART:
            checker.report("skipped", action, "no multipart upload was created")
        return
    try:
        client.list_multipart_uploads(Bucket=bucket, Prefix=key)
        checker.report("ok", "s3:ListBucketMultipartUploads", where)
    except ClientError as exc:
        _, detail = describe_error(exc)
        checker.report("warn", "s3:ListBucketMultipartUploads", f"{detail}; optional")
    try:
        client.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
        checker.report("ok", "s3:AbortMultipartUpload", where)
    except ClientError as exc:
        status, detail = describe_error(exc)
        code = str(exc.response.get("Error", {}).get("Code", ""))
        leftover = f"; abort upload {upload_id} of {where} by hand (it holds no part)"
        if code in _UNSUPPORTED:
            checker.report(
                "warn",
                "s3:AbortMultipartUpload",
                f"{detail}: the server cannot "
                "abort uploads, so a failed run leaves its parts" + leftover,
            )
        else:
            checker.report(status, "s3:AbortMultipartUpload", detail + leftover)


def run_check(settings: Settings, echo: Callable[[str], None] = click.echo) -> bool:
    """Check credentials, bucket, folder and PGP key; True when everything needed works."""
    checker = _Checker(echo)
    try:
        _connection_lines(checker, settings.s3, probe_prefix(settings))
    except BotoCoreError as exc:  # endpoint unreachable, no credentials, ...
        checker.report("failed", "connection", str(exc))
    if settings.recipient is not None:  # loaded and verified with the settings
        checker.report("ok", "pgp_public_key", describe_recipient(settings.recipient))
    return checker.passed


def _connection_lines(checker: _Checker, s3: S3Settings, prefix: str) -> None:
    session = make_session(s3)
    if s3.role_arn:
        try:
            credentials = session.get_credentials()
            if credentials is not None:
                credentials.get_frozen_credentials()  # the first AssumeRole
            checker.report("ok", "sts:AssumeRole", s3.role_arn)
        except ClientError as exc:
            checker.error("sts:AssumeRole", exc)
            return
    elif session.get_credentials() is None:
        checker.report("failed", "credentials", f"none found in {credential_source(s3)}")
        return
    try:
        client = make_client(s3, session=session)
    except DeliveryError as exc:
        checker.report("failed", "s3 client", str(exc))
        return
    _s3_lines(checker, client, s3, prefix)


def load_settings(target_cls: type[PluginBase], config_input: _ConfigInput) -> Settings:
    """The config files (and env vars with `--config ENV`), checked as a run checks them.

    The SDK's validator fills in the schema's defaults, as in a run.

    Raises:
        ConfigValidationError: a setting is wrong (each message names it).
    """
    config = dict(config_input.config)
    if config_input.parse_env:
        config.update(target_cls._env_var_config)  # the SDK's own env var parsing
    schema = target_cls.config_jsonschema
    target_cls.append_builtin_config(schema)
    errors = []
    for error in JSONSchemaValidator(schema).iter_errors(config):
        path = "][".join(repr(index) for index in error.path)
        errors.append(error.message + (f" in config[{path}]" if path else ""))
    settings = None
    if not errors:
        known = schema["properties"]
        settings, errors = Settings.from_config(config, known, from_env=config_input.parse_env)
    if settings is None:
        raise ConfigValidationError("Config validation failed", errors=errors, schema=schema)
    return settings


def check_command(target_cls: type[PluginBase], config_input: _ConfigInput) -> int:
    """`--check`: the exit code, 0 when every check passed.

    Raises:
        ConfigValidationError: a setting is wrong; the CLI prints it as a run would.
    """
    return 0 if run_check(load_settings(target_cls, config_input)) else 1
