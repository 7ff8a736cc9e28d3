"""The run summary table and the progress lines.

The per-segment counts it renders (`Tally`) are kept by the rows layer (`rows/tally.py`).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from target_adobe_s3.rows.tally import Tally


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


PROGRESS_SECONDS = 30.0
"""How often a progress line is logged while input is read."""
BATCH = 1024
"""Records the fast path may take before counting them, while records come quickly."""
_PROBE_SECONDS = 1.0
"""Records come quickly when BATCH of them arrive within this many seconds."""


class Progress:
    """Counts the records read; a ticker thread logs the count every `interval` seconds.

    The fast path counts records in batches of `batch` so that counting costs nothing per
    record. While records come slower than BATCH a second, `batch` is 1: each record is
    counted as it is read, so a slow feed's progress lines are exact (when records come
    quickly, a line may leave out the last batch, under a second's worth). After each
    line `batch` drops to 1 again until the next BATCH records show the pace.
    """

    def __init__(self, logger: logging.Logger, interval: float = PROGRESS_SECONDS) -> None:
        self.logger = logger
        self.interval = interval
        self.records = 0
        self.batch = 1
        """Records the fast path may take before it calls `add` (read by the reader)."""
        self._lock = threading.Lock()  # the pace is set by the ticker and by `add`
        self._repace = False
        self._probe_start = time.monotonic()
        self._probe_end: float = BATCH  # the count at which the pace is measured next
        self._start = self._probe_start
        self._stopped = threading.Event()
        self._ticker: threading.Thread | None = None

    def add(self, count: int = 1) -> None:
        """Count records read (on the fast path, `batch` or more at a time)."""
        self.records += count
        if self.records >= self._probe_end or self._repace:
            self._pace()

    def _pace(self) -> None:
        """Measure the pace: batch counts once BATCH records come within a second."""
        with self._lock:
            now = time.monotonic()
            if not self._repace and now - self._probe_start < _PROBE_SECONDS:
                self.batch = BATCH
                self._probe_end = math.inf
                return
            self._repace = False
            self.batch = 1
            self._probe_start = now
            self._probe_end = self.records + BATCH

    def start(self) -> None:
        """Start logging a progress line every `interval` seconds (input is being read)."""
        if self._ticker is not None:
            return
        with self._lock:
            self._start = self._probe_start = time.monotonic()
        self._stopped.clear()
        self._ticker = threading.Thread(target=self._tick, name="progress", daemon=True)
        self._ticker.start()

    def stop(self) -> None:
        """Stop the progress lines (end of input, or a failure)."""
        self._stopped.set()
        if self._ticker is not None:
            self._ticker.join()
            self._ticker = None

    def _tick(self) -> None:
        while not self._stopped.wait(self.interval):
            records = self.records
            rate = records / max(time.monotonic() - self._start, 1e-9)
            self.logger.info("Progress: %d records read (%.0f records/s)", records, rate)
            with self._lock:
                self._repace = True  # exact counts again until the pace is known
                self.batch = 1
