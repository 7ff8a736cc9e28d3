"""The settings: their schema (shown by --about) and their checks, run before any input."""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from singer_sdk import typing as th

from target_adobe_s3.columns import parse_fields
from target_adobe_s3.formats import DELIMITERS, NULL_CHOICES, CsvDialect, DialectError
from target_adobe_s3.macros import (
    MacroError,
    RunContext,
    Template,
    check_folder_path,
    check_plain_value,
    parse_export_time,
)

DEFAULT_FILE_NAME = "%DESTINATION_NAME%_segment%SEGMENT_ID%_%DATETIME(YYYYMMdd_HHmmss)%"

_MACROS_HELP = (
    "Macros: %SEGMENT_ID%, %SEGMENT_NAME%, %DESTINATION_NAME%, %STREAM_NAME%, %DATETIME%, "
    "%DATETIME(pattern)% (YYYY MM dd HH mm ss SSS), %TIMESTAMP%, %RUN_ID%, %CUSTOM_TEXT%, "
    "%ORGANIZATION_NAME%, %SANDBOX_NAME%."
)

_FIELD_ENTRY = th.CustomType(
    {
        "anyOf": [
            {"type": "string"},
            {
                "type": "object",
                "properties": {"source": {"type": "string"}, "target": {"type": "string"}},
                "required": ["source"],
            },
        ]
    }
)

CONFIG_SCHEMA: dict[str, Any] = th.PropertiesList(
    # Destination and credentials
    th.Property(
        "bucket",
        th.StringType,
        required=True,
        title="Bucket",
        description="S3 bucket name (S3's naming rules apply).",
        examples=["acme-audiences"],
    ),
    th.Property(
        "folder_path",
        th.StringType,
        default="",
        title="Folder path",
        description="Folder inside the bucket; may contain macros. " + _MACROS_HELP,
        examples=["acme/campaigns/%SEGMENT_NAME%"],
    ),
    th.Property(
        "destination_name",
        th.StringType,
        default="amazon_s3",
        title="Destination name",
        description="The export's name, used by %DESTINATION_NAME%.",
    ),
    th.Property(
        "region",
        th.StringType,
        title="AWS region",
        description="Region of the bucket, e.g. eu-west-1.",
    ),
    th.Property(
        "endpoint_url",
        th.StringType,
        title="Endpoint URL",
        description="An S3-compatible endpoint (MinIO, a local test server, ...).",
    ),
    th.Property(
        "aws_access_key_id",
        th.StringType,
        secret=True,
        title="AWS access key id",
        description="Access key id; with none of the credential settings, boto3's "
        "default chain is used.",
    ),
    th.Property(
        "aws_secret_access_key",
        th.StringType,
        secret=True,
        title="AWS secret access key",
        description="Secret access key.",
    ),
    th.Property(
        "aws_session_token",
        th.StringType,
        secret=True,
        title="AWS session token",
        description="Session token for temporary credentials.",
    ),
    th.Property(
        "aws_profile",
        th.StringType,
        title="AWS profile",
        description="A named profile from the AWS config files.",
    ),
    # Segments
    th.Property(
        "segment_id_field",
        th.StringType,
        default="segment_id",
        title="Segment id field",
        description="Record field holding the segment id. A stream whose schema "
        "lacks it is one segment named after the stream.",
    ),
    th.Property(
        "segment_name_field",
        th.StringType,
        default="segment_name",
        title="Segment name field",
        description="Record field holding the segment name.",
    ),
    th.Property(
        "segment_status_field",
        th.StringType,
        default="segment_status",
        title="Segment status field",
        description="Record field holding the membership status (realized, existing, exited).",
    ),
    th.Property(
        "segment_names",
        th.ObjectType(additional_properties=th.StringType),
        default={},
        title="Segment names",
        description="Map of segment id to name, for streams that carry only ids.",
    ),
    # Columns
    th.Property(
        "fields",
        th.ArrayType(_FIELD_ENTRY),
        title="Fields",
        description='Columns in order: "source.path" strings or {"source": ..., '
        '"target": "Header"} objects. Default: every schema property, nested ones '
        "flattened with `.` replaced by `_`.",
    ),
    # CSV
    th.Property(
        "csv_delimiter",
        th.StringType,
        default="\t",
        title="CSV delimiter",
        allowed_values=list(DELIMITERS),
        description="Field delimiter.",
    ),
    th.Property(
        "csv_quote",
        th.StringType,
        default='"',
        title="CSV quote character",
        allowed_values=['"', ""],
        description='`"`, or empty for no quoting (special characters are then escaped).',
    ),
    th.Property(
        "csv_escape",
        th.StringType,
        default="\\",
        title="CSV escape character",
        allowed_values=["\\", "'"],
        description="Escape character.",
    ),
    th.Property(
        "csv_null_value",
        th.StringType,
        default="",
        title="CSV null value",
        allowed_values=list(NULL_CHOICES),
        description='How a null is written: `null`, `""` or nothing.',
    ),
    th.Property(
        "csv_empty_value",
        th.StringType,
        default="",
        title="CSV empty value",
        allowed_values=list(NULL_CHOICES),
        description='How an empty string is written: `null`, `""` or nothing.',
    ),
    th.Property(
        "csv_header",
        th.BooleanType,
        default=True,
        title="CSV header",
        description="Write a header row.",
    ),
    th.Property(
        "csv_quote_all",
        th.BooleanType,
        default=False,
        title="CSV quote all",
        description="Quote every value, not only those that need it.",
    ),
    # Names and run
    th.Property(
        "file_name_template",
        th.StringType,
        default=DEFAULT_FILE_NAME,
        title="File name template",
        description="File name without extension; `.csv` is appended. " + _MACROS_HELP,
    ),
    th.Property(
        "export_time",
        th.DateTimeType,
        title="Export time",
        description="ISO-8601 instant used by every time macro [the run's start, UTC].",
    ),
    th.Property(
        "run_id",
        th.StringType,
        title="Run id",
        description="Used by %RUN_ID% [a new UUID per run].",
    ),
    th.Property(
        "custom_text",
        th.StringType,
        default="",
        title="Custom text",
        description="Value of %CUSTOM_TEXT%.",
    ),
    th.Property(
        "organization_name",
        th.StringType,
        default="",
        title="Organization name",
        description="Value of %ORGANIZATION_NAME%.",
    ),
    th.Property(
        "sandbox_name",
        th.StringType,
        default="",
        title="Sandbox name",
        description="Value of %SANDBOX_NAME%.",
    ),
    th.Property(
        "temp_dir",
        th.StringType,
        title="Temp directory",
        description="Where files are spooled before upload [the system temp dir].",
    ),
).to_dict()

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


