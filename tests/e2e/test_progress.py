"""Progress lines are time-based: every interval while input is read, with exact counts.

A slow feed (a tap that sends a few records now and then) is the case that matters: the
fast path counts records in batches, and a count held back in a batch would make the
line wrong for as long as the feed is slow.
"""

from __future__ import annotations

import io
import logging
import os
import re
import threading
import time
from contextlib import redirect_stdout
from typing import Any

import pytest

from target_adobe_s3.summary import BATCH
from target_adobe_s3.target import TargetAdobeS3
from tests.support.helpers import (
    MEMBER_SCHEMA,
    objects,
    record_message,
    schema_message,
    singer_text,
)

PROGRESS_RE = re.compile(r"^Progress: (\d+) records read \(\d+ records/s\)$")
WAIT = 20.0  # seconds a line may take to appear on a busy machine (never asserted as a time)


def progress_counts(caplog: pytest.LogCaptureFixture) -> list[int]:
    """The record counts of the progress lines logged so far, in order."""
    found = (PROGRESS_RE.match(r.getMessage()) for r in list(caplog.records))
    return [int(match.group(1)) for match in found if match]


def wait_for_line(caplog: pytest.LogCaptureFixture, low: int, high: int) -> bool:
    """Wait until a progress line says between `low` and `high` records were read."""
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        if any(low <= count <= high for count in progress_counts(caplog)):
            return True
        time.sleep(0.02)
    return False


def feed(target: TargetAdobeS3, groups: list[int], caplog: pytest.LogCaptureFixture) -> list[bool]:
    """Run the target on a tap that sends `groups` of records and pauses after each.

    After each group the tap waits for a progress line counting every record sent (or,
    after a group of more than BATCH, a line within BATCH of it: records that come
    quickly are counted in batches). Returns whether each line came.
    """
    read_end, write_end = os.pipe()
    seen: list[bool] = []

    def tap() -> None:
        with open(write_end, "w", encoding="utf-8") as pipe:
            pipe.write(singer_text([schema_message("members", MEMBER_SCHEMA)]))
            sent = 0
            for group in groups:
                for _ in range(group):
                    sent += 1
                    record = {"segment_id": "s1", "email": f"m{sent}@example.com"}
                    pipe.write(singer_text([record_message("members", record)]))
                pipe.flush()
                low = sent - BATCH + 1 if group > BATCH else sent
                seen.append(wait_for_line(caplog, low, sent))

    feeder = threading.Thread(target=tap)
    with open(read_end, encoding="utf-8") as stdin:
        feeder.start()
        with redirect_stdout(io.StringIO()):
            target.listen(stdin)
        feeder.join()
    return seen


@pytest.mark.parametrize("paths", [{}, {"schema_validation": "full"}], ids=["fast", "sdk"])
def test_a_slow_feed_logs_a_line_every_interval_with_the_records_read_so_far(
    paths: dict[str, Any], config: dict[str, Any], s3: Any, caplog: pytest.LogCaptureFixture
) -> None:
    target = TargetAdobeS3(config={**config, **paths})
    target.export.progress.interval = 0.1
    with caplog.at_level(logging.INFO):
        seen = feed(target, [3, 2, 4], caplog)
        lines_at_end = len(progress_counts(caplog))
        time.sleep(0.3)  # three intervals: the ticker stopped with the input
        lines_later = len(progress_counts(caplog))

    assert seen == [True, True, True], progress_counts(caplog)
    counts = progress_counts(caplog)
    assert counts == sorted(counts)
    assert {3, 5, 9} <= set(counts) <= set(range(10))
    assert lines_later == lines_at_end
    assert not [t for t in threading.enumerate() if t.name == "progress"]
    (body,) = objects(s3, config["bucket"]).values()
    assert len(body.decode().splitlines()) == 1 + 9


def test_a_feed_that_slows_down_gets_exact_counts_again(
    config: dict[str, Any], s3: Any, caplog: pytest.LogCaptureFixture
) -> None:
    target = TargetAdobeS3(config=config)
    target.export.progress.interval = 0.1
    with caplog.at_level(logging.INFO):
        seen = feed(target, [3 * BATCH + 5, 3, 2], caplog)
    assert seen == [True, True, True], progress_counts(caplog)
    assert progress_counts(caplog)[-1] == 3 * BATCH + 10
    (body,) = objects(s3, config["bucket"]).values()
    assert len(body.decode().splitlines()) == 1 + 3 * BATCH + 10
