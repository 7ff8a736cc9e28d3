"""Record values as field text (to_text), alone and through the CSV formatter."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from enum import Enum, IntEnum

import pytest

from target_adobe_s3.formats.csv import compile_row_encoder
from target_adobe_s3.formats.dialect import CsvDialect
from target_adobe_s3.rows.values import fill_texts, to_text


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
    encode = compile_row_encoder(CsvDialect(delimiter=","))
    record = [Decimal("1.50"), {"a": [1, "x,y"]}, None, True, "", "naïve"]
    line = encode([to_text(value) for value in record]).decode()
    assert line == '1.50,"{\\"a\\":[1,\\"x,y\\"]}",,true,,naïve\n'


def test_fill_texts_is_to_text_of_each_value_it_is_told() -> None:
    """The row's one-call conversion: each listed value as to_text writes it, others kept."""
    huge = 10**5000  # past int.__repr__'s digit limit: written through Decimal
    values = [True, False, 0, -42, huge, 1.5, 1e20, Decimal("10.50"), Decimal("1E+3"), None,
              "text", Text("sub"), Level.HIGH, {"a": [1, None]}, ["x"], ("a", 1),
              date(2024, 5, 1), Colour.RED, 7]  # fmt: skip
    row = list(values)
    fill_texts(row, range(len(values) - 1))
    assert row[:-1] == [to_text(v) for v in values[:-1]]
    assert row[4] == "1" + "0" * 5000
    assert row[7] == "10.50"
    assert row[-1] == 7  # not listed: left as it is
