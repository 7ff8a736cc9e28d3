"""The hand-written references the target is measured against: no framework, no checks.

    .venv/bin/python bench/reference.py --endpoint URL --bucket NAME [--prefix ref]
        [--values strings|realistic] [--mode plain|gzip|dedup|parquet]
        [--parquet-compression none] [--temp-dir DIR] < stream.jsonl

Each mode is what a person would write by hand for that job, and writes what the target
writes with its defaults. It reads Singer JSONL from stdin with orjson; for each RECORD it
writes the bench's columns (13 for `strings`, 19 for `realistic`) with csv.writer (tab, "\\n"
line ends; a quote inside quotes doubled, where the target writes a backslash before it:
the bench compares the two as equal) into one temp
file per segment, header first: a flat record's segment is its `segment_id`, a record with
a `segmentMembership` map writes one row per segment in the map (its name is its id, as the
target names segments it has no name for). Rows with status `exited` are left out, as the
target does in full mode. Realistic records need two conversions csv.writer does not make:
booleans as `true`/`false` and the nested object as JSON (floats are written as their repr,
None as nothing, as the target writes them). Then boto3's `upload_file` puts each file to
`s3://BUCKET/PREFIX/<segment id>.<ext>` and the script prints the row count.

Modes:
- plain: as above (the reference of the plain, PGP and gzip+PGP cases).
- gzip: the files are written through the gzip module at level 6 (the target's level).
- dedup: keeps, per segment, a dict email -> (qualification time, row) holding the row with
  the latest time (a tie goes to the row that sorts first), all in memory; at the end
  writes each segment's rows sorted by email (the target's order).
- parquet: per segment a pyarrow `ParquetWriter`, rows gathered as columns and written as
  a row group every 10,000 rows; numbers as float64, the nested object as JSON text.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import boto3
import orjson

STRINGS = [
    "email", "first_name", "last_name", "phone", "city", "country", "postal_code",
    "birth_date", "loyalty_tier", "crm_id", "segment_id", "segment_name", "segment_status",
]  # fmt: skip
EXTRAS = ["lifetime_value", "order_count", "opted_in", "last_purchase_at", "address", "note"]
REALISTIC = [*STRINGS[:10], *EXTRAS, *STRINGS[10:]]
ROW_GROUP = 10_000
Row = list[Any]


def make_rows(columns: list[str]) -> Callable[[Any], Iterator[tuple[str, Any, Any, Row]]]:
    """For the columns: one record's rows (segment id, status, time, the person's values)."""
    person = columns[:-3]
    realistic = "opted_in" in columns
    flag = person.index("opted_in") if realistic else -1
    nested = person.index("address") if realistic else -1

    def values(record: dict[str, Any]) -> Row:
        row = [record.get(c) for c in person]
        if realistic:
            opted = row[flag]
            if opted is not None:
                row[flag] = "true" if opted else "false"
            if row[nested] is not None:
                row[nested] = orjson.dumps(row[nested]).decode()
        return row

    def rows(record: dict[str, Any]) -> Iterator[tuple[str, Any, Any, Row]]:
        membership = record.get("segmentMembership")
        if membership is None:
            status = record.get("segment_status")
            row = values(record)
            row += [record["segment_id"], record.get("segment_name"), status]
            yield record["segment_id"], status, record.get("last_qualification_time"), row
            return
        base = values(record)
        for segments in membership.values():
            for segment_id, entry in segments.items():
                status = entry.get("status")
                row = [*base, segment_id, segment_id, status]
                yield segment_id, status, entry.get("lastQualificationTime"), row

    return rows


class CsvFiles:
    """One temp CSV file per segment (gzip-compressed or not), header first."""

    def __init__(self, tmp: Path, columns: list[str], compress: bool) -> None:
        self.tmp, self.columns, self.compress = tmp, columns, compress
        self.suffix = ".csv.gz" if compress else ".csv"
        self.files: dict[str, tuple[IO[str], Any]] = {}

    def writer(self, segment_id: str) -> Any:
        """The csv writer of a segment's file (made with its header on first use)."""
        found = self.files.get(segment_id)
        if found is None:
            path = self.tmp / f"{len(self.files)}{self.suffix}"
            if self.compress:
                # Closed after the last row (many are open at once).
                f: IO[str] = gzip.open(path, "wt", encoding="utf-8", newline="", compresslevel=6)  # noqa: SIM115
            else:
                f = path.open("w", encoding="utf-8", newline="")
            w = csv.writer(f, delimiter="\t", lineterminator="\n")
            w.writerow(self.columns)
            found = self.files[segment_id] = (f, w)
        return found[1]

    def close(self) -> list[tuple[str, Path]]:
        """Close every file; (segment id, path) of each."""
        for f, _ in self.files.values():
            f.close()
        return [(seg, self.tmp / f"{i}{self.suffix}") for i, seg in enumerate(self.files)]


