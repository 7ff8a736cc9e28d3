"""CSV dialects, row formatting and value-to-text conversion (target_adobe_s3.formats.csv)."""

from __future__ import annotations

import csv
import io
import itertools
import random
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from enum import Enum, IntEnum

import pytest

from target_adobe_s3.formats.csv import compile_row_formatter
from target_adobe_s3.formats.dialect import DELIMITERS, NULL_CHOICES, CsvDialect, DialectError
from target_adobe_s3.formats.ndjson import compile_json_formatter
from target_adobe_s3.rows.values import to_text


def read_back(text: str, dialect: CsvDialect) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text), **dialect.reader_kwargs()))


def fmt(dialect: CsvDialect, row: list[str | None]) -> str:
    return compile_row_formatter(dialect)(row)


# ---------------------------------------------------------------------------------------------
# Exact output


DEFAULT = CsvDialect()


@pytest.mark.parametrize(
    ("row", "line"),
    [
        (["a", "b", "c"], "a\tb\tc\n"),
        (["a\tb", "c"], '"a\tb"\tc\n'),
        (['say "hi"', "x"], '"say \\"hi\\""\tx\n'),
        (["c:\\dir\\file"], '"c:\\\\dir\\\\file"\n'),
        (["line1\nline2", "z"], '"line1\nline2"\tz\n'),
        (["a\r\nb"], '"a\r\nb"\n'),
        (["cr\r"], '"cr\r"\n'),
        (["\\"], '"\\\\"\n'),
        (['"'], '"\\""\n'),
        (["it's", "a,b|c;d:e"], "it's\ta,b|c;d:e\n"),
        ([" pad ", "  "], " pad \t  \n"),
        (["héllo", "日本語", "😀"], "héllo\t日本語\t😀\n"),
        ([None, "", "x"], "\t\tx\n"),
        (["x", None], "x\t\n"),
        ([None, None], "\t\n"),
        (["null", "NULL"], "null\tNULL\n"),
        ([], "\n"),
        ([""], "\n"),  # an empty line: csv.reader returns [] for it (a limit of CSV itself)
        (['a\t"b"\\c\nd'], '"a\t\\"b\\"\\\\c\nd"\n'),
    ],
)
def test_default_dialect_exact(row: list[str | None], line: str) -> None:
    assert fmt(DEFAULT, row) == line


def test_default_dialect_settings() -> None:
    assert CsvDialect.from_settings("\t", '"', "\\", "", "", True, False) == DEFAULT
    assert DEFAULT.header is True
    assert DEFAULT.quote_all is False


@pytest.mark.parametrize(
    ("kwargs", "row", "line"),
    [
        # quote '"', escape "'"
        ({"escape": "'"}, ["it's"], "\"it''s\"\n"),
        ({"escape": "'"}, ['a"b'], '"a\'"b"\n'),
        ({"escape": "'"}, ["c\\d"], "c\\d\n"),
        ({"escape": "'"}, ["'"], "\"''\"\n"),
        ({"escape": "'", "delimiter": ","}, ["a,b", "c"], '"a,b",c\n'),
        # comma delimiter: tabs are ordinary text
        ({"delimiter": ","}, ["a\tb", "c;d"], "a\tb,c;d\n"),
        ({"delimiter": "|"}, ["a|b", "c,d"], '"a|b"|c,d\n'),
        ({"delimiter": ";"}, ["a;b"], '"a;b"\n'),
        ({"delimiter": ":"}, ["12:30", "x"], '"12:30":x\n'),
        # no quoting, escape "\"
        ({"quote": ""}, ["a\tb", 'x"y'], 'a\\\tb\tx"y\n'),
        ({"quote": ""}, ["x\ny"], "x\\\ny\n"),
        ({"quote": ""}, ["x\r\ny"], "x\\\r\\\ny\n"),
        ({"quote": ""}, ["\\"], "\\\\\n"),
        ({"quote": ""}, ["it's", '"'], "it's\t\"\n"),
        # no quoting, escape "'"
        ({"quote": "", "escape": "'", "delimiter": ","}, ["a,b", "it's"], "a',b,it''s\n"),
        ({"quote": "", "escape": "'", "delimiter": ","}, ["c\\d", "x\ny"], "c\\d,x'\ny\n"),
        # quote_all
        ({"quote_all": True}, ["a", "b c", ""], '"a"\t"b c"\t\n'),
        ({"quote_all": True}, ['q"', "e\\"], '"q\\""\t"e\\\\"\n'),
        ({"quote_all": True, "escape": "'"}, ["it's", 'q"'], '"it\'\'s"\t"q\'""\n'),
        ({"quote_all": True, "null_value": "null"}, [None, "x"], 'null\t"x"\n'),
        ({"quote_all": True, "null_value": '""'}, [None, "x"], '""\t"x"\n'),
        ({"quote_all": True, "empty_value": "null"}, ["", "x"], 'null\t"x"\n'),
        ({"quote_all": True}, ["null", ""], '"null"\t\n'),
    ],
)
def test_dialect_exact(kwargs: dict[str, object], row: list[str | None], line: str) -> None:
    assert fmt(CsvDialect(**kwargs), row) == line  # type: ignore[arg-type]


