"""summary.Progress: a line per interval; records counted one by one until they come quickly."""

from __future__ import annotations

import logging
import re
import time

import pytest

from target_adobe_s3.summary import BATCH, Progress

PROGRESS_RE = re.compile(r"^Progress: (\d+) records read \(\d+ records/s\)$")
WAIT = 20.0  # seconds a line may take to appear on a busy machine (never asserted as a time)


def progress_counts(caplog: pytest.LogCaptureFixture) -> list[int]:
    """The record counts of the progress lines logged so far, in order."""
    found = (PROGRESS_RE.match(r.getMessage()) for r in list(caplog.records))
    return [int(match.group(1)) for match in found if match]


def test_no_progress_line_before_the_interval(caplog: pytest.LogCaptureFixture) -> None:
    progress = Progress(logging.getLogger("test-progress"), interval=3600.0)
    with caplog.at_level(logging.INFO, logger="test-progress"):
        progress.start()
        progress.add(20_000)
        progress.stop()
    assert progress.records == 20_000
    assert progress_counts(caplog) == []


def test_records_are_counted_one_by_one_until_they_come_quickly() -> None:
    progress = Progress(logging.getLogger("test-progress"), interval=3600.0)
    assert progress.batch == 1  # a feed of unknown pace: every record counted as read
    for _ in range(BATCH):
        progress.add(1)
    assert progress.batch == BATCH  # BATCH records well within a second: batches
    progress.add(5 * BATCH)
    assert (progress.records, progress.batch) == (6 * BATCH, BATCH)


def test_after_each_line_records_are_counted_one_by_one_again(
    caplog: pytest.LogCaptureFixture,
) -> None:
    progress = Progress(logging.getLogger("test-progress"), interval=0.05)
    for _ in range(BATCH):
        progress.add(1)
    assert progress.batch == BATCH
    with caplog.at_level(logging.INFO, logger="test-progress"):
        progress.start()
        deadline = time.monotonic() + WAIT
        while not progress_counts(caplog) and time.monotonic() < deadline:
            time.sleep(0.01)
        progress.stop()
    assert progress_counts(caplog)[0] == BATCH
    assert progress.batch == 1  # the pace is measured again: a feed may have slowed down
    progress.add(1)
    assert progress.batch == 1
