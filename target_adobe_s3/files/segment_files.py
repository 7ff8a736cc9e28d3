"""One file per segment: its columns, its parts (rolled over when full), dedup, empty files.

The first stream that sends rows to a segment fixes the file's columns; a file has one
header, so another set of columns is an input error. Rows go to the segment's open part;
THE rollover rule lives in `write_row` alone: a part takes rows until it holds
`max_rows_per_file`, then the next row opens the next part. With deduplication, rows wait
in the dedup store and the winners are written into the parts at end of input.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from target_adobe_s3.errors import InputError

if TYPE_CHECKING:
    from target_adobe_s3.files.dedup import DedupSet
    from target_adobe_s3.files.parts import Part
    from target_adobe_s3.files.spool import Spool
    from target_adobe_s3.formats.base import FileFormat


@dataclass(frozen=True)
class SegmentFile:
    """What a segment's parts share: the segment, the stream that opened it, the header."""

    segment_id: str
    segment_name: str
    stream_name: str
    header: tuple[str, ...]


PartName = Callable[[SegmentFile, int], str]
"""The file name of part `number` of a file, as the OpenPGP literal data names it."""


def dedup_store(spool: Spool, memory_bytes: int, *, encrypt_spill: bool) -> DedupSet:
    """The run's dedup store, spilling into the spool's `dedup` folder (0700)."""
    from target_adobe_s3.files.dedup import DedupSet  # noqa: PLC0415 (only when set)

    spill = spool.directory / "dedup"
    spill.mkdir(mode=0o700)
    return DedupSet(spill, memory_bytes=memory_bytes, encrypt_spill=encrypt_spill)


class SegmentFiles:
    """The files of one run, one per segment, in the spool (the rows layer's `RowSink`)."""

    def __init__(
        self,
        spool: Spool,
        file_format: FileFormat,
        max_rows: int,
        part_name: PartName,
        dedup: DedupSet | None = None,
    ) -> None:
        """Files in `spool`, headed by `file_format`, `max_rows` rows per part at most.

        `part_name` names each part in its OpenPGP literal data; `dedup` holds rows until
        `drain_dedup` when deduplication is on.
        """
        self.spool = spool
        self.files: dict[str, SegmentFile] = {}
        self._format = file_format
        self._part_name = part_name
        self._dedup = dedup
        self._limit = max_rows
        current, limit, next_part = spool.current.get, max_rows, self._next_part

        def write_row(segment_id: str, line: bytes) -> None:
            """Append one row to the segment's part, opening its first or next part as needed.

            The per-row path: a closure, so that a row costs one call and two lookups.
            """
            part = current(segment_id)
            if part is None or part.rows >= limit:  # the rollover rule
                part = next_part(segment_id)
            part.write(line, 1)

        self.write_row = write_row

    def register(
        self, segment_id: str, segment_name: str, stream_name: str, header: tuple[str, ...]
    ) -> None:
        """Note that a stream writes to a segment; the first stream fixes its columns.

        Raises:
            InputError: the segment's file already has other columns.
        """
        known = self.files.get(segment_id)
        if known is None:
            self.files[segment_id] = SegmentFile(segment_id, segment_name, stream_name, header)
        elif known.header != header:
            if known.stream_name == stream_name:
                raise InputError(
                    f"stream '{stream_name}' changed its columns while the file of segment "
                    f"'{segment_id}' is open: {list(known.header)} became "
                    f"{list(header)}; a file has one header, so keep the stream's columns the "
                    "same (the `fields` setting fixes them)"
                )
            raise InputError(
                f"stream '{stream_name}' sends rows to segment '{segment_id}', whose "
                f"file already has other columns (from stream '{known.stream_name}'): "
                f"{list(known.header)} vs {list(header)}; give both streams the same "
                "columns with the `fields` setting"
            )

    def dedup_row(
        self,
        segment_id: str,
        key: tuple[str, ...],
        time: Any,
        compare: tuple[str, ...],
        line: bytes,
    ) -> None:
        """Hand a row to the dedup store; the winners are written by `drain_dedup`."""
        assert self._dedup is not None, "deduplication is off"
        self._dedup.add(segment_id, key, time, compare, line)

    def drain_dedup(self) -> list[tuple[SegmentFile, int]]:
        """Write each deduplicated segment's winners into its parts, then drop the store.

        Returns:
            Each file that had duplicates, with how many rows were dropped.
        """
        if self._dedup is None:
            return []
        dropped = []
        for segment_id in self._dedup.segments():
            for lines in self._dedup.winner_blocks(segment_id):
                self._write_rows(segment_id, lines)
            _, count = self._dedup.stats(segment_id)
            if count:
                dropped.append((self.files[segment_id], count))
        self._dedup.close()
        return dropped

    def _write_rows(self, segment_id: str, lines: list[bytes]) -> None:
        """`write_row` for many rows: as many at once as the open part has room for.

        The same rollover rule, with one write per part instead of one per row (a part's
        bytes do not depend on how they were split into writes).
        """
        limit, start = self._limit, 0
        while start < len(lines):
            part = self.spool.current.get(segment_id)
            if part is None or part.rows >= limit:  # the rollover rule
                part = self._next_part(segment_id)
            end = start + limit - part.rows
            rows = lines[start:end]
            part.write(b"".join(rows), len(rows))
            start = end

    def add_empty(self, file: SegmentFile) -> bool:
        """A header-only file for a segment that got no rows; False when it has a file."""
        if file.segment_id in self.files:
            return False
        self.files[file.segment_id] = file
        self._open(file, 1)
        return True

    def finish(self) -> list[Part]:
        """Close every part; returns them sorted by segment id and number (upload order)."""
        return self.spool.finish()

    def close(self) -> None:
        """Drop the dedup store and its spill files (idempotent); the spool is the caller's."""
        if self._dedup is not None:
            self._dedup.close()

    def _next_part(self, segment_id: str) -> Part:
        """Open the segment's first part, or close its full part and open the next."""
        file = self.files[segment_id]
        previous = self.spool.get(segment_id)
        if previous is None:
            return self._open(file, 1)
        previous.close()
        return self._open(file, previous.number + 1)

    def _open(self, file: SegmentFile, number: int) -> Part:
        return self.spool.open(
            file.segment_id,
            file.segment_name,
            file.stream_name,
            file.header,
            first=self._format.header_bytes(file.header),
            literal_name=self._part_name(file, number),
            number=number,
            transform=self._format.part_transform(file.header),
        )
