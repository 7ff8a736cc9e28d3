"""The run summary table (the progress lines: test_progress.py)."""

from __future__ import annotations

from target_adobe_s3.rows.tally import Tally, skip_missing
from target_adobe_s3.summary import summary_table


def test_summary_table_one_line_per_segment_sorted_by_id() -> None:
    tally = Tally()
    b = tally.segment("b", "Lapsed Buyers")
    b.rows, b.files, b.size = 8, 1, 442
    tally.skip("b", "Lapsed Buyers", skip_missing("email"), 2)
    tally.skip("b", "Lapsed Buyers", "exited (full mode)")
    a = tally.segment("a", "Luxury Audience")
    a.rows, a.files, a.size = 12000, 3, 1_048_576
    assert tally.skipped_total() == 3
    assert summary_table(tally).splitlines() == [
        "segment id  name              rows  skipped                                files    bytes",
        "a           Luxury Audience  12000  0                                          3  1048576",
        "b           Lapsed Buyers        8  1 exited (full mode), 2 missing email      1      442",
    ]


def test_summary_table_cuts_long_ids_and_names() -> None:
    tally = Tally()
    tally.segment("x" * 100, "n" * 100)
    line = summary_table(tally).splitlines()[1]
    assert "x" * 39 + "…" in line
    assert "n" * 31 + "…" in line
    assert "x" * 41 not in line
