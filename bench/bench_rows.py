"""The record hot path alone: RECORD lines -> checked dicts -> CSV rows, in this process.

    .venv/bin/python bench/bench_rows.py [--records 100000] [--values strings,realistic]
        [--shape flat|membership] [--repeat 5] [--workdir /tmp/target-adobe-s3-bench]

What the fast path does per record (the stream's one-pass decoder, the StreamWriter with the
target's default CSV format, the bench's `fields`), into a sink that only counts the bytes:
no spool, no S3, no start-up; and the reference's loop (reference.py's rows through
csv.writer) over the same lines. Prints the CPU time per record (`time.process_time`, the
best of `--repeat` passes), so a change to the hot path can be measured on a busy machine.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from generate import COLUMNS, REALISTIC_COLUMNS, STREAM, VALUES, cached
from reference import make_rows

from target_adobe_s3.formats.csv import CsvFormat
from target_adobe_s3.formats.dialect import CsvDialect
from target_adobe_s3.intake.decoder import RecordDecoder
from target_adobe_s3.rows.tally import Tally
from target_adobe_s3.rows.writer import StreamWriter


@dataclass(frozen=True)
class Rows:
    """The target's row settings with their defaults, `fields` as the bench sets it."""

    fields: tuple[tuple[str, str | None], ...]
    segment_id_field: str = "segment_id"
    segment_name_field: str = "segment_name"
    segment_status_field: str = "segment_status"
    qualification_time_field: str = "last_qualification_time"
    membership_field: str = "segmentMembership"
    segment_names: dict[str, str] = field(default_factory=dict)
    export_mode: str = "full"
    mandatory_fields: tuple[str, ...] = ()
    dedup_keys: tuple[str, ...] = ()
    formula_escape: bool = False


class CountingSink:
    """A RowSink that only counts rows and bytes."""

    def __init__(self) -> None:
        self.rows = self.bytes = 0

    def register(self, segment_id: str, name: str, stream: str, header: tuple[str, ...]) -> None:
        """Nothing to open."""

    def write_row(self, segment_id: str, line: bytes) -> None:
        """Count the row."""
        self.rows += 1
        self.bytes += len(line)

    def dedup_row(self, *args: Any) -> None:
        """Not used here."""


def one_pass(lines: list[bytes], schema: dict[str, Any], columns: list[str]) -> tuple[float, int]:
    """CPU seconds to take every line through decoder and writer; the bytes written."""
    sink = CountingSink()
    writer = StreamWriter(
        STREAM,
        schema,
        settings=Rows(fields=tuple((c, None) for c in columns)),
        sink=sink,
        file_format=CsvFormat(CsvDialect()),
        tally=Tally(),
        progress=lambda _: None,
        typed=True,
    )
    decoder = RecordDecoder(STREAM, schema, key_properties=["email"])
    # The target's choice (intake.fast.FastRecords): the tuple path where the writer has one.
    handle = decoder.compile_values_line(writer.values_writer) or decoder.compile_line(writer.write)
    start = time.process_time()
    for line in lines:
        handle(line)
    return time.process_time() - start, sink.bytes


def reference_pass(lines: list[bytes], columns: list[str]) -> float:
    """CPU seconds of the reference's loop over the same lines (reference.py's rows, its
    csv.writer), into a sink that keeps nothing: what the hot path is up against."""
    rows_of = make_rows(columns)

    class Nowhere:
        def write(self, line: str) -> None:
            """Drop the line."""

    write = csv.writer(Nowhere(), delimiter="\t", lineterminator="\n").writerow
    loads = orjson.loads
    start = time.process_time()
    for line in lines:
        message = loads(line)
        if message["type"] == "RECORD":
            for _segment, _status, _time, row in rows_of(message["record"]):
                write(row)
    return time.process_time() - start


def main() -> None:
    """Time the hot path for each record shape."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--values", default=",".join(VALUES))
    parser.add_argument("--shape", default="flat", choices=["flat", "membership"])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/target-adobe-s3-bench"))  # noqa: S108
    args = parser.parse_args()
    for values in args.values.split(","):
        stream, _ = cached(args.workdir, args.records, segments=20, shape=args.shape,
                              duplicates=0.0, values=values)  # fmt: skip
        raw = stream.read_bytes().splitlines()
        schema = orjson.loads(raw[0])["schema"]
        lines = [line for line in raw if line.startswith(b'{"type":"RECORD"')]
        columns = COLUMNS if values == "strings" else REALISTIC_COLUMNS
        best, size = min(one_pass(lines, schema, columns) for _ in range(args.repeat))
        per = best / len(lines) * 1e6
        reference = min(reference_pass(lines, columns) for _ in range(args.repeat))
        per_reference = reference / len(lines) * 1e6
        print(f"{values:9} {args.shape}: {per:.2f} us per record (best of {args.repeat}), "
              f"{size / len(lines):.0f} bytes per row; the reference's loop "
              f"{per_reference:.2f} us")  # fmt: skip
        sys.stdout.flush()


if __name__ == "__main__":
    main()
