"""Settings of the files: format, compression, encryption, CSV dialect, names and the run."""

from __future__ import annotations

from singer_sdk import typing as th

from target_adobe_s3.formats.dialect import DELIMITERS, NULL_CHOICES
from target_adobe_s3.schema.destination import MACROS_HELP

DEFAULT_FILE_NAME = "%DESTINATION_NAME%_segment%SEGMENT_ID%_%DATETIME(YYYYMMdd_HHmmss)%"

FILE_FORMAT = (
    th.Property(
        "file_type",
        th.StringType,
        default="csv",
        allowed_values=["csv", "json", "parquet"],
        title="File type",
        description="csv, json for newline-delimited JSON (one object per row), or parquet "
        "(typed columns from the stream's JSON Schema; needs the extra: "
        "pip install 'target-adobe-s3[parquet]').",
        examples=["parquet"],
    ),
    th.Property(
        "compression",
        th.StringType,
        default="none",
        allowed_values=["none", "gzip", "snappy", "zstd"],
        title="Compression",
        description="none, or gzip (`.gz` is appended to the file name). With parquet, the "
        "codec inside the file: none, gzip, snappy or zstd (no `.gz`).",
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
)
"""What a file holds and how it is packed (file type, gzip, OpenPGP, parts)."""

CSV = (
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
)
"""The CSV dialect (AEP's by default)."""

NAMES_AND_RUN = (
    th.Property(
        "file_name_template",
        th.StringType,
        default=DEFAULT_FILE_NAME,
        title="File name template",
        description="File name without extension; `.csv`, `.json` or `.parquet` is appended, "
        "then `.gz` and `.gpg` when they apply. It must contain %SEGMENT_ID% unless "
        "folder_path does (AEP puts the segment id in every file name). " + MACROS_HELP,
        examples=["%SEGMENT_ID%_%SEGMENT_NAME%_%DATETIME(YYYYMMdd)%"],
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
)
"""File names, the run's time and id, macro values, record checks and the spool."""
