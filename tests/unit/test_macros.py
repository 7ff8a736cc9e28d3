"""Tests for folder/file-name macros: the one list, templates, expansion, the export time."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone

import pytest

from target_adobe_s3.naming.macros import (
    KNOWN_MACROS,
    MACRO_NAMES,
    MACROS,
    RUN_MACROS,
    SEGMENT_MACROS,
    RunContext,
    SegmentValues,
    Template,
    known_macros,
    parse_export_time,
)
from target_adobe_s3.naming.safety import MacroError, join_key
from target_adobe_s3.schema import CONFIG_SCHEMA

EXPORT_TIME = datetime(2020, 4, 8, 6, 18, 4, 123456, tzinfo=timezone.utc)
RUN = RunContext(
    export_time=EXPORT_TIME,
    run_id="run-1",
    destination_name="Salesforce_Marketing_Cloud",
    custom_text="weekly",
    organization_name="acme",
    sandbox_name="prod",
)
SEGMENT_ID = "12341e18-abcd-49c2-836d-123c88e76c39"
SEGMENT = SegmentValues(SEGMENT_ID, segment_name="Luxury Audience", stream_name="members")


def expand(text: str, run: RunContext = RUN, segment: SegmentValues = SEGMENT) -> str:
    return Template.parse(text).expand(run, segment)


def segment_named(name: str) -> SegmentValues:
    return SegmentValues(segment_id=SEGMENT_ID, segment_name=name, stream_name="members")


# --- expansion ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("%SEGMENT_ID%", SEGMENT_ID),
        ("%SEGMENT_NAME%", "Luxury Audience"),
        ("%STREAM_NAME%", "members"),
        ("%DESTINATION_NAME%", "Salesforce_Marketing_Cloud"),
        ("%DATETIME%", "20200408_061804"),
        ("%DATETIME(YYYYMMdd_HHmmss)%", "20200408_061804"),
        ("%DATETIME(YYYYMMddHHmmss)%", "20200408061804"),
        ("%DATETIME(YYYY-MM-dd)%", "2020-04-08"),
        ("%DATETIME(YYYY/MM/dd)%", "2020/04/08"),
        ("%DATETIME(HH:mm:ss.SSS)%", "06:18:04.123"),
        ("%DATETIME(YYYYMMdd HHmmssSSS)%", "20200408 061804123"),
        ("%DATETIME(YYYY)%", "2020"),
        ("%DATETIME(_)%", "_"),
        ("%TIMESTAMP%", "1586326684"),
        ("%RUN_ID%", "run-1"),
        ("%CUSTOM_TEXT%", "weekly"),
        ("%ORGANIZATION_NAME%", "acme"),
        ("%SANDBOX_NAME%", "prod"),
        ("", ""),
        ("plain.csv", "plain.csv"),
        (
            "%DESTINATION_NAME%_segment%SEGMENT_ID%_%DATETIME(YYYYMMdd_HHmmss)%",
            "Salesforce_Marketing_Cloud_segment12341e18-abcd-49c2-836d-123c88e76c39_20200408_061804",
        ),
        (
            "acme/campaigns/2021/%SEGMENT_NAME%/%SEGMENT_ID%",
            f"acme/campaigns/2021/Luxury Audience/{SEGMENT_ID}",
        ),
        (
            "%ORGANIZATION_NAME%_%SANDBOX_NAME%_%TIMESTAMP%_%CUSTOM_TEXT%",
            "acme_prod_1586326684_weekly",
        ),
        ("%SEGMENT_ID%%SEGMENT_ID%", SEGMENT_ID * 2),
    ],
)
def test_expand(text: str, expected: str) -> None:
    assert expand(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("100%", "100%"),
        ("100%_%RUN_ID%", "100%_run-1"),
        ("%", "%"),
        ("%%", "%%"),
        ("%%RUN_ID%%", "%run-1%"),
        ("50% off %", "50% off %"),
        ("%_X%", "%_X%"),
        ("%1A%", "%1A%"),
        ("a%(b)%", "a%(b)%"),
        ("a%20b%2F", "a%20b%2F"),
        ("x%-y%", "x%-y%"),
        ("50%off(sale)", "50%off(sale)"),
    ],
)
def test_percent_that_is_not_a_macro_is_literal(text: str, expected: str) -> None:
    assert expand(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "%segment_name%",
            "unknown macro %segment_name%; did you mean %SEGMENT_NAME%? "
            "(macro names are upper case)",
        ),
        ("%Run_Id%", "unknown macro %Run_Id%; did you mean %RUN_ID%? (macro names are upper case)"),
        (
            "x_%datetime(YYYY)%",
            "unknown macro %datetime(YYYY)%; did you mean %DATETIME(YYYY)%? "
            "(macro names are upper case)",
        ),
        (
            "%SEGMENTNAME%",
            "unknown macro %SEGMENTNAME%; did you mean %SEGMENT_NAME%? "
            f"Known macros: {KNOWN_MACROS}",
        ),
        (
            "%TIMESTMP(x)%",
            f"unknown macro %TIMESTMP(x)%; did you mean %TIMESTAMP%? Known macros: {KNOWN_MACROS}",
        ),
        ("50%off%", f"unknown macro %off%; known macros: {KNOWN_MACROS}"),
        (
            "%datetime(YYYY",
            "macro %datetime( is not closed; write %NAME(argument)% with no '(', ')' or '%' "
            "inside the argument",
        ),
    ],
)
def test_text_shaped_like_a_macro_must_be_one(text: str, message: str) -> None:
    with pytest.raises(MacroError) as info:
        Template.parse(text)
    assert str(info.value) == message


def test_macro_names_are_one_list() -> None:
    assert set(MACRO_NAMES) == SEGMENT_MACROS | set(RUN_MACROS) | {"DATETIME", "TIMESTAMP"}
    assert len(MACRO_NAMES) == len(set(MACRO_NAMES))
    assert tuple(MACROS) == MACRO_NAMES
    fields = {"segment": SegmentValues, "run": RunContext}
    for name, source in MACROS.items():  # each value comes from a field of its name, or the time
        if source == "time":
            assert name in {"DATETIME", "TIMESTAMP"}
        else:
            assert name.lower() in fields[source].__dataclass_fields__
    for name in MACRO_NAMES:  # each is listed and expands
        assert f"%{name}%" in KNOWN_MACROS.split(", ")
        assert "%" not in expand(f"%{name}%")
    for setting in ("folder_path", "file_name_template"):
        description = CONFIG_SCHEMA["properties"][setting]["description"]
        assert known_macros(tokens=True) in description


@pytest.mark.parametrize(
    "export_time",
    [
        datetime(2020, 4, 8, 8, 18, 4, 123456, tzinfo=timezone(timedelta(hours=2))),
        datetime(2020, 4, 7, 21, 48, 4, 123999, tzinfo=timezone(timedelta(hours=-8, minutes=-30))),
        datetime(2020, 4, 8, 6, 18, 4, 123000),  # naive: taken as UTC
    ],
)
def test_time_macros_use_utc(export_time: datetime) -> None:
    run = RunContext(export_time=export_time, run_id="r", destination_name="d")
    text = "%DATETIME(YYYY-MM-dd HH:mm:ss.SSS)%|%TIMESTAMP%|%DATETIME%"
    assert expand(text, run) == "2020-04-08 06:18:04.123|1586326684|20200408_061804"


def test_timestamp_has_ten_digits_and_floors() -> None:
    run = RunContext(
        export_time=datetime(2001, 9, 9, 1, 46, 40, 999999, tzinfo=timezone.utc),
        run_id="r",
        destination_name="d",
    )
    assert expand("%TIMESTAMP%", run) == "1000000000"


def test_milliseconds_are_truncated_and_padded() -> None:
    run = RunContext(
        export_time=datetime(2020, 1, 2, 3, 4, 5, 7999, tzinfo=timezone.utc),
        run_id="r",
        destination_name="d",
    )
    assert expand("%DATETIME(SSS)%", run) == "007"


def test_config_values_are_inserted_as_is() -> None:
    run = RunContext(export_time=EXPORT_TIME, run_id="r", destination_name="My Dest (EU)+%RUN_ID%")
    # Inserted once, never expanded again.
    assert expand("%DESTINATION_NAME%", run) == "My Dest (EU)+%RUN_ID%"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("a/b", "a_b"),
        ("..", "__"),
        ("../../etc", ".._.._etc"),
        ("", "_"),
    ],
)
def test_segment_values_are_made_safe(name: str, expected: str) -> None:
    assert expand("x/%SEGMENT_NAME%/y", segment=segment_named(name)) == f"x/{expected}/y"
    hostile = SegmentValues(segment_id=name, segment_name="n", stream_name=name)
    # A changed id also gets its own hash, so that it cannot meet another id.
    digest = hashlib.sha256(name.encode()).hexdigest()[:12]
    assert expand("%SEGMENT_ID%-%STREAM_NAME%", segment=hostile) == (
        f"{expected}~{digest}-{expected}"
    )


def test_an_id_cut_to_share_a_long_segment_keeps_its_own_hash() -> None:
    segment = SegmentValues(segment_id="i" * 150, segment_name="n" * 150, stream_name="m")
    text = expand("%SEGMENT_ID%_%SEGMENT_NAME%", segment=segment)
    digest = hashlib.sha256(b"i" * 150).hexdigest()[:12]
    assert text.startswith("i" * 86 + "~" + digest + "_n")
    assert len(text.encode()) == 200


# --- parse errors -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        ("%FOO%", ["unknown macro %FOO%", "known macros", "%SEGMENT_ID%", "%DATETIME(pattern)%"]),
        ("a/%SEGMENT%/b", ["unknown macro %SEGMENT%"]),
        ("%DATE_TIME%", ["unknown macro %DATE_TIME%", "%TIMESTAMP%", "%SANDBOX_NAME%"]),
        ("%FOO(x)%", ["unknown macro %FOO(x)%"]),
        ("%DATETIME()%", ["%DATETIME()%", "empty pattern"]),
        ("%RUN_ID(x)%", ["%RUN_ID%", "takes no argument", "%RUN_ID(x)%"]),
        ("%SEGMENT_ID(8)%", ["%SEGMENT_ID%", "takes no argument"]),
        ("%DATETIME(YYYY%", ["%DATETIME(", "not closed"]),
        ("%DATETIME(a(b)%", ["%DATETIME(", "not closed"]),
    ],
)
def test_parse_errors(text: str, fragments: list[str]) -> None:
    with pytest.raises(MacroError) as info:
        Template.parse(text)
    for fragment in fragments:
        assert fragment in str(info.value)


@pytest.mark.parametrize(
    ("pattern", "letter", "position"),
    [
        ("yyyyMMdd", "y", 0),
        ("YYYYMMdd_hhmmss", "h", 9),
        ("YYYY-MM-DD", "D", 8),
        ("YYYYMMMdd", "M", 6),
        ("YYYY-MM-dd'T'HH", "T", 11),
        ("YY", "Y", 0),
        ("S", "S", 0),
        ("HHmmssé", "é", 6),
    ],
)
def test_bad_datetime_pattern(pattern: str, letter: str, position: int) -> None:
    with pytest.raises(MacroError) as info:
        Template.parse(f"file_%DATETIME({pattern})%")
    message = str(info.value)
    assert repr(pattern) in message
    assert f"letter {letter!r} at position {position}" in message
    assert "YYYY, MM, dd, HH, mm, ss, SSS" in message


def test_macro_error_is_a_value_error() -> None:
    assert issubclass(MacroError, ValueError)


# --- template properties ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "prefix", "uses_segment"),
    [
        ("acme/campaigns/2021/%SEGMENT_NAME%/%SEGMENT_ID%", "acme/campaigns/2021/", True),
        ("exports/%DATETIME(YYYY/MM/dd)%", "exports/", False),
        ("exports/static", "exports/static", False),
        ("", "", False),
        ("%SEGMENT_ID%/x", "", True),
        ("a/%STREAM_NAME%", "a/", True),
        ("100%/%DESTINATION_NAME%", "100%/", False),
        ("%TIMESTAMP%_%RUN_ID%_%CUSTOM_TEXT%", "", False),
    ],
)
def test_static_prefix_and_uses_segment(text: str, prefix: str, uses_segment: bool) -> None:
    template = Template.parse(text)
    assert template.static_prefix == prefix
    assert template.uses_segment() is uses_segment
    assert template.uses("SEGMENT_ID") is ("%SEGMENT_ID%" in text)
    assert template.text == text


def test_template_equality_and_direct_construction() -> None:
    assert Template.parse("a/%RUN_ID%") == Template("a/%RUN_ID%")
    with pytest.raises(MacroError):
        Template("%NOPE%")


# --- keys built from hostile names ------------------------------------------------------

HOSTILE_NAMES = [
    "..",
    ".",
    "",
    "/",
    "//",
    "../..",
    "../../../etc/passwd",
    "/leading",
    "trailing/",
    "a\\..\\b",
    "\\",
    "a\nb",
    "a\x00b",
    "\u2028",
    "%2e%2e",
    "%SEGMENT_ID%",
    "Ünïcødé 日本",
    "x" * 1000,
    "/" * 1000,
    "." * 1000,
    "../" * 400,
]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_expanded_key_stays_in_its_folder(name: str) -> None:
    folder = Template.parse("acme/campaigns/%SEGMENT_NAME%/%SEGMENT_ID%")
    file_name = Template.parse("%DESTINATION_NAME%_%SEGMENT_NAME%_%DATETIME%.csv")
    segment = segment_named(name)
    key = join_key(folder.expand(RUN, segment), file_name.expand(RUN, segment))
    assert key.startswith(folder.static_prefix)
    parts = key.split("/")
    assert key.count("/") == 4
    assert parts[:2] == ["acme", "campaigns"]
    assert parts[3] == SEGMENT_ID
    assert all(part not in ("", ".", "..") for part in parts)
    assert len(parts[2].encode()) <= 160
    assert parts[4].endswith("_20200408_061804.csv")


# --- parse_export_time ------------------------------------------------------------------

UTC = timezone.utc


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-05-01T06:18:04Z", datetime(2024, 5, 1, 6, 18, 4, tzinfo=UTC)),
        ("2024-05-01t06:18:04z", datetime(2024, 5, 1, 6, 18, 4, tzinfo=UTC)),
        ("2024-05-01T08:18:04+02:00", datetime(2024, 5, 1, 6, 18, 4, tzinfo=UTC)),
        ("2024-05-01T08:18:04+0200", datetime(2024, 5, 1, 6, 18, 4, tzinfo=UTC)),
        ("2024-05-01T08:18:04+02", datetime(2024, 5, 1, 6, 18, 4, tzinfo=UTC)),
        ("2024-04-30T23:48:04-06:30", datetime(2024, 5, 1, 6, 18, 4, tzinfo=UTC)),
        ("2024-05-01T06:18:04.5Z", datetime(2024, 5, 1, 6, 18, 4, 500000, tzinfo=UTC)),
        ("2024-05-01T06:18:04.123Z", datetime(2024, 5, 1, 6, 18, 4, 123000, tzinfo=UTC)),
        ("2024-05-01T06:18:04,123456789Z", datetime(2024, 5, 1, 6, 18, 4, 123456, tzinfo=UTC)),
        ("2024-05-01T06:18:04", datetime(2024, 5, 1, 6, 18, 4, tzinfo=UTC)),
        ("2024-05-01 06:18:04", datetime(2024, 5, 1, 6, 18, 4, tzinfo=UTC)),
        ("2024-05-01T06:18Z", datetime(2024, 5, 1, 6, 18, tzinfo=UTC)),
        ("  2024-05-01T06:18:04Z\n", datetime(2024, 5, 1, 6, 18, 4, tzinfo=UTC)),
        ("2024-05-01T00:30:00+01:00", datetime(2024, 4, 30, 23, 30, tzinfo=UTC)),
    ],
)
def test_parse_export_time(text: str, expected: datetime) -> None:
    parsed = parse_export_time(text)
    assert parsed == expected
    assert parsed.utcoffset() == timedelta(0)
    assert parsed.tzinfo is UTC


def test_parse_export_time_feeds_macros() -> None:
    run = RunContext(
        export_time=parse_export_time("2020-04-08T08:18:04.123+02:00"),
        run_id="r",
        destination_name="d",
    )
    assert expand("%DATETIME(YYYYMMdd_HHmmss.SSS)%_%TIMESTAMP%", run) == (
        "20200408_061804.123_1586326684"
    )


@pytest.mark.parametrize(
    "text",
    [
        "",
        "now",
        "2024-05-01",
        "2024/05/01T06:18:04Z",
        "2024-05-01T06:18:04 UTC",
        "2024-05-01T06:18:04+2",
        "2024-13-01T06:18:04Z",
        "2024-02-30T06:18:04Z",
        "2024-05-01T24:00:00Z",
        "2024-05-01T06:18:60Z",
        "2024-05-01T06:18:04+24:00",
        "0001-01-01T00:00:00+01:00",
        "1586326684",
        "\u0662\u0660\u0662\u0664-05-01T06:18:04Z",
    ],
)
def test_parse_export_time_errors(text: str) -> None:
    with pytest.raises(MacroError) as info:
        parse_export_time(text)
    message = str(info.value)
    assert repr(text) in message
    assert "2024-05-01T06:18:04Z" in message
