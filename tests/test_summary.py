"""The run summary table and the progress lines."""

from __future__ import annotations

import logging

import pytest

from target_adobe_s3.summary import Progress, Tally, skip_missing, summary_table


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


def test_progress_logs_records_and_rate(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("test-progress")
    progress = Progress(logger, interval=0.0)
    with caplog.at_level(logging.INFO, logger="test-progress"):
        for _ in range(4096 * 2 + 5):
            progress.add()
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2
    assert lines[0].startswith("Progress: 4096 records read (")
    assert lines[1].startswith("Progress: 8192 records read (")
    assert lines[1].endswith(" records/s)")


def test_progress_is_quiet_within_the_interval(caplog: pytest.LogCaptureFixture) -> None:
    progress = Progress(logging.getLogger("test-progress"), interval=3600.0)
    with caplog.at_level(logging.INFO, logger="test-progress"):
        for _ in range(20_000):
            progress.add()
    assert progress.records == 20_000
    assert caplog.records == []


def test_progress_counts_batches_as_the_fast_path_adds_them(
    caplog: pytest.LogCaptureFixture,
) -> None:
    progress = Progress(logging.getLogger("test-progress"), interval=0.0)
    with caplog.at_level(logging.INFO, logger="test-progress"):
        for _ in range(3):
            progress.add(4096)
        progress.add(7)
    assert progress.records == 3 * 4096 + 7
    assert [r.getMessage().split(" (")[0] for r in caplog.records] == [
        "Progress: 4096 records read",
        "Progress: 8192 records read",
        "Progress: 12288 records read",
    ]
