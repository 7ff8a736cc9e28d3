"""CSV row formatting (exact output, every dialect read back) and NDJSON rows."""

from __future__ import annotations

import csv
import io
import itertools
import random
from collections.abc import Callable, Sequence
from dataclasses import replace
from decimal import Decimal

import pytest

from target_adobe_s3.formats.csv import CsvFormat, compile_row_encoder
from target_adobe_s3.formats.dialect import DELIMITERS, NULL_CHOICES, CsvDialect
from target_adobe_s3.formats.ndjson import compile_json_formatter
from target_adobe_s3.rows.columns import Column


def read_back(text: str, dialect: CsvDialect) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text), **dialect.reader_kwargs()))


def compile_row_formatter(dialect: CsvDialect) -> Callable[[Sequence[str | None]], str]:
    """The dialect's row encoder, its line read back as text."""
    encode = compile_row_encoder(dialect)
    return lambda row: encode(row).decode()


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
    dialect = replace(dialect, null_value=null_value, empty_value=empty_value)

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


def rule_of_each_field(dialect: CsvDialect, row: Sequence[str | None]) -> bytes:
    """The module docstring's rules, applied field by field: the oracle of the fast paths."""
    d, q, e = dialect.delimiter, dialect.quote, dialect.escape
    fields = []
    for v in row:
        if v is None or v == "":
            fields.append(dialect.null_value if v is None else dialect.empty_value)
        elif q and (dialect.quote_all or any(c in v for c in (d, q, e, "\r", "\n"))):
            fields.append(q + v.replace(e, e + e).replace(q, e + q) + q)
        elif q:
            fields.append(v)
        else:
            text = v
            for c in (e, d, "\r", "\n"):
                text = text.replace(c, e + c)
            fields.append(text)
    return (d.join(fields) + "\n").encode()


@pytest.mark.parametrize("dialect", DIALECTS, ids=_dialect_id)
@pytest.mark.parametrize("null_value", NULL_CHOICES)
def test_exact_bytes_random_rows(dialect: CsvDialect, null_value: str) -> None:
    """Rows with special characters in any fields, nulls and empties: the joined-line path
    (several fields to quote, the first, the last, a null among them) writes each field as
    the per-field rules do."""
    dialect = replace(dialect, null_value=null_value)
    pieces = ["ab", "é😀", " ", "x" * 40, '"', "\\", "\n", "\r", "'", dialect.delimiter, "10.50"]
    rng = random.Random(16)
    encode = compile_row_encoder(dialect)
    for _ in range(400):
        row: list[str | None] = []
        for _ in range(rng.randint(1, 19)):
            kind = rng.random()
            if kind < 0.2:
                row.append(None)
            elif kind < 0.25:
                row.append("")
            elif kind < 0.75:
                row.append(rng.choice(["plain", "true", "2024-05-01T06:18:04Z", "10.50"]))
            else:
                row.append("".join(rng.choice(pieces) for _ in range(rng.randint(1, 5))))
        assert encode(row) == rule_of_each_field(dialect, row), row


@pytest.mark.parametrize("dialect", DIALECTS, ids=_dialect_id)
@pytest.mark.parametrize("null_value", NULL_CHOICES)
def test_json_columns_quoted_apart_write_what_the_per_field_rules_write(
    dialect: CsvDialect, null_value: str
) -> None:
    """A stream's encoder with object and array columns (quoted apart from the joined line
    of the others) writes each field as the per-field rules do, whatever any field holds."""
    dialect = replace(dialect, null_value=null_value, empty_value=null_value)
    schema = {
        "properties": {
            "a": {"type": ["object", "null"]},
            "b": {"type": "string"},
            "c": {"type": ["array", "null"]},
            "d": {"type": ["string", "null"]},
            "e": {"type": "object"},
        }
    }
    columns = [Column((name,), name) for name in ("b", "a", "d", "c", "e", "b")]
    encode = CsvFormat(dialect).stream_encoder("s", columns, schema)
    pieces = ["ab", "é😀", " ", '"', "\\", "\n", "\r", "'", dialect.delimiter, "10.50"]
    json_texts = ['{"k":"v"}', "{}", "[1,2]", '{"k":"a\\"b"}', '{"t":"x\\ty"}', "[]"]
    rng = random.Random(29)
    for _ in range(600):
        row: list[str | None] = []
        for index in range(len(columns)):
            kind = rng.random()
            if kind < 0.2:
                row.append(None)
            elif kind < 0.25:
                row.append("")
            elif index in (1, 3, 4) and kind < 0.8:
                row.append(rng.choice(json_texts))
            else:
                row.append("".join(rng.choice(pieces) for _ in range(rng.randint(1, 4))))
        assert encode(row) == rule_of_each_field(dialect, row), row


def test_joined_line_quotes_only_the_fields_that_need_it() -> None:
    row = ['{"a":1}', "plain", None, 'two\nlines "x"', "10.50", "end\\"]
    assert fmt(DEFAULT, row) == ('"{\\"a\\":1}"\tplain\t\t"two\nlines \\"x\\""\t10.50\t"end\\\\"\n')


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


def test_json_formatter_keeps_types_and_column_order() -> None:
    line = compile_json_formatter(["b", "a", "n", "x"])(
        [Decimal("10.50"), {"k": [1, None]}, None, "é\n"]
    )
    assert line == b'{"b":10.50,"a":{"k":[1,null]},"n":null,"x":"\xc3\xa9\\n"}\n'
