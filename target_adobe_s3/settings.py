"""The settings' checks, run before any input is read, and the checked Settings.

`Settings` is the typed view of every setting, the S3 ones too (`S3Settings`): once it is
built, nothing reads the raw config. It is built from the config as the SDK hands it, with
each absent setting filled in with its schema default; an empty value of a setting that
has a default means that default, as it always has (an empty destination_name is
amazon_s3). No default is written here: `schema` declares each one.
"""

from __future__ import annotations

import importlib.util
import os
import re
import uuid
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from target_adobe_s3.formats import missing_dependency
from target_adobe_s3.formats.dialect import CsvDialect, DialectError
from target_adobe_s3.naming.macros import RunContext, Template, parse_export_time
from target_adobe_s3.naming.safety import (
    MacroError,
    check_folder_path,
    check_plain_value,
    check_segment_length,
)
from target_adobe_s3.rows.columns import parse_fields
from target_adobe_s3.s3.auth import auth_problems
from target_adobe_s3.s3.settings import S3Settings
from target_adobe_s3.schema import DEFAULTS, with_defaults
from target_adobe_s3.setting_names import unknown_env_settings, unknown_settings

if TYPE_CHECKING:
    from target_adobe_s3.openpgp import Recipient

_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_IP_RE = re.compile(r"^\d{1,3}(\.\d{1,3}){3}$")
_BUCKET_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_BUCKET_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")


def bucket_problem(name: str) -> str | None:
    """Why `name` breaks S3's bucket naming rules, or None when it is valid."""
    if not _BUCKET_RE.fullmatch(name):
        return (
            "must be 3-63 characters of lowercase letters, digits, '.' and '-', "
            "starting and ending with a letter or digit"
        )
    if ".." in name:
        return "must not contain two adjacent periods"
    if _IP_RE.match(name):
        return "must not be formatted as an IP address"
    if name.startswith(_BUCKET_PREFIXES) or name.endswith(_BUCKET_SUFFIXES):
        return "uses a prefix or suffix that S3 reserves"
    return None


def check_file_name(template: str) -> None:
    """A file name template is one path segment: no slash, backslash or control characters.

    Raises:
        MacroError: the template would put files in sub-folders or hold control characters.
    """
    try:
        check_plain_value(template)
    except MacroError as exc:
        raise MacroError(f"{exc}; put folders in folder_path") from None
    check_segment_length(template)


def check_segment_id(folder: Template, file_name: Template) -> None:
    """`%SEGMENT_ID%` is in the file name or the folder path, as AEP has it in every name.

    With the id in every key, a segment's keys are known from its first row and no two
    segments share a file, whatever order their rows arrive in.

    Raises:
        MacroError: neither template has it (the message suggests a file name that does).
    """
    if not (file_name.uses("SEGMENT_ID") or folder.uses("SEGMENT_ID")):
        raise MacroError(
            "neither it nor folder_path has %SEGMENT_ID%, which AEP puts in every file "
            f"name; use e.g. '%SEGMENT_ID%_{file_name.text}'"
        )


CODECS_INSIDE_PARQUET = ("snappy", "zstd")
"""`compression` values that only Parquet has (its codecs inside the file)."""

SDK_RECORD_FEATURES = ("stream_maps", "flattening_enabled", "add_record_metadata")
"""The SDK's settings for features only its record path has: set, records take that path."""


FAKER_EXTRA = "pip install 'target-adobe-s3[faker]'"
_FAKE = re.compile(r"\bfake\.")


def _uses_fake(value: Any) -> bool:
    """Whether a stream map expression anywhere in `value` calls the SDK's `fake`."""
    if isinstance(value, str):
        return bool(_FAKE.search(value))
    if isinstance(value, Mapping):
        return any(_uses_fake(item) for item in value.values())
    if isinstance(value, list):
        return any(_uses_fake(item) for item in value)
    return False


def faker_problems(config: Mapping[str, Any]) -> list[str]:
    """Why stream maps cannot use `fake` (faker is not installed): one line, or none.

    The SDK gives map expressions a `fake` only when it finds the faker package (its own
    `find_spec` test); without it every record would fail with "Failed to evaluate".
    """
    if _uses_fake(config.get("stream_maps")):
        what = "stream_maps: an expression uses `fake`"
    elif config.get("faker_config"):
        what = "faker_config: it configures `fake` for stream maps"
    else:
        return []
    if importlib.util.find_spec("faker") is not None:
        return []
    return [f"{what}, which needs the faker package (not installed); install it: {FAKER_EXTRA}"]


