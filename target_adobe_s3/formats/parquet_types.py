"""Parquet column types from a stream's JSON Schema, and the row encoder that checks values.

Pure, no pyarrow: the rows layer's values are checked against their column's type as each
row is encoded (so a bad value fails at its input line) and carried on as one JSON array
per line, already in the column's storage form (`parquet.py` turns those into row groups).

The mapping, from each column's property schema (never from the data):

=====================================  ==============================  ==================
JSON Schema                            Parquet column                  row encoding
=====================================  ==============================  ==================
string                                 string (UTF-8)                  the text
string, format date-time               timestamp(us, UTC)              microseconds
string, format date                    date32                          days since 1970
integer                                int64                           the integer
number (integer and number)            float64                         the number
number, multipleOf 10^-s (1 ≤ s ≤ 38)  decimal128(38, s)               its text, s places
boolean                                bool                            true/false
object, array (or both)                string: the value as JSON       the value itself
anything else (several types, anyOf,   string: the value as CSV        the text
no type, a path into a free-form        writes it
object)
=====================================  ==============================  ==================

`null` in a type list only makes the column nullable; every column is nullable and a null
stays a null. An object stays nested in the row: its JSON text there (JSON_ENCODER's) is
the column's value.
"""

from __future__ import annotations

import math
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from decimal import Context, Decimal, InvalidOperation
from typing import Any

from target_adobe_s3.errors import InputError
from target_adobe_s3.jsontypes import json_type_name
from target_adobe_s3.rows.values import JSON_ENCODER, to_text

STRING, TIMESTAMP, DATE, INT64, FLOAT64, DECIMAL, BOOL, JSON, TEXT = (
    "string",
    "timestamp",
    "date",
    "int64",
    "float64",
    "decimal",
    "bool",
    "json",
    "text",
)
_COMPOSITE = ("anyOf", "oneOf", "allOf", "not", "if", "$ref")
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
DECIMAL_PRECISION = 38
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_EPOCH_DAY = date(1970, 1, 1).toordinal()


@dataclass(frozen=True)
class ColumnType:
    """A Parquet column's type: `kind` (see the table above) and a decimal's scale."""

    kind: str
    scale: int = 0

    def describe(self) -> str:
        """The type as messages and docs name it (`int64`, `decimal(38, 2)`)."""
        if self.kind == DECIMAL:
            return f"decimal({DECIMAL_PRECISION}, {self.scale})"
        if self.kind == TIMESTAMP:
            return "timestamp (UTC)"
        if self.kind in (JSON, TEXT):
            return "string"
        return self.kind


def _decimal_scale(spec: Mapping[str, Any]) -> int | None:
    """The scale s when `multipleOf` is exactly 10^-s with 1 ≤ s ≤ 38, else None."""
    step = spec.get("multipleOf")
    if isinstance(step, bool) or not isinstance(step, (int, float, Decimal)):
        return None
    try:
        exact = Decimal(str(step)).normalize()
    except InvalidOperation:
        return None
    sign, digits, exponent = exact.as_tuple()
    if sign or digits != (1,) or not isinstance(exponent, int):
        return None
    return -exponent if 1 <= -exponent <= DECIMAL_PRECISION else None


def column_type(spec: Mapping[str, Any]) -> ColumnType:
    """The Parquet type of a column whose property has JSON Schema `spec`."""
    if not isinstance(spec, Mapping) or any(key in spec for key in _COMPOSITE):
        return ColumnType(TEXT)
    declared = spec.get("type")
    if isinstance(declared, str):
        names = {declared}
    elif isinstance(declared, list) and all(isinstance(name, str) for name in declared):
        names = set(declared)
    else:
        return ColumnType(TEXT)
    names.discard("null")
    if names == {"string"}:
        fmt = spec.get("format")
        return ColumnType(TIMESTAMP if fmt == "date-time" else DATE if fmt == "date" else STRING)
    if names == {"integer"}:
        return ColumnType(INT64)
    if names in ({"number"}, {"integer", "number"}):
        scale = _decimal_scale(spec)
        return ColumnType(DECIMAL, scale) if scale is not None else ColumnType(FLOAT64)
    if names == {"boolean"}:
        return ColumnType(BOOL)
    if names and names <= {"object", "array"}:
        return ColumnType(JSON)
    return ColumnType(TEXT)


class Mismatch(ValueError):
    """A value that its column's type cannot hold (the reason, without the value)."""


_DATE_TIME = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?"
    r"(?:([Zz])|([+-])(\d{2}):?(\d{2}))?)?"
)


