"""time_rank: every accepted form of a qualification time, normalized to UTC nanoseconds."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from target_adobe_s3.files.time_rank import MISSING, PARSED, UNPARSABLE, _parse_iso, time_rank

NS = 1_000_000_000
T0 = 1_714_544_284  # 2024-05-01T06:18:04Z


def test_time_rank_normalizes_instants_to_utc() -> None:
    base = T0 * NS
    same = [
        "2024-05-01T06:18:04Z",
        "2024-05-01T08:18:04+02:00",
        "2024-05-01T08:18:04+0200",
        "2024-05-01T03:48:04-02:30",
        "2024-05-01 06:18:04",  # no offset: UTC
        " 2024-05-01t06:18:04z ",
        "2024-05-01T06:18:04.000Z",
        datetime(2024, 5, 1, 6, 18, 4),  # naive: UTC
        datetime(2024, 5, 1, 8, 18, 4, tzinfo=timezone(timedelta(hours=2))),
        T0,
        float(T0),
        Decimal(T0),
    ]
    assert {time_rank(value) for value in same} == {(PARSED, base)}
    assert time_rank("2024-05-01T06:18:04.5Z") == (PARSED, base + NS // 2)
    assert time_rank("2024-05-01T06:18:04,123456789123Z") == (PARSED, base + 123_456_789)
    assert time_rank(T0 + 0.25) == (PARSED, base + NS // 4)
    assert time_rank(Decimal("1714544284.000000001")) == (PARSED, base + 1)
    assert time_rank(datetime(2024, 5, 1, 6, 18, 4, 7, tzinfo=timezone.utc)) == (
        PARSED,
        base + 7000,
    )
    assert time_rank("2024-05-01") == time_rank(date(2024, 5, 1)) == (PARSED, (T0 - 22684) * NS)
    assert time_rank("2024-05-01T06:18") == (PARSED, (T0 - 4) * NS)
    assert time_rank(-1) == (PARSED, -NS)
    assert time_rank("0001-01-01T00:00:00+01:00")[0] == PARSED  # before year 1 in UTC: fine
    east, west = timezone(timedelta(hours=5)), timezone(timedelta(hours=-5))
    assert time_rank(datetime.min.replace(tzinfo=east)) < time_rank(datetime.min)
    assert time_rank(datetime.max.replace(tzinfo=west)) > time_rank(datetime.max)


@pytest.mark.parametrize(
    "value",
    [
        "yesterday",
        "2024-02-30T00:00:00Z",
        "2024-05-01T24:00:00Z",
        "2024-05-01T06:60:00Z",
        "2024-05-01T06:18:04+24:00",
        "2024-05-01T06:18:04Zjunk",
        "1714544284",  # epoch seconds must be numbers, not text
        True,
        float("nan"),
        float("inf"),
        Decimal("NaN"),
        10**30,
        [T0],
        1e300,
        Decimal("1e999999999"),
    ],
)
def test_time_rank_unparsable(value: object) -> None:
    assert time_rank(value) == (UNPARSABLE, 0)


def test_time_rank_missing() -> None:
    assert time_rank(None) == time_rank("") == time_rank(" \t") == (MISSING, 0)


PLAIN_FORM = [
    "2024-05-01T06:18:04Z",
    "2024-05-01t06:18:04z",
    "2024-05-01 06:18:04",
    "1970-01-01T00:00:00Z",
    "1969-12-31T23:59:59Z",
    "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59Z",
    "2024-02-29T12:00:00Z",
    "2023-02-29T12:00:00Z",  # no such day
    "0000-01-01T00:00:00Z",  # no year 0
    "2024-13-01T00:00:00Z",
    "2024-05-01T24:00:00Z",
    "2024-05-01T23:60:00Z",
    "2024-05-01T23:59:60Z",
    "2024-05-01T06:18:04",
]


@pytest.mark.parametrize("text", PLAIN_FORM)
def test_the_common_form_ranks_as_the_general_parser_does(text: str) -> None:
    """Whole-second UTC texts take a shortcut; its rank is the full ISO parser's."""
    ns = _parse_iso(text)
    assert time_rank(text) == ((UNPARSABLE, 0) if ns is None else (PARSED, ns))
    assert time_rank(text) == time_rank(f" {text} ")  # padded: the general path


def test_the_common_form_keeps_exact_instants() -> None:
    assert time_rank("2024-05-01T06:18:04Z") == (PARSED, T0 * NS)
    assert time_rank("1969-12-31T23:59:59Z") == (PARSED, -NS)
    assert time_rank("2024-05-0１T06:18:04Z") == time_rank(" 2024-05-0１T06:18:04Z")  # noqa: RUF001
    for day in range(1, 29):
        text = f"2024-02-{day:02d}T01:02:03Z"
        expected = (PARSED, _parse_iso(text))
        assert time_rank(text) == expected
        assert time_rank(text) == expected


def test_the_remembered_slices_rank_as_the_general_parser_does() -> None:
    """Slices enter the tables only from valid texts: a known hour with an invalid clock,
    or a valid clock after an unknown hour, still takes the general parser."""
    assert time_rank("2031-07-04T05:06:07Z") == (PARSED, _parse_iso("2031-07-04T05:06:07Z"))
    for text in [
        "2031-07-04T05:06:07Z",  # both slices known
        "2031-07-04T05:06:07",  # the same hour, a clock without Z
        "2031-07-04T05:60:07Z",  # a known hour, an invalid clock
        "2031-07-04T05:06:07Zjunk",
        "2031-07-04T05:06:0７Z",  # noqa: RUF001 (a fullwidth digit)
        "2031-07-05T05:06:07Z",  # another day, a known clock
        "2031-02-29T05:06:07Z",  # no such day
        "2031-07-04T05",
    ]:
        ns = _parse_iso(text)
        expected = (UNPARSABLE, 0) if ns is None else (PARSED, ns)
        assert time_rank(text) == expected
        assert time_rank(text) == expected