def format_problems(file_type: str, compression: str) -> list[str]:
    """A codec only Parquet has with another file type; a file type whose package is missing."""
    problems = []
    if compression in CODECS_INSIDE_PARQUET and file_type != "parquet":
        problems.append(
            f"compression: {compression} is a codec inside Parquet files; with file_type "
            f"{file_type} choose none or gzip, or set file_type to parquet"
        )
    if problem := missing_dependency(file_type):
        problems.append(f"file_type: {problem}")
    return problems


def _given(config: Mapping[str, Any], name: str) -> Any:
    """A setting's value; an empty one (null, "", [] or {}) means the schema's default."""
    return config.get(name) or DEFAULTS[name]


def _text(config: Mapping[str, Any], name: str) -> str | None:
    """An optional text setting's value; None when it is not set or empty."""
    value = config.get(name)
    return str(value) if value else None


def s3_settings(config: Mapping[str, Any]) -> S3Settings:
    """The S3 and credential settings of a config, unchecked (`Settings.from_config` checks).

    Settings the config leaves out take their schema defaults.
    """
    config = with_defaults(config)
    return S3Settings(
        bucket=str(config.get("bucket", "")),
        region=_text(config, "region"),
        endpoint_url=_text(config, "endpoint_url"),
        aws_access_key_id=_text(config, "aws_access_key_id"),
        aws_secret_access_key=_text(config, "aws_secret_access_key"),
        aws_session_token=_text(config, "aws_session_token"),
        aws_profile=_text(config, "aws_profile"),
        role_arn=_text(config, "role_arn"),
        external_id=_text(config, "external_id"),
        server_side_encryption=_text(config, "server_side_encryption"),
        kms_key_id=_text(config, "kms_key_id"),
        acl=_text(config, "acl"),
        storage_class=_text(config, "storage_class"),
        retry_max_attempts=config["retry_max_attempts"],
        retry_mode=_given(config, "retry_mode"),
        request_timeout=config["request_timeout"],
        request_checksum_calculation=config["request_checksum_calculation"] or None,
        response_checksum_validation=config["response_checksum_validation"] or None,
        run_id=_text(config, "run_id"),
    )


def _path_problems(mandatory: Sequence[str], dedup_keys: Sequence[str]) -> list[str]:
    """Problems of `mandatory_fields` and `deduplication_keys`: paths and key count."""
    problems = []
    if len(dedup_keys) > 2:
        problems.append(f"deduplication_keys: at most two keys are allowed, got {len(dedup_keys)}")
    for setting, paths in (("mandatory_fields", mandatory), ("deduplication_keys", dedup_keys)):
        for path in paths:
            if not str(path).strip() or any(not part for part in str(path).split(".")):
                problems.append(f"{setting}: '{path}' is not a source path like 'a' or 'a.b'")
    return problems