# AEP's examples: `male,NULL,Smith` / `male,"",Smith` / `male,,Smith`.
@pytest.mark.parametrize("quote", ['"', ""])
@pytest.mark.parametrize(
    ("choice", "expected"),
    [("null", "male,null,Smith\n"), ('""', 'male,"",Smith\n'), ("", "male,,Smith\n")],
)
def test_null_and_empty_choices(quote: str, choice: str, expected: str) -> None:
    null_dialect = CsvDialect(delimiter=",", quote=quote, null_value=choice, empty_value="")
    assert fmt(null_dialect, ["male", None, "Smith"]) == expected
    assert fmt(null_dialect, ["male", "", "Smith"]) == "male,,Smith\n"

    empty_dialect = CsvDialect(delimiter=",", quote=quote, null_value="", empty_value=choice)
    assert fmt(empty_dialect, ["male", "", "Smith"]) == expected
    assert fmt(empty_dialect, ["male", None, "Smith"]) == "male,,Smith\n"

    # The chosen text reads back as itself; '""' is a quoted empty field only when quoting.
    read_as = {"null": "null", '""': "" if quote else '""', "": ""}[choice]
    assert read_back(expected, null_dialect) == [["male", read_as, "Smith"]]


def test_null_and_empty_choices_differ_in_one_row() -> None:
    dialect = CsvDialect(delimiter=",", null_value="null", empty_value='""')
    assert fmt(dialect, [None, "", "v"]) == 'null,"",v\n'


def test_header_row_uses_same_formatter() -> None:
    dialect = CsvDialect(delimiter=",", quote_all=True)
    format_row = compile_row_formatter(dialect)
    assert format_row(["Email", "person_name_firstName", "a,b"]) == (
        '"Email","person_name_firstName","a,b"\n'
    )


def test_formatter_accepts_tuples_and_is_reusable() -> None:
    format_row = compile_row_formatter(DEFAULT)
    assert format_row(("a", None)) == "a\t\n"
    assert format_row(("a", None)) == "a\t\n"


# ---------------------------------------------------------------------------------------------
# Round trip: every dialect reads back with csv.reader and reader_kwargs()

NASTY = [
    "plain",
    "tab\there",
    "comma,here",
    "pipe|here",
    "semi;colon",
    "co:lon",
    'double "quotes"',
    "it's",
    "back\\slash",
    "trailing\\",
    "\\leading",
    "line\nbreak",
    "crlf\r\nbreak",
    "lone\rcr",
    "\n",
    "\r\n",
    "  leading and trailing spaces  ",
    " ",
    "héllo wörld",
    "日本語",
    "emoji 😀👍🏽",
    "\\",
    '"',
    "'",
    '""',
    "''",
    "\\\\",
    '\\"',
    "\t,|;:'\"\\\r\n",
    "null",
    "NULL",
    "x" * 300,
]