def timestamp_micros(value: object) -> int:
    """Microseconds since 1970-01-01 UTC of an ISO 8601 date-time (text or `datetime`).

    A time without a zone is UTC (as the Singer spec reads it); digits past the
    microsecond are dropped; a date alone is its midnight UTC.

    Raises:
        Mismatch: not a date-time.
    """
    if isinstance(value, datetime):
        moment = value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)
        return (moment - _EPOCH) // timedelta(microseconds=1)
    if not isinstance(value, str):
        raise Mismatch(f"got {json_type_name(value)}, not an ISO 8601 date-time string")
    match = _DATE_TIME.fullmatch(value.strip())
    if match is None:
        raise Mismatch("got a string that is not an ISO 8601 date-time")
    year, month, day, hour, minute, second, fraction, zulu, sign, off_h, off_m = match.groups()
    micros = int((fraction or "0")[:6].ljust(6, "0"))
    try:
        moment = datetime(
            int(year),
            int(month),
            int(day),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            micros,
            tzinfo=timezone.utc,
        )
        if sign and not zulu:
            offset = timedelta(hours=int(off_h), minutes=int(off_m))
            moment -= offset if sign == "+" else -offset
    except (ValueError, OverflowError):
        raise Mismatch("got a string that is not a valid date-time") from None
    if sign and not zulu and (int(off_h) > 23 or int(off_m) > 59):
        raise Mismatch("got a date-time whose zone offset is out of range")
    return (moment - _EPOCH) // timedelta(microseconds=1)


def date_days(value: object) -> int:
    """Days since 1970-01-01 of an ISO 8601 date (`YYYY-MM-DD`, or a `date`).

    Raises:
        Mismatch: not a date.
    """
    if isinstance(value, date) and not isinstance(value, datetime):
        return value.toordinal() - _EPOCH_DAY
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise Mismatch("got a value that is not an ISO 8601 date (YYYY-MM-DD)")
    try:
        return date.fromisoformat(value).toordinal() - _EPOCH_DAY
    except ValueError:
        raise Mismatch("got a string that is not a valid date") from None


def _string(value: object) -> object:
    if isinstance(value, str):
        return value
    raise Mismatch(f"got {json_type_name(value)}")


def _int64(value: object) -> object:
    if type(value) is not int:
        if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
            raise Mismatch(f"got {json_type_name(value)}")
        if not math.isfinite(value) or value != int(value):
            raise Mismatch("got a number that is not a whole number")
        value = int(value)
    if not INT64_MIN <= value <= INT64_MAX:
        raise Mismatch("got an integer outside the int64 range")
    return value


def _float64(value: object) -> object:
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        raise Mismatch(f"got {json_type_name(value)}")
    try:
        number = float(value)
    except OverflowError:
        raise Mismatch("got a number too large for float64") from None
    if not math.isfinite(number):
        raise Mismatch("got a number too large for float64")
    return number


def _decimal(scale: int) -> Callable[[object], object]:
    step = Decimal(1).scaleb(-scale)
    limit = Decimal(10) ** (DECIMAL_PRECISION - scale)
    # The column's 38 digits, not the default context's 28 (which rounded abs() and made
    # quantize fail on a value that fits, such as 123456789.5 in decimal(38, 20)).
    digits = Context(prec=DECIMAL_PRECISION)

    def convert(value: object) -> object:
        if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
            raise Mismatch(f"got {json_type_name(value)}")
        exact = Decimal(str(value)) if isinstance(value, float) else Decimal(value)
        if not exact.is_finite() or exact.copy_abs() >= limit:
            raise Mismatch(f"got a number outside decimal({DECIMAL_PRECISION}, {scale})")
        fixed = exact.quantize(step, context=digits)
        if exact != fixed:
            raise Mismatch(f"got a number with more than {scale} decimal places")
        return format(fixed, "f")  # exactly `scale` decimal places: 38 digits at most

    return convert


def _bool(value: object) -> object:
    if isinstance(value, bool):
        return value
    raise Mismatch(f"got {json_type_name(value)}")


def _json(value: object) -> object:
    if isinstance(value, (dict, list)):
        return value  # nested in the row: its JSON text there is the column's string
    raise Mismatch(f"got {json_type_name(value)}")


def converter(column: ColumnType) -> Callable[[object], object]:
    """The function that checks a non-null value and returns it in its storage form."""
    simple: dict[str, Callable[[object], object]] = {
        STRING: _string,
        TIMESTAMP: timestamp_micros,
        DATE: date_days,
        INT64: _int64,
        FLOAT64: _float64,
        BOOL: _bool,
        JSON: _json,
        TEXT: to_text,
    }
    return _decimal(column.scale) if column.kind == DECIMAL else simple[column.kind]


_NAIVE_EPOCH = datetime(1970, 1, 1)
_MICROSECOND = timedelta(microseconds=1)
_ISO_DATE_TIME = datetime.fromisoformat
_ISO_DATE = date.fromisoformat
_FLOAT_MAX = sys.float_info.max


def _timestamp_fast(value: object) -> object:
    """`timestamp_micros`, faster for the usual `YYYY-MM-DDTHH:MM:SSZ` (the same result)."""
    # The separators at 4, 7, 10, 13, 16 and 19; fromisoformat checks the digits between
    # them and the calendar (an hour of 24 is left to the general parse: newer Pythons read
    # it as the next day's midnight, which timestamp_micros refuses).
    if type(value) is str and len(value) == 20 and value[4::3] == "--T::Z" and value[11:13] < "24":
        try:
            return (_ISO_DATE_TIME(value[:19]) - _NAIVE_EPOCH) // _MICROSECOND
        except ValueError:
            pass
    return timestamp_micros(value)