@dataclass(frozen=True)
class Settings:
    """The checked settings of one run (secrets are in `s3`, left out of its repr)."""

    bucket: str
    folder: Template
    file_name: Template
    run: RunContext
    dialect: CsvDialect
    fields: list[tuple[str, str | None]]
    segment_id_field: str
    segment_name_field: str
    segment_names: Mapping[str, str]
    temp_dir: str | None
    segment_status_field: str
    membership_field: str
    export_mode: str
    qualification_time_field: str
    mandatory_fields: tuple[str, ...]
    dedup_keys: tuple[str, ...]
    file_type: str
    compression: str
    recipient: Recipient | None
    max_rows_per_file: int
    dedup_memory_mb: int
    include_manifest: bool
    export_empty_files: bool
    formula_escape: bool
    upload_concurrency: int
    s3: S3Settings
    schema_validation: str
    validate_records: bool
    sdk_record_features: tuple[str, ...]
    """Which of SDK_RECORD_FEATURES are set."""

    @property
    def fast_path(self) -> bool:
        """Whether records skip the SDK's record path (unless a feature it owns is set)."""
        return self.schema_validation != "full" and not self.sdk_record_features

    @classmethod
    def from_config(
        cls,
        config: Mapping[str, Any],
        known: Collection[str] | None = None,
        *,
        from_env: bool = False,
    ) -> tuple[Settings | None, list[str]]:
        """Check every setting; returns the settings or the list of problems.

        Each problem is one line that starts with the setting's name. `config` is the
        config as the SDK hands it; settings it leaves out take their schema defaults
        (`schema.with_defaults`). `known`: every setting's name (the SDK's built-in ones
        too); when given, any other name is a problem, as is a TARGET_ADOBE_S3_<NAME>
        variable close to a setting's name when `from_env` (settings were read from the
        environment).
        """
        errors: list[str] = []
        if known is not None:
            errors.extend(unknown_settings(config, known))
            if from_env:
                errors.extend(unknown_env_settings(os.environ, known))
        config = with_defaults(config)

        def check(setting: str, fn: Any, *args: Any) -> Any:
            try:
                return fn(*args)
            except (MacroError, DialectError, ValueError) as exc:
                message = str(exc)
                errors.append(message if message.startswith(setting) else f"{setting}: {message}")
                return None

        def whole(setting: str) -> Any:
            value = config[setting]
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                errors.append(f"{setting}: must be a whole number of at least 1, got {value!r}")
            return value

        bucket = str(config.get("bucket", ""))
        if problem := bucket_problem(bucket):
            errors.append(f"bucket: {bucket!r} {problem}")
        folder_text = _given(config, "folder_path")
        check("folder_path", check_folder_path, folder_text)
        folder = check("folder_path", Template.parse, folder_text)
        name_text = _given(config, "file_name_template")
        check("file_name_template", check_file_name, name_text)
        file_name = check("file_name_template", Template.parse, name_text)
        if folder is not None and file_name is not None:
            check("file_name_template", check_segment_id, folder, file_name)
        for setting in (
            "destination_name",
            "custom_text",
            "organization_name",
            "sandbox_name",
            "run_id",
        ):
            if config.get(setting):
                check(setting, check_plain_value, str(config[setting]))
        export_time = (
            check("export_time", parse_export_time, config["export_time"])
            if config.get("export_time")
            else datetime.now(timezone.utc)
        )
        dialect = check(
            "csv",
            CsvDialect.from_settings,
            *(config[f"csv_{name}"] for name in _DIALECT_SETTINGS),
        )
        fields = check("fields", parse_fields, config.get("fields") or [])
        mandatory = tuple(_given(config, "mandatory_fields"))
        dedup_keys = tuple(_given(config, "deduplication_keys"))
        errors.extend(_path_problems(mandatory, dedup_keys))
        file_type, compression = _given(config, "file_type"), _given(config, "compression")
        errors.extend(format_problems(file_type, compression))
        max_rows = whole("max_rows_per_file")
        dedup_memory = whole("dedup_memory_mb")
        for setting in ("retry_max_attempts", "request_timeout"):
            whole(setting)
        concurrency = whole("upload_concurrency")
        errors.extend(faker_problems(config))
        s3 = s3_settings(config)
        errors.extend(auth_problems(s3))
        recipient = None
        if config.get("pgp_public_key"):
            from target_adobe_s3.openpgp import load_recipient  # noqa: PLC0415 (only when set)

            recipient = check("pgp_public_key", load_recipient, config["pgp_public_key"])
        if errors:
            return None, errors
        run = RunContext(
            export_time=export_time,
            run_id=str(config.get("run_id") or uuid.uuid4()),
            destination_name=_given(config, "destination_name"),
            custom_text=_given(config, "custom_text"),
            organization_name=_given(config, "organization_name"),
            sandbox_name=_given(config, "sandbox_name"),
        )
        return cls(
            bucket=bucket,
            folder=folder,
            file_name=file_name,
            run=run,
            dialect=dialect,
            fields=fields,
            segment_id_field=_given(config, "segment_id_field"),
            segment_name_field=_given(config, "segment_name_field"),
            segment_names=dict(_given(config, "segment_names")),
            temp_dir=_text(config, "temp_dir"),
            segment_status_field=_given(config, "segment_status_field"),
            membership_field=_given(config, "segment_membership_field"),
            export_mode=_given(config, "export_mode"),
            qualification_time_field=_given(config, "qualification_time_field"),
            mandatory_fields=mandatory,
            dedup_keys=dedup_keys,
            file_type=file_type,
            compression=compression,
            recipient=recipient,
            max_rows_per_file=int(max_rows),
            dedup_memory_mb=int(dedup_memory),
            include_manifest=bool(config["include_manifest"]),
            export_empty_files=bool(config["export_empty_files"]),
            formula_escape=bool(config["csv_formula_escape"]),
            upload_concurrency=int(concurrency),
            s3=s3,
            schema_validation=_given(config, "schema_validation"),
            validate_records=bool(config["validate_records"]),
            sdk_record_features=tuple(name for name in SDK_RECORD_FEATURES if config.get(name)),
        ), []


_DIALECT_SETTINGS = (
    "delimiter",
    "quote",
    "escape",
    "null_value",
    "empty_value",
    "header",
    "quote_all",
)
"""The csv_* settings, in CsvDialect.from_settings's order."""
