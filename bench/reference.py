"""The hand-written reference the target is measured against: no framework, no checks.

    .venv/bin/python bench/reference.py --endpoint URL --bucket NAME [--prefix ref] [--gzip]
        [--temp-dir DIR] < stream.jsonl

Reads Singer JSONL from stdin with orjson; for each RECORD writes the 13 bench columns with
csv.writer (tab-delimited, "\\n" line ends, as the target writes) into one temp file per
segment (header first): a flat record's segment is its `segment_id`, a record with a
`segmentMembership` map writes one row per segment in the map (its name is its id, as the
target names segments it has no name for). Rows with status `exited` are left out, as the
target does in full mode. No deduplication, no validation. Then boto3's `upload_file` puts
each file to `s3://BUCKET/PREFIX/<segment id>.csv` and the script prints the row count.
`--gzip` (for information) writes the files through the gzip module at level 6 instead.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import shutil
import sys
import tempfile
from pathlib import Path
from typing import IO, Any

import boto3
import orjson

COLUMNS = [
    "email", "first_name", "last_name", "phone", "city", "country", "postal_code",
    "birth_date", "loyalty_tier", "crm_id", "segment_id", "segment_name", "segment_status",
]  # fmt: skip
PERSON = COLUMNS[:10]


def main() -> None:
    """Convert stdin to per-segment CSV files and upload them."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--bucket", required=True)
    parser.add_argument("--prefix", default="ref")
    parser.add_argument("--gzip", action="store_true")
    parser.add_argument("--temp-dir", default=None)
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="ref-", dir=args.temp_dir))
    files: dict[str, tuple[IO[str], Any]] = {}
    suffix = ".csv.gz" if args.gzip else ".csv"

    def writer(segment_id: str) -> Any:
        found = files.get(segment_id)
        if found is None:
            path = tmp / f"{len(files)}{suffix}"
            if args.gzip:
                # Closed after the last row (many are open at once).
                f: IO[str] = gzip.open(path, "wt", encoding="utf-8", newline="", compresslevel=6)  # noqa: SIM115
            else:
                f = path.open("w", encoding="utf-8", newline="")
            w = csv.writer(f, delimiter="\t", lineterminator="\n")
            w.writerow(COLUMNS)
            found = files[segment_id] = (f, w)
        return found[1]

    rows = 0
    loads = orjson.loads
    try:
        for line in sys.stdin.buffer:
            message = loads(line)
            if message.get("type") != "RECORD":
                continue
            record = message["record"]
            membership = record.get("segmentMembership")
            if membership is None:
                if record.get("segment_status") == "exited":
                    continue
                writer(record["segment_id"]).writerow([record.get(c) for c in COLUMNS])
                rows += 1
                continue
            person = [record.get(c) for c in PERSON]
            for segments in membership.values():
                for segment_id, entry in segments.items():
                    status = entry.get("status")
                    if status == "exited":
                        continue
                    writer(segment_id).writerow([*person, segment_id, segment_id, status])
                    rows += 1
        for f, _ in files.values():
            f.close()
        s3 = boto3.client("s3", endpoint_url=args.endpoint, region_name="us-east-1")
        for index, segment_id in enumerate(files):
            key = f"{args.prefix}/{segment_id}{suffix}"
            s3.upload_file(str(tmp / f"{index}{suffix}"), args.bucket, key)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(rows)


if __name__ == "__main__":
    main()
