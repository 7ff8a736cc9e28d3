"""What the rows layer counts per segment: rows written and skipped (and why), files, bytes.

The rows layer decides why a row is left out, so the reasons and the counts live here; the
run summary (`target_adobe_s3.summary`) renders them.
"""

from __future__ import annotations

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
