"""The fast path of one stream: record bytes → checked dict or tuple → rows, counted in batches.

The reader hands a fast stream's RECORD lines (or their record's bytes) straight to its
`FastRecords`, skipping the SDK's record path. The stream's `RecordDecoder` checks each
record as it decodes it; the rows go to `write` (the stream's `StreamWriter.write`); and
the records are counted for the SDK's metrics and the progress lines every `pace.batch`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from target_adobe_s3.intake.decoder import RecordDecoder, ValuesWriterFactory
    from target_adobe_s3.intake.reader import Pace


class FastRecords:
    """One stream's fast path; `count` is told how many records were handled, in batches."""

    def __init__(
        self,
        decoder: RecordDecoder,
        write: Callable[[dict[str, Any]], None],
        count: Callable[[int], None],
        pace: Pace,
        values_writer: ValuesWriterFactory | None = None,
    ) -> None:
        self.pending = 0
        self._pace = pace
        self._count = count
        self._decode = decoder.compile(write)
        by_values = decoder.compile_values_line(values_writer) if values_writer else None
        self.decode_line = by_values or decoder.compile_line(write)
        """Whole-line handler; the reader counts what it takes and calls `add`. It decodes
        into a tuple when the writer has a path for one (`values_writer`)."""

    def handle(self, data: bytes) -> None:
        """Write one record's rows; now and then, count them."""
        self._decode(data)
        self.add(1)

    def add(self, count: int) -> None:
        """Count records handled; every `pace.batch`, pass the count on (progress, SDK)."""
        self.pending += count
        if self.pending >= self._pace.batch:
            self.flush()

    def flush(self) -> None:
        """Pass on the count of the records handled since the last flush."""
        count, self.pending = self.pending, 0
        if count:
            self._count(count)