def _dialects() -> list[CsvDialect]:
    dialects = []
    for delimiter, quote, escape, quote_all in itertools.product(
        sorted(set(DELIMITERS.values())), ['"', ""], ["\\", "'"], [False, True]
    ):
        if quote_all and not quote:
            continue
        dialects.append(
            CsvDialect(delimiter=delimiter, quote=quote, escape=escape, quote_all=quote_all)
        )
    return dialects


DIALECTS = _dialects()


def _dialect_id(dialect: CsvDialect) -> str:
    return (
        f"d={dialect.delimiter!r},q={dialect.quote!r},e={dialect.escape!r},all={dialect.quote_all}"
    )


def test_matrix_size() -> None:
    assert len(DIALECTS) == 5 * (2 * 2 + 2)


@pytest.mark.parametrize("dialect", DIALECTS, ids=_dialect_id)
def test_round_trip_each_value(dialect: CsvDialect) -> None:
    format_row = compile_row_formatter(dialect)
    for value in NASTY:
        for row in ([value], ["a", value, "b"], [value, value]):
            line = format_row(row)
            assert line.endswith("\n")
            assert read_back(line, dialect) == [row], (value, line)


@pytest.mark.parametrize("dialect", DIALECTS, ids=_dialect_id)
def test_round_trip_whole_file(dialect: CsvDialect) -> None:
    format_row = compile_row_formatter(dialect)
    rows = [["header one", "header\ttwo", "header,3"], NASTY, list(reversed(NASTY))]
    rows += [[a, b] for a, b in itertools.combinations(NASTY[:16], 2)]
    text = "".join(format_row(row) for row in rows)
    assert read_back(text, dialect) == rows


@pytest.mark.parametrize("dialect", DIALECTS, ids=_dialect_id)
@pytest.mark.parametrize("null_value", NULL_CHOICES)
@pytest.mark.parametrize("empty_value", NULL_CHOICES)
def test_round_trip_null_and_empty(dialect: CsvDialect, null_value: str, empty_value: str) -> None:
    dialect = CsvDialect(
        delimiter=dialect.delimiter,
        quote=dialect.quote,
        escape=dialect.escape,
        quote_all=dialect.quote_all,
        null_value=null_value,
        empty_value=empty_value,
    )

    def reads_as(text: str) -> str:
        return "" if text == '""' and dialect.quote else text

    row = ["a", None, "", NASTY[-2], None, '"', ""]
    expected = ["a", reads_as(null_value), "", NASTY[-2], reads_as(null_value), '"', ""]
    expected[2] = expected[6] = reads_as(empty_value)
    assert read_back(fmt(dialect, row), dialect) == [expected]


@pytest.mark.parametrize("dialect", DIALECTS, ids=_dialect_id)
def test_round_trip_random(dialect: CsvDialect) -> None:
    alphabet = "ab \t,|;:'\"\\\r\né😀"
    rng = random.Random(20240518)
    format_row = compile_row_formatter(dialect)
    rows = [
        [
            "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 12)))
            for _ in range(rng.randint(2, 6))
        ]
        for _ in range(300)
    ]
    text = "".join(format_row(row) for row in rows)
    assert read_back(text, dialect) == rows


@pytest.mark.parametrize("dialect", DIALECTS, ids=_dialect_id)
def test_reader_kwargs(dialect: CsvDialect) -> None:
    kwargs = dialect.reader_kwargs()
    assert kwargs["delimiter"] == dialect.delimiter
    assert kwargs["escapechar"] == dialect.escape
    assert kwargs["doublequote"] is False
    if dialect.quote:
        assert kwargs["quotechar"] == '"'
        assert kwargs["quoting"] == csv.QUOTE_MINIMAL
    else:
        assert kwargs["quoting"] == csv.QUOTE_NONE
    csv.reader(io.StringIO(""), **kwargs)  # accepted by csv


