"""What the run did, per segment: rows written and skipped (and why), files, bytes."""

from __future__ import annotations

import logging
import time
from collections import Counter
from dataclasses import dataclass, field

SKIP_EXITED = "exited (full mode)"
SKIP_DUPLICATE = "duplicate key"


def skip_missing(path: str) -> str:
    """The skip reason for a row missing a mandatory field."""
    return f"missing {path}"


@dataclass
class SegmentTally:
    """Counts for one segment."""

    segment_id: str
    segment_name: str
    rows: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    files: int = 0
    size: int = 0


class Tally:
    """Counts for the whole run, kept as rows are written and files delivered."""

    def __init__(self) -> None:
        self.segments: dict[str, SegmentTally] = {}
        self.without_membership = 0

    def segment(self, segment_id: str, segment_name: str) -> SegmentTally:
        """The counts of a segment (created on first use)."""
        found = self.segments.get(segment_id)
        if found is None:
            found = self.segments[segment_id] = SegmentTally(segment_id, segment_name)
        return found

    def skip(self, segment_id: str, segment_name: str, reason: str, count: int = 1) -> None:
        """Count rows deliberately left out of a segment's file."""
        self.segment(segment_id, segment_name).skipped[reason] += count

    def skipped_total(self) -> int:
        """Rows skipped over all segments."""
        return sum(sum(t.skipped.values()) for t in self.segments.values())


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def summary_table(tally: Tally) -> str:
    """A plain-text table, one line per segment, sorted by segment id."""
    header = ("segment id", "name", "rows", "skipped", "files", "bytes")
    lines = [header]
    for t in sorted(tally.segments.values(), key=lambda t: t.segment_id):
        reasons = ", ".join(f"{n} {r}" for r, n in sorted(t.skipped.items()))
        lines.append(
            (
                _cut(t.segment_id, 40),
                _cut(t.segment_name, 32),
                str(t.rows),
                reasons or "0",
                str(t.files),
                str(t.size),
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    right = {2, 4, 5}
    return "\n".join(
        "  ".join(
            cell.rjust(widths[i]) if i in right else cell.ljust(widths[i])
            for i, cell in enumerate(line)
        ).rstrip()
        for line in lines
    )


class Progress:
    """Logs records read and the rate every `interval` seconds (checked every 4,096 records)."""

    def __init__(self, logger: logging.Logger, interval: float = 30.0) -> None:
        self.logger = logger
        self.interval = interval
        self.records = 0
        self._counted = 0
        self._start = self._last = time.monotonic()

    def add(self, count: int = 1) -> None:
        """Count records read; now and then (every 4,096 at most), log a progress line."""
        self.records += count
        if self.records - self._counted >= 4096:
            self._counted = self.records
            now = time.monotonic()
            if now - self._last >= self.interval:
                self._last = now
                rate = self.records / max(now - self._start, 1e-9)
                self.logger.info("Progress: %d records read (%.0f records/s)", self.records, rate)
