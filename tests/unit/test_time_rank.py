"""time_rank: every accepted form of a qualification time, normalized to UTC nanoseconds."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from target_adobe_s3.files.time_rank import MISSING, PARSED, UNPARSABLE, time_rank

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