class ParquetFiles:
    """One Parquet file per segment, written a row group at a time."""

    def __init__(self, tmp: Path, columns: list[str], compression: str) -> None:
        import pyarrow as pa  # noqa: PLC0415 (only this mode needs it)
        import pyarrow.parquet as pq  # noqa: PLC0415

        kinds = {"lifetime_value": pa.float64(), "order_count": pa.int64(), "opted_in": pa.bool_()}
        self.pa, self.pq, self.tmp, self.compression = pa, pq, tmp, compression
        self.schema = pa.schema([(c, kinds.get(c, pa.string())) for c in columns])
        self.pending: dict[str, list[Row]] = {}
        self.writers: dict[str, Any] = {}
        self.flag = columns.index("opted_in") if "opted_in" in columns else -1

    def add(self, segment_id: str, row: Row) -> None:
        """Add one row; write a row group when the segment has gathered enough."""
        rows = self.pending.setdefault(segment_id, [])
        rows.append(row)
        if len(rows) >= ROW_GROUP:
            self._flush(segment_id)

    def _flush(self, segment_id: str) -> None:
        rows = self.pending[segment_id]
        if not rows:
            return
        if self.flag >= 0:  # the CSV text of the boolean back to a bool
            for row in rows:
                if row[self.flag] is not None:
                    row[self.flag] = row[self.flag] == "true"
        columns = [list(col) for col in zip(*rows, strict=True)]
        table = self.pa.Table.from_arrays(columns, schema=self.schema)
        writer = self.writers.get(segment_id)
        if writer is None:
            path = self.tmp / f"{len(self.writers)}.parquet"
            writer = self.pq.ParquetWriter(path, self.schema, compression=self.compression)
            self.writers[segment_id] = writer
        writer.write_table(table)
        rows.clear()

    def close(self) -> list[tuple[str, Path]]:
        """Write what is pending, close every file; (segment id, path) of each."""
        for segment_id in self.pending:
            self._flush(segment_id)
        for writer in self.writers.values():
            writer.close()
        return [(seg, self.tmp / f"{i}.parquet") for i, seg in enumerate(self.writers)]


class Latest:
    """Dedup in memory: per segment, email -> (qualification time, row) of the latest."""

    def __init__(self, columns: list[str]) -> None:
        self.email = columns.index("email")
        self.best: dict[str, dict[str, tuple[str, Row]]] = {}

    def add(self, segment_id: str, qualified: str | None, row: Row) -> None:
        """Keep the row if it is the first of its email, or later (a tie: sorts first)."""
        kept = self.best.setdefault(segment_id, {})
        old = kept.get(row[self.email])
        time = qualified or ""
        if old is None or time > old[0] or (time == old[0] and tie(row, old[1])):
            kept[row[self.email]] = (time, row)

    def write(self, files: CsvFiles) -> int:
        """Write each segment's kept rows sorted by email; how many."""
        rows = 0
        for segment_id, kept in self.best.items():
            write = files.writer(segment_id).writerow
            for key in sorted(kept):
                write(kept[key][1])
                rows += 1
        return rows


def main() -> None:
    """Convert stdin to per-segment files and upload them."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--bucket", required=True)
    parser.add_argument("--prefix", default="ref")
    parser.add_argument("--values", choices=["strings", "realistic"], default="strings")
    parser.add_argument("--mode", choices=["plain", "gzip", "dedup", "parquet"], default="plain")
    parser.add_argument("--parquet-compression", default="none")
    parser.add_argument("--temp-dir", default=None)
    args = parser.parse_args()

    columns = STRINGS if args.values == "strings" else REALISTIC
    rows_of = make_rows(columns)
    tmp = Path(tempfile.mkdtemp(prefix="ref-", dir=args.temp_dir))
    latest = Latest(columns) if args.mode == "dedup" else None
    out: CsvFiles | ParquetFiles
    if args.mode == "parquet":
        parquet = out = ParquetFiles(tmp, columns, args.parquet_compression)
        suffix = ".parquet"
    else:
        parquet, out = None, CsvFiles(tmp, columns, args.mode == "gzip")
        suffix = out.suffix
    rows = 0
    loads = orjson.loads
    try:
        for line in sys.stdin.buffer:
            message = loads(line)
            if message.get("type") != "RECORD":
                continue
            for segment_id, status, qualified, row in rows_of(message["record"]):
                if status == "exited":
                    continue
                if latest is not None:
                    latest.add(segment_id, qualified, row)
                elif parquet is not None:
                    parquet.add(segment_id, row)
                    rows += 1
                else:
                    out.writer(segment_id).writerow(row)  # type: ignore[union-attr]
                    rows += 1
        if latest is not None:
            rows += latest.write(out)  # type: ignore[arg-type]
        files = out.close()
        s3 = boto3.client("s3", endpoint_url=args.endpoint, region_name="us-east-1")
        for segment_id, path in files:
            s3.upload_file(str(path), args.bucket, f"{args.prefix}/{segment_id}{suffix}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(rows)


def tie(row: Row, old: Row) -> bool:
    """Whether `row` wins a tie on time over `old`: its texts sort first."""
    return ["" if v is None else str(v) for v in row] < ["" if v is None else str(v) for v in old]


if __name__ == "__main__":
    main()
