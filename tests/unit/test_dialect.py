"""CSV dialects from the csv_* settings: the choices, and one message per wrong value."""

from __future__ import annotations

import pytest

from target_adobe_s3.formats.dialect import CsvDialect, DialectError


@pytest.mark.parametrize(
    ("given", "char"),
    [
        ("\t", "\t"),
        ("tab", "\t"),
        ("TAB", "\t"),
        ("\\t", "\t"),
        (",", ","),
        ("comma", ","),
        ("Comma", ","),
        ("|", "|"),
        ("pipe", "|"),
        (";", ";"),
        ("semicolon", ";"),
        (":", ":"),
        ("colon", ":"),
    ],
)
def test_delimiter_choices(given: str, char: str) -> None:
    assert CsvDialect.from_settings(given, '"', "\\", "", "", True, False).delimiter == char


def test_from_settings_keeps_every_choice() -> None:
    dialect = CsvDialect.from_settings(
        delimiter="pipe",
        quote="",
        escape="'",
        null_value="null",
        empty_value='""',
        header=False,
        quote_all=False,
    )
    assert dialect == CsvDialect("|", "", "'", "null", '""', False, False)


GOOD = {
    "delimiter": "\t",
    "quote": '"',
    "escape": "\\",
    "null_value": "",
    "empty_value": "",
    "header": True,
    "quote_all": False,
}


@pytest.mark.parametrize(
    ("option", "value", "setting"),
    [
        ("delimiter", "x", "csv_delimiter"),
        ("delimiter", " ", "csv_delimiter"),
        ("delimiter", "", "csv_delimiter"),
        ("delimiter", ",,", "csv_delimiter"),
        ("delimiter", "\n", "csv_delimiter"),
        ("delimiter", "space", "csv_delimiter"),
        ("delimiter", None, "csv_delimiter"),
        ("delimiter", 9, "csv_delimiter"),
        ("quote", "'", "csv_quote"),
        ("quote", "none", "csv_quote"),
        ("quote", None, "csv_quote"),
        ("escape", "/", "csv_escape"),
        ("escape", "", "csv_escape"),
        ("escape", '"', "csv_escape"),
        ("escape", None, "csv_escape"),
        ("null_value", "NULL", "csv_null_value"),
        ("null_value", "none", "csv_null_value"),
        ("null_value", None, "csv_null_value"),
        ("empty_value", "empty", "csv_empty_value"),
        ("empty_value", "''", "csv_empty_value"),
        ("empty_value", 0, "csv_empty_value"),
        ("header", "yes", "csv_header"),
        ("header", 1, "csv_header"),
        ("quote_all", "true", "csv_quote_all"),
        ("quote_all", None, "csv_quote_all"),
    ],
)
def test_from_settings_errors(option: str, value: object, setting: str) -> None:
    with pytest.raises(DialectError) as caught:
        CsvDialect.from_settings(**{**GOOD, option: value})
    message = str(caught.value)
    assert setting in message
    assert "\n" not in message
    assert isinstance(caught.value, ValueError)


def test_quote_all_needs_a_quote() -> None:
    with pytest.raises(DialectError, match="csv_quote_all"):
        CsvDialect.from_settings(**{**GOOD, "quote": "", "quote_all": True})
    with pytest.raises(DialectError, match="csv_quote_all"):
        CsvDialect(quote="", quote_all=True)


def test_delimiter_message_lists_choices() -> None:
    with pytest.raises(DialectError) as caught:
        CsvDialect.from_settings(**{**GOOD, "delimiter": "x"})
    assert str(caught.value) == "csv_delimiter must be one of tab, ',', '|', ';', ':'; got 'x'"


def test_direct_construction_is_checked() -> None:
    with pytest.raises(DialectError, match="csv_delimiter"):
        CsvDialect(delimiter="tab")  # the dataclass holds characters; words go via from_settings
    with pytest.raises(DialectError, match="csv_escape"):
        CsvDialect(escape="/")