@dataclass(frozen=True)
class Settings:
    """The checked settings of one run."""

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

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> tuple[Settings | None, list[str]]:
        """Check every setting; returns the settings or the list of problems.

        Each problem is one line that starts with the setting's name.
        """
        errors: list[str] = []

        def check(setting: str, fn: Any, *args: Any) -> Any:
            try:
                return fn(*args)
            except (MacroError, DialectError, ValueError) as exc:
                message = str(exc)
                errors.append(message if message.startswith(setting) else f"{setting}: {message}")
                return None

        bucket = str(config.get("bucket", ""))
        if problem := bucket_problem(bucket):
            errors.append(f"bucket: '{bucket}' {problem}")
        folder_text = config.get("folder_path") or ""
        check("folder_path", check_folder_path, folder_text)
        folder = check("folder_path", Template.parse, folder_text)
        name_text = config.get("file_name_template") or DEFAULT_FILE_NAME
        check("file_name_template", check_file_name, name_text)
        file_name = check("file_name_template", Template.parse, name_text)
        for setting in (
            "destination_name",
            "custom_text",
            "organization_name",
            "sandbox_name",
            "run_id",
        ):
            if config.get(setting):
                check(setting, check_plain_value, str(config[setting]))
        destination = config.get("destination_name") or "amazon_s3"
        export_time = (
            check("export_time", parse_export_time, config["export_time"])
            if config.get("export_time")
            else datetime.now(timezone.utc)
        )
        dialect = check(
            "csv",
            CsvDialect.from_settings,
            config.get("csv_delimiter", "\t"),
            config.get("csv_quote", '"'),
            config.get("csv_escape", "\\"),
            config.get("csv_null_value", ""),
            config.get("csv_empty_value", ""),
            config.get("csv_header", True),
            config.get("csv_quote_all", False),
        )
        fields = check("fields", parse_fields, config.get("fields") or [])
        if errors:
            return None, errors
        run = RunContext(
            export_time=export_time,
            run_id=str(config.get("run_id") or uuid.uuid4()),
            destination_name=destination,
            custom_text=config.get("custom_text") or "",
            organization_name=config.get("organization_name") or "",
            sandbox_name=config.get("sandbox_name") or "",
        )
        return cls(
            bucket=bucket,
            folder=folder,
            file_name=file_name,
            run=run,
            dialect=dialect,
            fields=fields,
            segment_id_field=config.get("segment_id_field") or "segment_id",
            segment_name_field=config.get("segment_name_field") or "segment_name",
            segment_names=dict(config.get("segment_names") or {}),
            temp_dir=config.get("temp_dir") or None,
        ), []
