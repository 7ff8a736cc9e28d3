"""Settings checks run before any input (target_adobe_s3.settings)."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import Any

import pytest

from target_adobe_s3.formats.dialect import CsvDialect
from target_adobe_s3.naming.macros import KNOWN_MACROS, RunContext
from target_adobe_s3.naming.safety import FOLDER_ALLOWED_TEXT
from target_adobe_s3.settings import Settings, bucket_problem

BUCKET = "acme-audiences"
UTC = timezone.utc

BAD_CHARS = (
    "must be 3-63 characters of lowercase letters, digits, '.' and '-', "
    "starting and ending with a letter or digit"
)
ADJACENT = "must not contain two adjacent periods"
IP = "must not be formatted as an IP address"
RESERVED = "uses a prefix or suffix that S3 reserves"
PLAIN = "'/', '\\' and control characters are not allowed"
TIME_EXAMPLE = "e.g. 2024-05-01T06:18:04Z or 2024-05-01T08:18:04.250+02:00"
SHAPE = 'expected a source path string or an object {"source": "...", "target": "Header"}'


def problems(**changes: Any) -> list[str]:
    config: dict[str, Any] = {"bucket": BUCKET, **changes}
    settings, errors = Settings.from_config(config)
    assert settings is None
    return errors


def valid(**changes: Any) -> Settings:
    config: dict[str, Any] = {"bucket": BUCKET, **changes}
    settings, errors = Settings.from_config(config)
    assert errors == []
    assert settings is not None
    return settings


# --- bucket_problem --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "abc",
        "a" * 63,
        "123",
        "acme-audiences",
        "acme.audiences.eu",
        "a-b.c-d",
        "a.-b",
        "1.2.3.4a",
        "1.2.3",
        "bucket-xn--a",
        "my-sthree-bucket",
        "s3alias-bucket",
        "mrap.bucket",
    ],
)
def test_bucket_valid(name: str) -> None:
    assert bucket_problem(name) is None


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        pytest.param("", BAD_CHARS, id="empty"),
        pytest.param("ab", BAD_CHARS, id="too-short"),
        pytest.param("a" * 64, BAD_CHARS, id="too-long"),
        pytest.param("Acme", BAD_CHARS, id="uppercase-start"),
        pytest.param("acmE", BAD_CHARS, id="uppercase-end"),
        pytest.param("acme-Audiences", BAD_CHARS, id="uppercase-inside"),
        pytest.param("acme_audiences", BAD_CHARS, id="underscore"),
        pytest.param("acme audiences", BAD_CHARS, id="space"),
        pytest.param(" acme", BAD_CHARS, id="leading-space"),
        pytest.param("-acme", BAD_CHARS, id="leading-hyphen"),
        pytest.param("acme-", BAD_CHARS, id="trailing-hyphen"),
        pytest.param(".acme", BAD_CHARS, id="leading-period"),
        pytest.param("acme.", BAD_CHARS, id="trailing-period"),
        pytest.param("acme/x", BAD_CHARS, id="slash"),
        pytest.param("acmé", BAD_CHARS, id="non-ascii"),
        pytest.param("acme..audiences", ADJACENT, id="adjacent-periods"),
        pytest.param("a...b", ADJACENT, id="three-periods"),
        pytest.param("192.168.5.4", IP, id="ip"),
        pytest.param("999.999.999.999", IP, id="ip-shaped"),
        pytest.param("xn--acme", RESERVED, id="prefix-xn"),
        pytest.param("sthree-acme", RESERVED, id="prefix-sthree"),
        pytest.param("sthree-configurator", RESERVED, id="prefix-sthree-configurator"),
        pytest.param("amzn-s3-demo-acme", RESERVED, id="prefix-amzn-s3-demo"),
        pytest.param("acme-s3alias", RESERVED, id="suffix-s3alias"),
        pytest.param("acme--ol-s3", RESERVED, id="suffix-ol-s3"),
        pytest.param("acme.mrap", RESERVED, id="suffix-mrap"),
        pytest.param("acme--x-s3", RESERVED, id="suffix-x-s3"),
        pytest.param("acme--table-s3", RESERVED, id="suffix-table-s3"),
    ],
)
def test_bucket_problem(name: str, problem: str) -> None:
    assert bucket_problem(name) == problem


@pytest.mark.parametrize("name", ["acme-audiences\n", "abc\n"])
def test_bucket_with_trailing_newline_is_rejected(name: str) -> None:
    assert bucket_problem(name) == BAD_CHARS


# --- from_config: a valid config -------------------------------------------------------------


def test_minimal_config_gets_the_documented_defaults() -> None:
    before = datetime.now(UTC)
    settings = valid()
    after = datetime.now(UTC)

    assert settings.bucket == BUCKET
    assert settings.folder.text == ""
    assert settings.file_name.text == (
        "%DESTINATION_NAME%_segment%SEGMENT_ID%_%DATETIME(YYYYMMdd_HHmmss)%"
    )
    assert settings.dialect == CsvDialect(
        delimiter="\t",
        quote='"',
        escape="\\",
        null_value="",
        empty_value="",
        header=True,
        quote_all=False,
    )
    assert settings.fields == []
    assert settings.segment_id_field == "segment_id"
    assert settings.segment_name_field == "segment_name"
    assert settings.segment_names == {}
    assert settings.temp_dir is None

    run = settings.run
    assert run.destination_name == "amazon_s3"
    assert (run.custom_text, run.organization_name, run.sandbox_name) == ("", "", "")
    assert str(uuid.UUID(run.run_id)) == run.run_id
    assert uuid.UUID(run.run_id).version == 4
    assert run.export_time.utcoffset() == UTC.utcoffset(None)
    assert before <= run.export_time <= after


def test_each_run_gets_a_new_run_id() -> None:
    assert valid().run.run_id != valid().run.run_id


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("2024-05-01T06:18:04Z", datetime(2024, 5, 1, 6, 18, 4, tzinfo=UTC), id="z"),
        pytest.param(
            "2024-05-01T08:18:04.250+02:00",
            datetime(2024, 5, 1, 6, 18, 4, 250000, tzinfo=UTC),
            id="offset",
        ),
        pytest.param(
            "2024-05-01T01:00:00-05:30",
            datetime(2024, 5, 1, 6, 30, tzinfo=UTC),
            id="negative-offset",
        ),
        pytest.param(
            "2024-12-31T23:30:00-01:00",
            datetime(2025, 1, 1, 0, 30, tzinfo=UTC),
            id="next-year",
        ),
        pytest.param(
            "2024-05-01 06:18:04", datetime(2024, 5, 1, 6, 18, 4, tzinfo=UTC), id="naive-is-utc"
        ),
    ],
)
def test_export_time_is_parsed_to_utc(text: str, expected: datetime) -> None:
    export_time = valid(export_time=text).run.export_time
    assert export_time == expected
    assert export_time.tzinfo == UTC


def test_given_values_are_used() -> None:
    settings = valid(
        bucket="acme.audiences",
        folder_path="acme/campaigns/%SEGMENT_NAME%/%DATETIME(YYYY-MM-dd)%",
        file_name_template="%SEGMENT_ID%_%RUN_ID%",
        destination_name="Salesforce_Marketing_Cloud",
        custom_text="weekly",
        organization_name="acme",
        sandbox_name="prod",
        run_id="run-7",
        export_time="2020-04-08T06:18:04Z",
        csv_delimiter="comma",
        csv_quote="",
        csv_escape="'",
        csv_null_value="null",
        csv_empty_value='""',
        csv_header=False,
        csv_quote_all=False,
        fields=["email", {"source": "person.name", "target": "Name"}],
        segment_id_field="aud",
        segment_name_field="aud_name",
        segment_names={"s1": "Luxury Audience"},
        temp_dir="/var/tmp/spool",
    )
    assert settings.bucket == "acme.audiences"
    assert settings.folder.text == "acme/campaigns/%SEGMENT_NAME%/%DATETIME(YYYY-MM-dd)%"
    assert settings.file_name.text == "%SEGMENT_ID%_%RUN_ID%"
    assert settings.run == RunContext(
        export_time=datetime(2020, 4, 8, 6, 18, 4, tzinfo=UTC),
        run_id="run-7",
        destination_name="Salesforce_Marketing_Cloud",
        custom_text="weekly",
        organization_name="acme",
        sandbox_name="prod",
    )
    assert settings.dialect == CsvDialect(
        delimiter=",",
        quote="",
        escape="'",
        null_value="null",
        empty_value='""',
        header=False,
        quote_all=False,
    )
    assert settings.fields == [("email", None), ("person.name", "Name")]
    assert settings.segment_id_field == "aud"
    assert settings.segment_name_field == "aud_name"
    assert settings.segment_names == {"s1": "Luxury Audience"}
    assert settings.temp_dir == "/var/tmp/spool"


@pytest.mark.parametrize(
    ("setting", "value", "attribute", "expected"),
    [
        pytest.param("destination_name", "", "destination_name", "amazon_s3", id="destination"),
        pytest.param("segment_id_field", "", "segment_id_field", "segment_id", id="id-field"),
        pytest.param(
            "segment_name_field", "", "segment_name_field", "segment_name", id="name-field"
        ),
        pytest.param("segment_names", None, "segment_names", {}, id="segment_names-null"),
        pytest.param("fields", None, "fields", [], id="fields-null"),
        pytest.param("temp_dir", "", "temp_dir", None, id="temp_dir"),
    ],
)
def test_empty_values_fall_back_to_defaults(
    setting: str, value: Any, attribute: str, expected: Any
) -> None:
    settings = valid(**{setting: value})
    holder = settings.run if attribute == "destination_name" else settings
    assert getattr(holder, attribute) == expected


@pytest.mark.parametrize(
    ("folder", "template"),
    [
        ("", "%DESTINATION_NAME%_segment%SEGMENT_ID%_%DATETIME%"),
        ("exports/%SEGMENT_ID%", "%SEGMENT_NAME%_%DATETIME%"),
        ("exports/seg-%SEGMENT_ID%/x", "out"),
        ("exports/%SEGMENT_NAME%", "%%SEGMENT_ID%%"),
    ],
)
def test_segment_id_in_the_file_name_or_the_folder_path_is_enough(
    folder: str, template: str
) -> None:
    assert valid(folder_path=folder, file_name_template=template).file_name.text == template


@pytest.mark.parametrize(
    ("folder", "template"),
    [
        ("", "%SEGMENT_NAME%_%DATETIME%"),
        ("exports/%SEGMENT_NAME%", "out"),
        ("exports/%STREAM_NAME%", "%DESTINATION_NAME%_segment_%RUN_ID%"),
        ("SEGMENT_ID", "%_SEGMENT_ID_%"),  # neither is the macro
    ],
)
def test_no_segment_id_in_either_is_one_line_naming_the_fix(folder: str, template: str) -> None:
    assert problems(folder_path=folder, file_name_template=template) == [
        "file_name_template: neither it nor folder_path has %SEGMENT_ID%, which AEP puts in "
        f"every file name; use e.g. '%SEGMENT_ID%_{template}'"
    ]


def test_no_segment_id_is_not_added_to_a_template_that_does_not_parse() -> None:
    assert problems(file_name_template="%SEGMENT_NAME%_%FOO%") == [
        f"file_name_template: unknown macro %FOO%; known macros: {KNOWN_MACROS}"
    ]


def test_empty_file_name_template_is_the_default() -> None:
    assert valid(file_name_template="").file_name.text == (
        "%DESTINATION_NAME%_segment%SEGMENT_ID%_%DATETIME(YYYYMMdd_HHmmss)%"
    )


@pytest.mark.parametrize(
    ("value", "char"),
    [("\t", "\t"), ("\\t", "\t"), ("tab", "\t"), ("TAB", "\t"), (",", ","), ("Pipe", "|")],
)
def test_csv_delimiter_choices(value: str, char: str) -> None:
    assert valid(csv_delimiter=value).dialect.delimiter == char


# --- from_config: one bad setting, one line naming it ----------------------------------------


def folder_char(char: str, position: int) -> str:
    return (
        f"folder_path: character {char!r} at position {position} is not allowed in a folder "
        f"path; allowed: {FOLDER_ALLOWED_TEXT}"
    )


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        pytest.param({"bucket": "Acme"}, f"bucket: 'Acme' {BAD_CHARS}", id="bucket-uppercase"),
        pytest.param({"bucket": "ab"}, f"bucket: 'ab' {BAD_CHARS}", id="bucket-too-short"),
        pytest.param(
            {"bucket": "b" * 64}, f"bucket: '{'b' * 64}' {BAD_CHARS}", id="bucket-too-long"
        ),
        pytest.param({"bucket": ""}, f"bucket: '' {BAD_CHARS}", id="bucket-empty"),
        pytest.param({"bucket": "10.0.0.1"}, f"bucket: '10.0.0.1' {IP}", id="bucket-ip"),
        pytest.param({"bucket": "a..b"}, f"bucket: 'a..b' {ADJACENT}", id="bucket-periods"),
        pytest.param(
            {"bucket": "xn--acme"}, f"bucket: 'xn--acme' {RESERVED}", id="bucket-reserved-prefix"
        ),
        pytest.param(
            {"bucket": "acme--ol-s3"},
            f"bucket: 'acme--ol-s3' {RESERVED}",
            id="bucket-reserved-suffix",
        ),
        pytest.param({"folder_path": "my exports"}, folder_char(" ", 2), id="folder-space"),
        pytest.param({"folder_path": "a\\b"}, folder_char("\\", 1), id="folder-backslash"),
        pytest.param({"folder_path": "exports/é"}, folder_char("é", 8), id="folder-non-ascii"),
        pytest.param({"folder_path": "a:b"}, folder_char(":", 1), id="folder-colon"),
        pytest.param({"folder_path": "a\nb"}, folder_char("\n", 1), id="folder-newline"),
        pytest.param(
            {"folder_path": "a/../b"},
            "folder_path: folder path 'a/../b' has a '..' segment; it is not allowed",
            id="folder-dotdot",
        ),
        pytest.param(
            {"folder_path": ".."},
            "folder_path: folder path '..' has a '..' segment; it is not allowed",
            id="folder-only-dotdot",
        ),
        pytest.param(
            {"folder_path": "./exports"},
            "folder_path: folder path './exports' has a '.' segment; it is not allowed",
            id="folder-dot",
        ),
        pytest.param(
            {"folder_path": "exports/%SEGMENTNAME%"},
            "folder_path: unknown macro %SEGMENTNAME%; did you mean %SEGMENT_NAME%? "
            f"Known macros: {KNOWN_MACROS}",
            id="folder-unknown-macro",
        ),
        pytest.param(
            {"folder_path": "%DATETIME(YYYY-MM-dx)%"},
            "folder_path: bad %DATETIME% pattern 'YYYY-MM-dx': letter 'd' at position 8 is "
            "not a token; use YYYY, MM, dd, HH, mm, ss, SSS and non-letter separators",
            id="folder-bad-datetime",
        ),
        pytest.param(
            {"file_name_template": "%SEGMENT_ID%_%FOO%"},
            f"file_name_template: unknown macro %FOO%; known macros: {KNOWN_MACROS}",
            id="file-unknown-macro",
        ),
        pytest.param(
            {"file_name_template": "%DATETIME(yyyyMMdd)%"},
            "file_name_template: bad %DATETIME% pattern 'yyyyMMdd': letter 'y' at position 0 "
            "is not a token; use YYYY, MM, dd, HH, mm, ss, SSS and non-letter separators",
            id="file-bad-datetime",
        ),
        pytest.param(
            {"file_name_template": "x_%DATETIME()%"},
            "file_name_template: %DATETIME()% has an empty pattern; e.g. %DATETIME(YYYYMMdd)%",
            id="file-empty-datetime",
        ),
        pytest.param(
            {"file_name_template": "%SEGMENT_ID(x)%"},
            "file_name_template: macro %SEGMENT_ID% takes no argument, got %SEGMENT_ID(x)%",
            id="file-macro-argument",
        ),
        pytest.param(
            {"file_name_template": "%DATETIME(YYYY%"},
            "file_name_template: macro %DATETIME( is not closed; write %NAME(argument)% "
            "with no '(', ')' or '%' inside the argument",
            id="file-unclosed-macro",
        ),
        pytest.param(
            {"destination_name": "a/b"},
            f"destination_name: value 'a/b' contains '/' at position 1; {PLAIN}",
            id="destination-slash",
        ),
        pytest.param(
            {"destination_name": ".."},
            "destination_name: value '..' is not allowed (it would be a relative path segment)",
            id="destination-dotdot",
        ),
        pytest.param(
            {"custom_text": "week/1"},
            f"custom_text: value 'week/1' contains '/' at position 4; {PLAIN}",
            id="custom-slash",
        ),
        pytest.param(
            {"custom_text": "a\\b"},
            f"custom_text: value 'a\\\\b' contains '\\\\' at position 1; {PLAIN}",
            id="custom-backslash",
        ),
        pytest.param(
            {"organization_name": "ac\nme"},
            f"organization_name: value 'ac\\nme' contains '\\n' at position 2; {PLAIN}",
            id="organization-newline",
        ),
        pytest.param(
            {"sandbox_name": "/prod"},
            f"sandbox_name: value '/prod' contains '/' at position 0; {PLAIN}",
            id="sandbox-slash",
        ),
        pytest.param(
            {"run_id": "."},
            "run_id: value '.' is not allowed (it would be a relative path segment)",
            id="run-id-dot",
        ),
        pytest.param(
            {"export_time": "yesterday"},
            f"export_time: export time 'yesterday' is not an ISO-8601 instant; {TIME_EXAMPLE}",
            id="export-time-text",
        ),
        pytest.param(
            {"export_time": "2024-05-01"},
            f"export_time: export time '2024-05-01' is not an ISO-8601 instant; {TIME_EXAMPLE}",
            id="export-time-date-only",
        ),
        pytest.param(
            {"export_time": "2024-13-01T00:00:00Z"},
            "export_time: export time '2024-13-01T00:00:00Z' is out of range "
            f"(month must be in 1..12); {TIME_EXAMPLE}",
            id="export-time-month",
        ),
        pytest.param({"fields": ["email", 3]}, f"fields[1]: {SHAPE}, got 3", id="fields-int-entry"),
        pytest.param(
            {"fields": [{"src": "email"}]},
            f"fields[0]: {SHAPE}, got {{'src': 'email'}}",
            id="fields-unknown-key",
        ),
        pytest.param(
            {"fields": ["email", {"source": ""}]},
            "fields[1]: 'source' must be a non-empty path such as 'person.email'",
            id="fields-empty-source",
        ),
        pytest.param(
            {"fields": [{"source": "email", "target": 5}]},
            "fields[0]: 'target' must be a non-empty string",
            id="fields-int-target",
        ),
        pytest.param(
            {"csv_quote": "", "csv_quote_all": True},
            'csv_quote_all needs a quote character, but csv_quote is ""',
            id="quote-all-without-quote",
        ),
        pytest.param(
            {"csv_delimiter": "x"},
            "csv_delimiter must be one of tab, ',', '|', ';', ':'; got 'x'",
            id="csv-delimiter",
        ),
        pytest.param(
            {"csv_quote": "'"},
            'csv_quote must be \'"\' or "" (no quoting); got "\'"',
            id="csv-quote",
        ),
        pytest.param(
            {"csv_escape": "/"}, "csv_escape must be one of '\\\\', \"'\"; got '/'", id="csv-escape"
        ),
        pytest.param(
            {"csv_null_value": "NULL"},
            "csv_null_value must be one of 'null', '\"\"', ''; got 'NULL'",
            id="csv-null-value",
        ),
        pytest.param(
            {"csv_empty_value": "-"},
            "csv_empty_value must be one of 'null', '\"\"', ''; got '-'",
            id="csv-empty-value",
        ),
        pytest.param(
            {"csv_header": "yes"}, "csv_header must be true or false; got 'yes'", id="csv-header"
        ),
    ],
)
def test_one_bad_setting(changes: dict[str, Any], expected: str) -> None:
    assert problems(**changes) == [expected]
    setting = next(iter(changes)) if "csv_quote_all" not in changes else "csv_quote_all"
    assert expected.startswith(setting)


def test_missing_bucket_is_a_problem() -> None:
    assert Settings.from_config({}) == (None, [f"bucket: '' {BAD_CHARS}"])


def test_folder_path_with_a_bad_character_and_an_unknown_macro_gives_two_lines() -> None:
    assert problems(folder_path="my exports/%FOO%") == [
        folder_char(" ", 2),
        f"folder_path: unknown macro %FOO%; known macros: {KNOWN_MACROS}",
    ]


def test_several_problems_are_reported_together() -> None:
    errors = problems(
        bucket="Bad_Bucket",
        folder_path="a/../b",
        file_name_template="%NOPE%",
        destination_name="x/y",
        custom_text="c\\d",
        export_time="soon",
        csv_delimiter="x",
        fields=["email", 7],
    )
    assert errors == [
        f"bucket: 'Bad_Bucket' {BAD_CHARS}",
        "folder_path: folder path 'a/../b' has a '..' segment; it is not allowed",
        f"file_name_template: unknown macro %NOPE%; known macros: {KNOWN_MACROS}",
        f"destination_name: value 'x/y' contains '/' at position 1; {PLAIN}",
        f"custom_text: value 'c\\\\d' contains '\\\\' at position 1; {PLAIN}",
        f"export_time: export time 'soon' is not an ISO-8601 instant; {TIME_EXAMPLE}",
        "csv_delimiter must be one of tab, ',', '|', ';', ':'; got 'x'",
        f"fields[1]: {SHAPE}, got 7",
    ]


def test_every_problem_line_starts_with_its_setting() -> None:
    errors = problems(
        bucket="10.0.0.1",
        folder_path="%X%",
        file_name_template="%DATETIME(q)%",
        organization_name="o/o",
        sandbox_name="s\x00",
        run_id="..",
        csv_quote="",
        csv_quote_all=True,
        fields=[{"source": "a", "other": 1}],
    )
    assert [line.split(":")[0].split(" ")[0] for line in errors] == [
        "bucket",
        "folder_path",
        "file_name_template",
        "organization_name",
        "sandbox_name",
        "run_id",
        "csv_quote_all",
        "fields[0]",
    ]


@pytest.mark.parametrize("template", ["a/b_%SEGMENT_ID%", "a\\b", "x\x00y", ".."])
def test_file_name_template_is_one_path_segment(template: str) -> None:
    settings, problems = Settings.from_config(
        {"bucket": "acme-audiences", "folder_path": "%SEGMENT_ID%", "file_name_template": template}
    )
    assert settings is None
    assert len(problems) == 1
    assert problems[0].startswith("file_name_template: value ")
    assert problems[0].endswith("; put folders in folder_path")


def test_schema_object_without_type_is_flattened() -> None:
    from target_adobe_s3.rows.columns import Column, schema_columns

    schema = {"properties": {"p": {"properties": {"x": {"type": "string"}}}}}
    assert schema_columns(schema) == [Column(("p", "x"), "p_x")]


# --- region, endpoint_url, bucket echo, lengths (issue 5: every bad input answered) ----------

REGION_HINT = (
    "is not an AWS region name like eu-west-1, us-gov-west-1 or cn-north-1; "
    "remove it to look the bucket's region up"
)
ENDPOINT_SHAPE = (
    "endpoint_url: must be an http:// or https:// URL with a host, e.g. http://127.0.0.1:9000; "
    "remove it to use AWS's own endpoints"
)
ENDPOINT_CREDENTIALS = (
    "endpoint_url: must not hold credentials (user:password@host); give them in "
    "aws_access_key_id/aws_secret_access_key or use aws_profile"
)
ENDPOINT_QUERY = (
    "endpoint_url: must not have a query (?...) or a fragment (#...); give the host, port and path"
)
TOO_LONG = (
    "is {size} bytes long; a folder or file name may have at most 200 (before its extension), "
    "as file systems allow 255"
)


@pytest.mark.parametrize(
    "region",
    [
        "us-east-1",
        "eu-central-2",
        "us-gov-west-1",
        "cn-north-1",
        "ap-southeast-5",
        "il-central-1",
        "eusc-de-east-1",
        "us-isob-east-1",
    ],
)
def test_region_valid(region: str) -> None:
    assert valid(region=region).bucket == BUCKET


@pytest.mark.parametrize(
    "region",
    [
        "US East",
        "us_east_1",
        "US-EAST-1",
        "us-east",
        "useast1",
        "us-east-1a",
        "us-east-1 ",
        "us-east-1\n",
        "eu-west-1/x",
    ],
)
def test_region_invalid(region: str) -> None:
    assert problems(region=region) == [f"region: {region!r} {REGION_HINT}"]


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9000",
        "https://s3.eu-west-1.amazonaws.com",
        "https://s3.eu-west-1.amazonaws.com/",
        "https://minio.internal:9443/s3",
        "http://[::1]:9000",
        "http://localhost",
    ],
)
def test_endpoint_url_valid(url: str) -> None:
    assert valid(endpoint_url=url).bucket == BUCKET


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        pytest.param("127.0.0.1:9000", ENDPOINT_SHAPE, id="no-scheme"),
        pytest.param("ftp://example.com", ENDPOINT_SHAPE, id="ftp"),
        pytest.param("http://", ENDPOINT_SHAPE, id="no-host"),
        pytest.param("http://host:port", ENDPOINT_SHAPE, id="bad-port"),
        pytest.param("http://host:99999", ENDPOINT_SHAPE, id="port-range"),
        pytest.param(
            "http://ho st:9000",
            f"{ENDPOINT_SHAPE} (it holds a space or a control character)",
            id="space",
        ),
        pytest.param(
            "http://host:9000\n",
            f"{ENDPOINT_SHAPE} (it holds a space or a control character)",
            id="newline",
        ),
        pytest.param("http://AKIDSECRET:pa55word@host:9000", ENDPOINT_CREDENTIALS, id="user-pass"),
        pytest.param("https://token@host", ENDPOINT_CREDENTIALS, id="user"),
        pytest.param("https://host/?X-Amz-Signature=abc", ENDPOINT_QUERY, id="query"),
        pytest.param("https://host/#frag", ENDPOINT_QUERY, id="fragment"),
        pytest.param("https://host/?", ENDPOINT_QUERY, id="empty-query"),
    ],
)
def test_endpoint_url_invalid(url: str, expected: str) -> None:
    (problem,) = problems(endpoint_url=url)
    assert problem == expected
    for secret in ("AKIDSECRET", "pa55word", "token", "X-Amz-Signature"):
        assert secret not in problem  # the URL is never echoed: it may hold a secret


@pytest.mark.parametrize("name", ["acme\nevil", "acme\r\n", "a\x00b"])
def test_bucket_error_is_one_line_whatever_the_name(name: str) -> None:
    (problem,) = problems(bucket=name)
    assert problem == f"bucket: {name!r} {BAD_CHARS}"
    assert "\n" not in problem
    assert "\r" not in problem


def test_folder_segment_longer_than_200_bytes_is_refused() -> None:
    assert valid(folder_path="a/" + "x" * 200 + "/%SEGMENT_NAME%").folder.text.startswith("a/")
    (problem,) = problems(folder_path="a/" + "x" * 201 + "/%SEGMENT_NAME%")
    assert problem == f"folder_path: {'x' * 40!r}... " + TOO_LONG.format(size=201)


def test_file_name_template_longer_than_200_bytes_is_refused() -> None:
    # Macros do not count: what they expand to is fitted when the key is built.
    assert valid(file_name_template="f" * 190 + "%SEGMENT_NAME%%SEGMENT_ID%%DATETIME%").file_name
    (problem,) = problems(file_name_template="%SEGMENT_ID%" + "é" * 101)
    assert problem == f"file_name_template: {'%SEGMENT_ID%' + 'é' * 28!r}... " + TOO_LONG.format(
        size=202
    )


@pytest.mark.parametrize(
    ("changes", "setting"),
    [
        (
            {"aws_access_key_id": "AKID", "aws_secret_access_key": "S", "aws_profile": "p"},
            "aws_profile",
        ),
        ({"aws_access_key_id": "AKID"}, "aws_access_key_id"),
        ({"aws_secret_access_key": "S"}, "aws_secret_access_key"),
        ({"aws_session_token": "T"}, "aws_session_token"),
        ({"external_id": "ext-1"}, "external_id"),
        ({"role_arn": "my-role"}, "role_arn"),
        ({"kms_key_id": "alias/k"}, "kms_key_id"),
    ],
)
def test_credential_settings_that_do_not_go_together(changes: dict[str, Any], setting: str) -> None:
    (problem,) = problems(**changes)
    assert problem.startswith(f"{setting}: ")
    assert "\n" not in problem


def test_every_bad_setting_named_together() -> None:
    errors = problems(
        bucket="Acme_Audiences",
        folder_path="exports/%SEGMENT_NAME% list",
        region="US East",
        endpoint_url="http://user:hunter2@127.0.0.1:9000",
        aws_access_key_id="AKID",
        aws_profile="prod",
    )
    assert [line.split(":")[0] for line in errors] == [
        "bucket",
        "folder_path",
        "aws_access_key_id",
        "aws_profile",
        "region",
        "endpoint_url",
    ]
    assert all("\n" not in line for line in errors)
    assert not any("hunter2" in line for line in errors)
