"""Peak RSS of whole target runs with many segments open, CSV against Parquet.

    .venv/bin/python scripts/parquet_memory.py [--segments 1000] [--records 200000]

Starts moto's S3 server on 127.0.0.1, writes Singer input whose records go round-robin to
`--segments` segments (so every segment stays open to the end), and runs the CLI once per
setting in its own process; prints the peak RSS (ru_maxrss) of each run, and of a Python
that only imports the target (and pyarrow). Needs the dev extras (moto, pyarrow).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

import boto3

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.s3_servers import moto_server  # noqa: E402

TARGET = str(Path(sys.executable).with_name("target-adobe-s3"))
SCHEMA = {
    "type": "object",
    "properties": {
        "segment_id": {"type": "string"},
        "email": {"type": ["string", "null"]},
        "first_name": {"type": ["string", "null"]},
        "age": {"type": ["integer", "null"]},
        "score": {"type": ["number", "null"]},
        "seen": {"type": ["string", "null"], "format": "date-time"},
    },
}


def peak_mib(command: list[str], stdin: Path | None = None) -> float:
    """The peak RSS of one child process, in MiB."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    with stdin.open("rb") if stdin else open("/dev/null", "rb") as source:
        done = subprocess.run(command, stdin=source, capture_output=True, check=False)
    if done.returncode:
        raise SystemExit(done.stderr.decode()[-2000:])
    after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if after <= before:
        print("  (peak not above an earlier run's; run settings one at a time)")
    return after / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--segments", type=int, default=1000)
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--only", default="")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="pqmem-"))
    data = work / "input.jsonl"
    with data.open("w") as out:
        out.write(
            json.dumps({"type": "SCHEMA", "stream": "m", "schema": SCHEMA, "key_properties": []})
            + "\n"
        )
        for i in range(args.records):
            record = {
                "segment_id": f"seg{i % args.segments:05d}",
                "email": f"user{i}@example.com",
                "first_name": "Name" + str(i % 97),
                "age": i % 90,
                "score": i / 7,
                "seen": "2024-05-01T06:18:04.123Z",
            }
            out.write(json.dumps({"type": "RECORD", "stream": "m", "record": record}) + "\n")
    imports = "import target_adobe_s3.target"
    if args.only in ("", "imports"):
        print(f"import target: {peak_mib([sys.executable, '-c', imports]):.1f} MiB")
        both = imports + "; import pyarrow.parquet"
        print(f"import target + pyarrow: {peak_mib([sys.executable, '-c', both]):.1f} MiB")
    with moto_server() as url:
        s3 = boto3.client(
            "s3",
            endpoint_url=url,
            region_name="us-east-1",
            aws_access_key_id="t",
            aws_secret_access_key="t",  # noqa: S106 (moto takes any)
        )
        runs = {
            "csv": {"file_type": "csv"},
            "parquet": {"file_type": "parquet"},
            "parquet zstd": {"file_type": "parquet", "compression": "zstd"},
        }
        for name, settings in runs.items():
            if args.only and args.only != name:
                continue
            bucket = "m" + name.replace(" ", "-")
            s3.create_bucket(Bucket=bucket)
            config = {
                "bucket": bucket,
                "endpoint_url": url,
                "region": "us-east-1",
                "aws_access_key_id": "t",
                "aws_secret_access_key": "t",
                "temp_dir": str(work),
                **settings,
            }
            path = work / f"{bucket}.json"
            path.write_text(json.dumps(config))
            mib = peak_mib([TARGET, "--config", str(path)], data)
            print(f"{name}: {args.segments} segments, {args.records} records: peak {mib:.1f} MiB")


if __name__ == "__main__":
    main()
