"""Record values as field text, and the spreadsheet formula escape (pure functions).

On the per-row hot path: `fill_texts` converts a row's values in one call, each through the
converter of its exact type; `to_text` (one value) tests the common exact types first.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

import msgspec


def _json_fallback(value: Any) -> Any:
    """Encode what msgspec cannot (inside dicts and lists) as its text."""
    return str(value)


JSON_ENCODER = msgspec.json.Encoder(decimal_format="number", enc_hook=_json_fallback)
"""Values as JSON: decimals as numbers, what msgspec cannot encode as its text (NDJSON too)."""


def to_text(value: object) -> str | None:
    """Convert one record value to its field text.

    Args:
        value: A value from a record: JSON types (numbers possibly as `Decimal`), dates, or
            anything else.

    Returns:
        ``None`` for ``None``; text unchanged; ``true``/``false`` for booleans; integers in
        decimal; floats as ``repr``; a `Decimal` as ``str`` (digits as received: ``1.50`` stays
        ``1.50``); dicts, lists and tuples as compact JSON (non-ASCII kept, keys in their
        order, decimals as JSON numbers); dates and times in ISO 8601; anything else as ``str``.
    """
    if type(value) is str:
        return value
    if value is None:
        return None
    cls = type(value)
    if cls is bool:
        return "true" if value else "false"
    if type(value) is int:
        return _int_text(value)
    if cls is Decimal:
        return str(value)
    if cls is float:
        return repr(value)
    return _other_text(value)


def _int_text(value: int) -> str:
    try:
        return int.__repr__(value)
    except ValueError:  # beyond sys.get_int_max_str_digits(); Decimal has no such limit
        return str(Decimal(value))


def _other_text(value: object) -> str:
    """The less common types of `to_text`, subclasses included."""
    if isinstance(value, (dict, list, tuple)):
        return JSON_ENCODER.encode(value).decode("utf-8")
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return _int_text(value)
    if isinstance(value, float):
        return float.__repr__(value)
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    return str(value)


def _json_text(value: Any) -> str:
    return JSON_ENCODER.encode(value).decode("utf-8")


def _absent(value: Any) -> None:
    """An absent value (msgspec's UNSET, see `RecordDecoder.compile_values_line`): null."""


_TEXT_OF: dict[type, Callable[[Any], str | None]] = {
    str: str.__str__,
    bool: {True: "true", False: "false"}.__getitem__,
    int: int.__repr__,  # ValueError past sys.get_int_max_str_digits(): see fill_texts
    Decimal: Decimal.__str__,
    float: float.__repr__,
    dict: _json_text,
    list: _json_text,
    type(msgspec.UNSET): _absent,
}
"""`to_text` of a non-null value of each exact type, as a C call where there is one."""


def fill_texts(values: list[Any], indexes: Sequence[int]) -> None:
    """Replace `values[i]` with `to_text(values[i])` for each i of `indexes`, in place.

    The row's hot path: one call per row, and per value a type lookup and, for the common
    types, a call into C (no Python frame). Nulls stay ``None``.
    """
    text_of = _TEXT_OF.get
    try:
        for i in indexes:
            value = values[i]
            if value is not None:
                values[i] = text_of(type(value), to_text)(value)
    except ValueError:  # an int too long for int.__repr__: to_text writes it (texts stay)
        for i in indexes:
            values[i] = to_text(values[i])


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""What a spreadsheet may run as a formula when a cell starts with it (OWASP's list)."""


def escape_formulas(values: list[Any]) -> list[Any]:
    """Prefix each string a spreadsheet would run as a formula with `'` (csv_formula_escape).

    Only strings: a JSON number such as -5 is not a formula and is left alone.
    """
    return [
        "'" + value if isinstance(value, str) and value.startswith(FORMULA_STARTS) else value
        for value in values
    ]