def _date_fast(value: object) -> object:
    """`date_days`, faster for text of the form YYYY-MM-DD (the same result)."""
    if type(value) is str and len(value) == 10 and value[4::3] == "--":
        try:
            return _ISO_DATE(value).toordinal() - _EPOCH_DAY
        except ValueError:
            pass
    return date_days(value)


def _float64_fast(value: object) -> object:
    """`_float64`, faster for the `Decimal` and `float` the decoders give (the same result)."""
    if type(value) is Decimal or type(value) is float:
        number = float(value)
        if -_FLOAT_MAX <= number <= _FLOAT_MAX:  # not inf, not NaN
            return number
    return _float64(value)


_KEPT: dict[str, type] = {STRING: str, TEXT: str, BOOL: bool, INT64: int}
"""The kinds whose values of this exact type are stored as they are (an int in range)."""
_FAST: dict[str, Callable[[object], object]] = {
    TIMESTAMP: _timestamp_fast,
    DATE: _date_fast,
    FLOAT64: _float64_fast,
}


def general_row_encoder(
    stream: str, sources: Sequence[str], headers: Sequence[str], types: Sequence[ColumnType]
) -> Callable[[list[Any]], bytes]:
    """The per-row function on its general path: each value through its column's converter.

    The error names the stream, the field (its source path) and the column, never the value.
    """
    steps = [(i, converter(t), t.kind in (STRING, TEXT)) for i, t in enumerate(types)]
    encode = JSON_ENCODER.encode

    def general(values: list[Any]) -> bytes:
        row = list(values)
        for i, convert, textual in steps:
            value = row[i]
            if value is None or (textual and type(value) is str):
                continue
            try:
                row[i] = convert(value)
            except Mismatch as exc:
                raise InputError(
                    f"stream '{stream}': field '{sources[i]}' does not fit Parquet column "
                    f"'{headers[i]}' of type {types[i].describe()}: {exc}"
                ) from None
        return encode(row) + b"\n"

    return general


def compile_row_encoder(
    stream: str, sources: Sequence[str], headers: Sequence[str], types: Sequence[ColumnType]
) -> Callable[[list[Any]], bytes]:
    """The per-row function: check each value against its column, then one JSON array line.

    A row whose values have the usual types (text in text columns, a bool, an int in range,
    a `Decimal` for a float, the usual date-time form) takes the fast path; any other row,
    and any row that does not fit, takes the general path (`general_row_encoder`), which
    raises the error for the first value that does not fit. Both write rows that read back
    the same.

    The fast path is one function compiled for the columns, without a loop: for a text,
    an integer and a date-time column it reads

        def encode_row(values):
            v0, v1, v2, = values
            if (v0 is not None and type(v0) is not str) or (v1 is not None and (type(v1)
                    is not int or not -9223372036854775808 <= v1 <= 9223372036854775807)):
                return general(values)
            try:
                return encode([v0, v1, None if v2 is None else convert2(v2)]) + NEWLINE
            except Mismatch:
                return general(values)

    (a loop over the columns cost 1.5 us more a row of 19 columns). Only column indexes
    and the module's constants go into its source, never a name or a value.
    """
    general = general_row_encoder(stream, sources, headers, types)
    if not types:
        return general
    scope: dict[str, Any] = {
        "general": general,
        "encode": JSON_ENCODER.encode,
        "Mismatch": Mismatch,
        "NEWLINE": b"\n",
        "str": str,
        "bool": bool,
        "int": int,
    }
    tests, items = [], []
    for i, column in enumerate(types):
        kept = _KEPT.get(column.kind)
        if kept is None:
            scope[f"convert{i}"] = _FAST.get(column.kind) or converter(column)
            items.append(f"None if v{i} is None else convert{i}(v{i})")
            continue
        items.append(f"v{i}")
        unfit = f"type(v{i}) is not {kept.__name__}"
        if column.kind == INT64:
            unfit = f"({unfit} or not {INT64_MIN} <= v{i} <= {INT64_MAX})"
        tests.append(f"(v{i} is not None and {unfit})")
    source = "\n".join(
        [
            "def encode_row(values):",
            f"    {', '.join(f'v{i}' for i in range(len(types)))}, = values",
            *([f"    if {' or '.join(tests)}:", "        return general(values)"] if tests else []),
            "    try:",
            f"        return encode([{', '.join(items)}]) + NEWLINE",
            "    except Mismatch:",
            "        return general(values)  # names the first value that does not fit",
        ]
    )
    exec(source, scope)  # noqa: S102 (indexes and constants only, see above)
    encode_row: Callable[[list[Any]], bytes] = scope["encode_row"]
    return encode_row
