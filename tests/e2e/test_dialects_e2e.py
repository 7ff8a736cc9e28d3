"""Every CSV dialect through the whole target and S3, read back with the same dialect.

The formatter's own matrix is in test_formats.py; this one proves the settings reach the
files: 30 dialects (5 delimiters x quote/escape/quote-all), each with a null and an empty
value choice, values holding tabs, commas, quotes, backslashes, line breaks and unicode.
"""

from __future__ import annotations

import csv
import io
import itertools
from typing import Any

import pytest

from target_adobe_s3.formats.dialect import DELIMITERS, NULL_CHOICES, CsvDialect
from target_adobe_s3.target import TargetAdobeS3
from tests.support.helpers import objects, record_message, schema_message, singer_text

VALUES = [
    "plain",
    "tab\there",
    "comma,here",
    'double "quotes"',
    "it's",
    "back\\slash",
    "line\nbreak",
    "crlf\r\nbreak",
    "pipe|semi;co:lon",
    "héllo 日本語 😀",
    "\t,|;:'\"\\\r\n",
]
SCHEMA = {
    "type": "object",
    "properties": {"value": {"type": ["string", "null"]}, "other": {"type": ["string", "null"]}},
}


def dialect_cases() -> list[Any]:
    cases = []
    choices = itertools.cycle(itertools.product(NULL_CHOICES, NULL_CHOICES))
    for delimiter, quote, escape, quote_all in itertools.product(
        sorted(set(DELIMITERS.values())), ['"', ""], ["\\", "'"], [False, True]
    ):
        if quote_all and not quote:
            continue
        null_value, empty_value = next(choices)
        dialect = CsvDialect(delimiter, quote, escape, null_value, empty_value, True, quote_all)
        cases.append(pytest.param(dialect, id=repr(dialect)[10:-1]))
    return cases


def run_in_process(config: dict[str, Any], text: str) -> None:
    """Run the target in this process (the matrix would spend most of its time starting
    CLIs); the CLI path itself is covered by the other end-to-end tests."""
    target = TargetAdobeS3(config=config, validate_config=True)
    try:
        target.listen(io.TextIOWrapper(io.BytesIO(text.encode()), encoding="utf-8"))
    finally:
        target.export.close()


@pytest.mark.parametrize("dialect", dialect_cases())
def test_dialect_round_trip_through_s3(
    dialect: CsvDialect, config: dict, s3: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    config.update(
        csv_delimiter=dialect.delimiter,
        csv_quote=dialect.quote,
        csv_escape=dialect.escape,
        csv_null_value=dialect.null_value,
        csv_empty_value=dialect.empty_value,
        csv_quote_all=dialect.quote_all,
        file_name_template="out_%SEGMENT_ID%",
    )
    rows: list[tuple[str | None, str | None]] = [(v, w) for v in VALUES for w in (None, "", v)]
    messages = [schema_message("m", SCHEMA)]
    messages += [record_message("m", {"value": v, "other": w}) for v, w in rows]
    run_in_process(config, singer_text(messages))
    data = objects(s3, config["bucket"])["out_m.csv"].decode()
    read = list(csv.reader(io.StringIO(data), **dialect.reader_kwargs()))

    def reads_as(value: str | None) -> str:
        if value is None or value == "":
            text = dialect.null_value if value is None else dialect.empty_value
            return "" if text == '""' and dialect.quote else text
        return value

    assert read[0] == ["value", "other"]
    assert read[1:] == [[reads_as(v), reads_as(w)] for v, w in rows]
    capsys.readouterr()
