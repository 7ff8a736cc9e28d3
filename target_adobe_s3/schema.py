"""The settings' schema: what --about, Meltano and the README show for each setting."""

from __future__ import annotations

import json
from typing import Any

from singer_sdk import typing as th

from target_adobe_s3.formats.csv import DELIMITERS, NULL_CHOICES
from target_adobe_s3.naming.macros import known_macros

DEFAULT_FILE_NAME = "%DESTINATION_NAME%_segment%SEGMENT_ID%_%DATETIME(YYYYMMdd_HHmmss)%"

_MACROS_HELP = (
    f"Macros, in upper case: {known_macros(tokens=True)}. "
    "A `%` that does not begin a macro-shaped `%NAME%` is kept as text."
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
        examples=["Acme_Export"],
    ),
    th.Property(
        "region",
        th.StringType,
        title="AWS region",
        description="Region of the bucket, e.g. eu-west-1.",
        examples=["eu-west-1"],
    ),
    th.Property(
        "endpoint_url",
        th.StringType,
        title="Endpoint URL",
        description="An S3-compatible endpoint (MinIO, a local test server, ...).",
        examples=["http://127.0.0.1:9000"],
    ),
    th.Property(
        "aws_access_key_id",
        th.StringType,
        secret=True,
        title="AWS access key id",
        description="Access key id; with none of the credential settings, boto3's "
        "default chain is used.",
        examples=["AKIAIOSFODNN7EXAMPLE"],
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
        examples=["aep-export"],
    ),
    th.Property(
        "role_arn",
        th.StringType,
        title="Role ARN",
        description="IAM role to assume through STS (with the other credentials, or boto3's "
        "default chain, as the source); refreshed before it expires.",
        examples=["arn:aws:iam::123456789012:role/aep-export"],
    ),
    th.Property(
        "external_id",
        th.StringType,
        secret=True,
        title="External id",
        description="External id the role's trust policy requires (with role_arn).",
        examples=["aep-7d1f0c"],
    ),
    th.Property(
        "server_side_encryption",
        th.StringType,
        title="Server-side encryption",
        allowed_values=["AES256", "aws:kms"],
        description="S3 server-side encryption of the uploaded objects.",
        examples=["aws:kms"],
    ),
    th.Property(
        "kms_key_id",
        th.StringType,
        title="KMS key id",
        description="KMS key (id, ARN or alias) for server_side_encryption aws:kms.",
        examples=["alias/aep-exports"],
    ),
    th.Property(
        "acl",
        th.StringType,
        title="Canned ACL",
        allowed_values=[
            "private",
            "bucket-owner-full-control",
            "bucket-owner-read",
            "authenticated-read",
            "aws-exec-read",
            "public-read",
        ],
        description="Canned ACL for each object, e.g. bucket-owner-full-control when "
        "delivering into another account's bucket.",
        examples=["bucket-owner-full-control"],
    ),
    th.Property(
        "storage_class",
        th.StringType,
        title="Storage class",
        allowed_values=[
            "STANDARD",
            "STANDARD_IA",
            "ONEZONE_IA",
            "INTELLIGENT_TIERING",
            "GLACIER_IR",
            "REDUCED_REDUNDANCY",
        ],
        description="S3 storage class of the uploaded objects.",
        examples=["STANDARD_IA"],
    ),
    th.Property(
        "retry_max_attempts",
        th.IntegerType,
        default=5,
        title="Retry attempts",
        description="Attempts per S3 request, the first included, before a transient error "
        "(500, 503 SlowDown, a reset or timed-out connection) fails the run.",
        examples=[10],
    ),
    th.Property(
        "retry_mode",
        th.StringType,
        default="standard",
        title="Retry mode",
        allowed_values=["standard", "adaptive"],
        description="boto3's retry mode: `standard` (exponential backoff with jitter) or "
        "`adaptive` (also slows the client down when S3 throttles).",
        examples=["adaptive"],
    ),
    th.Property(
        "request_timeout",
        th.IntegerType,
        default=60,
        title="Request timeout",
        description="Seconds to wait for S3 to connect or to send data before the attempt "
        "counts as failed (and is retried, see retry_max_attempts).",
        examples=[30],
    ),
    th.Property(
        "upload_concurrency",
        th.IntegerType,
        default=4,
        title="Upload concurrency",
        description="Files uploaded at the same time once input ends (each multipart "
        "upload sends its parts one after another).",
        examples=[8],
    ),
    th.Property(
        "request_checksum_calculation",
        th.StringType,
        default="when_supported",
        title="Request checksum calculation",
        allowed_values=["when_supported", "when_required"],
        description="botocore's setting. `when_supported`: every upload carries a SHA-256 "
        "that S3 checks and keeps, and each object's checksum and size are verified after "
        "upload. Over HTTPS botocore sends it in an aws-chunked body with a trailing "
        "checksum, which some S3-compatible servers store as the content (s3rver 3.7.1: "
        "the run then fails and deletes the object): use `when_required` there (no checksum "
        "is sent that S3 does not require; objects are verified by size).",
        examples=["when_required"],
    ),
    th.Property(
        "response_checksum_validation",
        th.StringType,
        default="when_supported",
        title="Response checksum validation",
        allowed_values=["when_supported", "when_required"],
        description="botocore's setting: `when_supported` validates the checksum a server "
        "sends with an object that is read (the --check probe); `when_required` only when "
        "asked. Set it to `when_required` with request_checksum_calculation for servers "
        "that send checksums they do not compute as S3 does (s3rver needs only the other).",
        examples=["when_required"],
    ),
    # Segments
    th.Property(
        "segment_id_field",
        th.StringType,
        default="segment_id",
        title="Segment id field",
        description="Record field holding the segment id. A stream whose schema "
        "lacks it is one segment named after the stream.",
        examples=["audience_id"],
    ),
    th.Property(
        "segment_name_field",
        th.StringType,
        default="segment_name",
        title="Segment name field",
        description="Record field holding the segment name.",
        examples=["audience_name"],
    ),
    th.Property(
        "segment_status_field",
        th.StringType,
        default="segment_status",
        title="Segment status field",
        description="Record field holding the membership status (realized, existing, exited).",
        examples=["status"],
    ),
    th.Property(
        "segment_membership_field",
        th.StringType,
        default="segmentMembership",
        title="Segment membership field",
        description="Record field holding an AEP-style membership map {namespace: "
        '{segment_id: {"status": ..., "lastQualificationTime": ...}}}; a record '
        "carrying it yields one row per segment in the map.",
        examples=["segmentMembership"],
    ),
    th.Property(
        "export_mode",
        th.StringType,
        default="full",
        allowed_values=["full", "incremental"],
        title="Export mode",
        description="full: current members only (status exited is left out); "
        "incremental: realized, existing and exited members.",
        examples=["incremental"],
    ),
    th.Property(
        "qualification_time_field",
        th.StringType,
        default="last_qualification_time",
        title="Qualification time field",
        description="Record field holding the time a member qualified; the latest wins "
        "among duplicates (taken from the membership map when fanned out).",
        examples=["qualified_at"],
    ),
    th.Property(
        "segment_names",
        th.ObjectType(additional_properties=th.StringType),
        default={},
        title="Segment names",
        description="Map of segment id to name, for streams that carry only ids.",
        examples=[{"25768be6-4a1c-4f0e-9d3e-3c0b8a1e5f10": "Luxury Audience"}],
    ),
    # Columns
    th.Property(
        "fields",
        th.ArrayType(_FIELD_ENTRY),
        title="Fields",
        description='Columns in order: "source.path" strings or {"source": ..., '
        '"target": "Header"} objects. Default: every schema property, nested ones '
        "flattened with `.` replaced by `_`, except Singer's `_sdc_*` metadata (such as "
        "`_sdc_filename`, a path on the tap's host), which is exported only when named here.",
        examples=[["email", {"source": "person.firstName", "target": "first_name"}]],
    ),
    th.Property(
        "mandatory_fields",
        th.ArrayType(th.StringType),
        default=[],
        title="Mandatory fields",
        description="Source paths a row must have (not absent, null or empty); rows "
        "missing any are skipped and counted.",
        examples=[["person.email"]],
    ),
    th.Property(
        "deduplication_keys",
        th.ArrayType(th.StringType),
        default=[],
        title="Deduplication keys",
        description="Up to two source paths; one row per key value per file, the "
        "latest qualification time winning.",
        examples=[["email"]],
    ),
    th.Property(
        "dedup_memory_mb",
        th.IntegerType,
        default=2,
        title="Dedup memory (MiB)",
        description="Memory the deduplication may hold before it spills sorted runs to "
        "temp files (encrypted when pgp_public_key is set). Counted approximately: the "
        "process grows by up to about twice this.",
        examples=[256],
    ),
    # File format
    th.Property(
        "file_type",
        th.StringType,
        default="csv",
        allowed_values=["csv", "json"],
        title="File type",
        description="csv, or json for newline-delimited JSON (one object per row).",
        examples=["json"],
    ),
    th.Property(
        "compression",
        th.StringType,
        default="none",
        allowed_values=["none", "gzip"],
        title="Compression",
        description="none, or gzip (`.gz` is appended to the file name).",
        examples=["gzip"],
    ),
    th.Property(
        "pgp_public_key",
        th.StringType,
        title="PGP public key",
        description="The recipient's OpenPGP public key (ASCII-armored, Base64 of the armored "
        "block, Base64 of the binary key, or binary); files are encrypted to it and "
        "`.gpg` is appended to their names.",
        examples=["-----BEGIN PGP PUBLIC KEY BLOCK----- ... -----END PGP PUBLIC KEY BLOCK-----"],
    ),
    th.Property(
        "max_rows_per_file",
        th.IntegerType,
        default=5000000,
        title="Max rows per file",
        description="A segment's file rolls over into `<name>_2`, `<name>_3`, ... past "
        "this many rows.",
        examples=[1000000],
    ),
    th.Property(
        "include_manifest",
        th.BooleanType,
        default=False,
        title="Include manifest",
        description="After the data files, write manifest-<destination_name>-<run_id>.json "
        "listing every file of the run.",
        examples=[True],
    ),
    th.Property(
        "export_empty_files",
        th.BooleanType,
        default=False,
        title="Export empty files",
        description="Write a header-only file for each segment named in segment_names "
        "that received no rows.",
        examples=[True],
    ),
    # CSV
    th.Property(
        "csv_delimiter",
        th.StringType,
        default="\t",
        title="CSV delimiter",
        allowed_values=list(DELIMITERS),
        description="Field delimiter.",
        examples=[","],
    ),
    th.Property(
        "csv_quote",
        th.StringType,
        default='"',
        title="CSV quote character",
        allowed_values=['"', ""],
        description='`"`, or empty for no quoting (special characters are then escaped).',
        examples=[""],
    ),
    th.Property(
        "csv_escape",
        th.StringType,
        default="\\",
        title="CSV escape character",
        allowed_values=["\\", "'"],
        description="Escape character.",
        examples=["'"],
    ),
    th.Property(
        "csv_null_value",
        th.StringType,
        default="",
        title="CSV null value",
        allowed_values=list(NULL_CHOICES),
        description='How a null is written: `null`, `""` or nothing.',
        examples=["null"],
    ),
    th.Property(
        "csv_empty_value",
        th.StringType,
        default="",
        title="CSV empty value",
        allowed_values=list(NULL_CHOICES),
        description='How an empty string is written: `null`, `""` or nothing.',
        examples=['""'],
    ),
    th.Property(
        "csv_header",
        th.BooleanType,
        default=True,
        title="CSV header",
        description="Write a header row.",
        examples=[False],
    ),
    th.Property(
        "csv_quote_all",
        th.BooleanType,
        default=False,
        title="CSV quote all",
        description="Quote every value, not only those that need it.",
        examples=[True],
    ),
    th.Property(
        "csv_formula_escape",
        th.BooleanType,
        default=False,
        title="CSV formula escape",
        description="Prefix values that start with `=`, `+`, `-`, `@`, a tab or a carriage "
        "return with `'`, so a spreadsheet shows them as text instead of running them as "
        "formulas. Off by default: AEP writes values unchanged.",
        examples=[True],
    ),
    # Names and run
    th.Property(
        "file_name_template",
        th.StringType,
        default=DEFAULT_FILE_NAME,
        title="File name template",
        description="File name without extension; `.csv` or `.json` is appended, then `.gz` "
        "and `.gpg` when they apply. " + _MACROS_HELP,
        examples=["%SEGMENT_NAME%_%DATETIME(YYYYMMdd)%"],
    ),
    th.Property(
        "export_time",
        th.DateTimeType,
        title="Export time",
        description="ISO-8601 instant used by every time macro [the run's start, UTC].",
        examples=["2024-05-01T06:18:04Z"],
    ),
    th.Property(
        "run_id",
        th.StringType,
        title="Run id",
        description="Used by %RUN_ID% [a new UUID per run].",
        examples=["0ac8f3c0-2b6e-4bb1-9d61-5b7f0e3f2a10"],
    ),
    th.Property(
        "custom_text",
        th.StringType,
        default="",
        title="Custom text",
        description="Value of %CUSTOM_TEXT%.",
        examples=["weekly"],
    ),
    th.Property(
        "organization_name",
        th.StringType,
        default="",
        title="Organization name",
        description="Value of %ORGANIZATION_NAME%.",
        examples=["acme"],
    ),
    th.Property(
        "sandbox_name",
        th.StringType,
        default="",
        title="Sandbox name",
        description="Value of %SANDBOX_NAME%.",
        examples=["prod"],
    ),
    th.Property(
        "schema_validation",
        th.StringType,
        default="types",
        title="Schema validation",
        allowed_values=["types", "full"],
        description="How records are checked against their stream's schema while "
        "validate_records is on. `types`: the JSON type of every top-level property and the "
        "presence of required ones, checked as each record is decoded (the fast path). "
        "`full`: every JSON Schema rule (nested properties, formats, patterns, enums) through "
        "the SDK's validator, several times slower.",
        examples=["full"],
    ),
    th.Property(
        "temp_dir",
        th.StringType,
        title="Temp directory",
        description="Where files are spooled before upload [the system temp dir].",
        examples=["/srv/target-adobe-s3/spool"],
    ),
).to_dict()


def _shown(value: Any) -> str:
    """An example as the README shows it: text as typed, anything else as JSON."""
    if value == "":
        return "(empty)"
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return f"`{text}`"


def _with_examples(schema: dict[str, Any]) -> dict[str, Any]:
    """Append each setting's example to its description (the README table shows it)."""
    for spec in schema["properties"].values():
        if spec.get("examples") and "Example:" not in spec.get("description", ""):
            spec["description"] = f"{spec['description']} Example: {_shown(spec['examples'][0])}."
    return schema


CONFIG_SCHEMA = _with_examples(CONFIG_SCHEMA)
