"""csv_formula_escape's rule: formula-like string values get a leading `'`, nothing else."""

from __future__ import annotations

import pytest

from target_adobe_s3.rows.values import escape_formulas


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+49 30", "'+49 30"),
        ("-2", "'-2"),
        ("@SUM(1)", "'@SUM(1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("x=1", "x=1"),
        ("'=1", "'=1"),
        ("", ""),
        (None, None),
    ],
)
def test_escape_formulas(text: str | None, expected: str | None) -> None:
    assert escape_formulas([text]) == [expected]
