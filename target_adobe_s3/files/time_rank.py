"""Qualification times ranked for deduplication: any accepted form to one comparable pair.

A time from a record (ISO-8601 text, a datetime or date, epoch seconds) becomes
(class, nanoseconds since the epoch, UTC), so that ordering pairs is the dedup's time rule:
the latest time wins, a missing time loses to any other, and an unparsable one loses to
every parsable time. Pure functions.
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime, timedelta
from decimal import Decimal

MISSING, UNPARSABLE, PARSED = 0, 1, 2
_NS = 1_000_000_000
_EPOCH_DAY = date(1970, 1, 1).toordinal()
_INT64 = 1 << 63
_ISO = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})"
    r"(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?"
    r"\s*(?:([Zz])|([+-])(\d{2})(?::?(\d{2}))?)?)?"
)

# The common form, "YYYY-MM-DDThh:mm:ss" with an optional Z, ASCII digits, a valid clock:
# every text it matches, _ISO matches with the same fields (no blanks to strip, no fraction,
# UTC), and datetime.fromisoformat reads it as _parse_iso does.
_PLAIN = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ](?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9][Zz]?"
)
_EPOCH = datetime(1970, 1, 1)
_SECOND = timedelta(seconds=1)
# The common form read in two slices, each looked up in a table of the slices already seen
# in valid texts: "YYYY-MM-DDThh" -> seconds of that hour since the epoch, ":mm:ss[Z]" ->
# seconds past the hour. A slice enters its table only from a text that _PLAIN matched and
# that names a real day, so a text whose two slices are both known is one _PLAIN would
# match, and its instant is their sum. The clock table is bounded by nature (10,800 slices
# at most, 3,600 in one form: ~0.4 MiB); the hour table is emptied when it fills.
_HOURS: dict[str, int] = {}
_CLOCKS: dict[str, int] = {}
_MAX_HOURS = 2048


def _remember(text: str, seconds: int) -> None:
    """Enter the slices of a valid common-form text (at `seconds` past the epoch)."""
    clock = int(text[14:16]) * 60 + int(text[17:19])
    if len(_HOURS) >= _MAX_HOURS:
        _HOURS.clear()
    _HOURS[text[:13]] = seconds - clock
    _CLOCKS[text[13:]] = clock


def time_rank(value: object) -> tuple[int, int]:
    """Rank a raw qualification time as (class, nanoseconds since the epoch, UTC).

    Class is `PARSED`, `UNPARSABLE` or `MISSING` (ns is 0 for the last two); higher wins.

    - None, "" or blank: missing.
    - str: ISO-8601 extended, "YYYY-MM-DD[(T| )hh:mm[:ss[.fraction]][Z|±hh[:mm]]]";
      no offset means UTC; fraction digits past nanoseconds are cut off.
    - datetime (naive = UTC), date (midnight UTC), int, float or Decimal epoch seconds.
    - anything else (bool, NaN, other text, out of range): unparsable; all unparsable
      times tie with each other, so the compare texts decide between them.
    """
    ns: int | None
    if type(value) is str:
        hour = _HOURS.get(value[:13])
        if hour is not None:
            clock = _CLOCKS.get(value[13:])
            if clock is not None:  # both slices seen in valid texts
                return PARSED, (hour + clock) * _NS
        if _PLAIN.fullmatch(value):  # what _parse_iso would say, faster
            try:
                seconds = (datetime.fromisoformat(value[:19]) - _EPOCH) // _SECOND
            except ValueError:  # no such day
                return UNPARSABLE, 0
            _remember(value, seconds)
            return PARSED, seconds * _NS
    if value is None or (isinstance(value, str) and not value.strip()):
        return MISSING, 0
    if isinstance(value, str):
        ns = _parse_iso(value.strip())
    elif isinstance(value, datetime):
        ns = _datetime_ns(value)
    elif isinstance(value, date):
        ns = (value.toordinal() - _EPOCH_DAY) * 86_400 * _NS
    elif isinstance(value, bool):
        ns = None
    elif isinstance(value, int):
        ns = value * _NS
    elif isinstance(value, (float, Decimal)):
        ns = _epoch_ns(value)
    else:
        ns = None
    if ns is None or not -_INT64 <= ns // _NS < _INT64:
        return UNPARSABLE, 0
    return PARSED, ns


def _parse_iso(text: str) -> int | None:
    match = _ISO.fullmatch(text)
    if match is None:
        return None
    y, mo, d, h, mi, s, frac, _z, sign, oh, om = match.groups()
    offset = 0
    if sign is not None:
        if int(oh) > 23 or int(om or 0) > 59:
            return None
        offset = (int(oh) * 60 + int(om or 0)) * 60 * (-1 if sign == "-" else 1)
    try:
        day = date(int(y), int(mo), int(d)).toordinal() - _EPOCH_DAY
        if h is not None and (int(h) > 23 or int(mi) > 59 or int(s or 0) > 59):
            return None
    except ValueError:
        return None
    seconds = day * 86_400 + int(h or 0) * 3600 + int(mi or 0) * 60 + int(s or 0) - offset
    return seconds * _NS + int((frac or "")[:9].ljust(9, "0"))


def _datetime_ns(value: datetime) -> int:
    offset = (value.utcoffset() or timedelta(0)) // timedelta(microseconds=1)
    day = value.toordinal() - _EPOCH_DAY
    seconds = day * 86_400 + value.hour * 3600 + value.minute * 60 + value.second
    return (seconds * 1_000_000 + value.microsecond - offset) * 1000


def _epoch_ns(value: float | Decimal) -> int | None:
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        value = Decimal(repr(value))  # the shortest text of the float, as written in JSON
    if not value.is_finite() or not -_INT64 < value < _INT64:
        return None
    return math.floor(value * _NS)