def test_truncated_quoted_field_is_an_error() -> None:
    line = fmt(DEFAULT, ["a\nb"])
    with pytest.raises(csv.Error):
        read_back(line[:3], DEFAULT)


# ---------------------------------------------------------------------------------------------
# Settings


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


# ---------------------------------------------------------------------------------------------
# to_text


class Colour(Enum):
    RED = "red"


class Level(IntEnum):
    HIGH = 3


class Text(str):
    pass


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, None),
        ("", ""),
        ("abc", "abc"),
        ("日本 😀", "日本 😀"),
        (True, "true"),
        (False, "false"),
        (0, "0"),
        (-42, "-42"),
        (12345678901234567890, "12345678901234567890"),
        (1.5, "1.5"),
        (0.1, "0.1"),
        (-2.0, "-2.0"),
        (1e20, "1e+20"),
        (Decimal("1.50"), "1.50"),
        (Decimal("0"), "0"),
        (Decimal("-0.000"), "-0.000"),
        (
            Decimal("123456789012345678901234567890.123456789"),
            "123456789012345678901234567890.123456789",
        ),
        (Decimal("1E+3"), "1E+3"),
        ({}, "{}"),
        ([], "[]"),
        ({"a": 1, "b": [True, None, "x"]}, '{"a":1,"b":[true,null,"x"]}'),
        ({"z": 1, "a": 2}, '{"z":1,"a":2}'),
        (
            {"price": Decimal("1.50"), "name": "Crème brûlée 🍮", "tags": [Decimal("2"), "é"]},
            '{"price":1.50,"name":"Crème brûlée 🍮","tags":[2,"é"]}',
        ),
        ([1, [2, [Decimal("3.0")]], {"k": {"n": None}}], '[1,[2,[3.0]],{"k":{"n":null}}]'),
        (("a", 1), '["a",1]'),
        ({"q": 'say "hi"\n'}, '{"q":"say \\"hi\\"\\n"}'),
        ({"when": date(2024, 5, 1)}, '{"when":"2024-05-01"}'),
        ({"c": Colour.RED}, '{"c":"red"}'),
        (datetime(2024, 5, 1, 12, 30, 0), "2024-05-01T12:30:00"),
        (
            datetime(2024, 5, 1, 12, 30, 0, 123000, tzinfo=timezone.utc),
            "2024-05-01T12:30:00.123000+00:00",
        ),
        (datetime(2024, 5, 1, tzinfo=timezone(timedelta(hours=2))), "2024-05-01T00:00:00+02:00"),
        (date(2024, 5, 1), "2024-05-01"),
        (time(7, 5, 3), "07:05:03"),
        (Level.HIGH, "3"),
        (Text("sub"), "sub"),
        (Colour.RED, "Colour.RED"),
    ],
)
def test_to_text(value: object, text: str | None) -> None:
    result = to_text(value)
    assert result == text
    if result is not None:
        assert type(result) is str


def test_to_text_huge_int() -> None:
    value = 10**5000 + 7
    text = to_text(value)
    assert text is not None
    assert len(text) == 5001
    assert text.startswith("1000")
    assert text.endswith("07")


def test_to_text_object_uses_str() -> None:
    class Thing:
        def __str__(self) -> str:
            return "thing!"

    assert to_text(Thing()) == "thing!"
    assert to_text({"t": Thing()}) == '{"t":"thing!"}'


def test_to_text_then_format() -> None:
    format_row = compile_row_formatter(CsvDialect(delimiter=","))
    record = [Decimal("1.50"), {"a": [1, "x,y"]}, None, True, "", "naïve"]
    line = format_row([to_text(value) for value in record])
    assert line == '1.50,"{\\"a\\":[1,\\"x,y\\"]}",,true,,naïve\n'


def test_json_formatter_keeps_types_and_column_order() -> None:
    line = compile_json_formatter(["b", "a", "n", "x"])(
        [Decimal("10.50"), {"k": [1, None]}, None, "é\n"]
    )
    assert line == b'{"b":10.50,"a":{"k":[1,null]},"n":null,"x":"\xc3\xa9\\n"}\n'
