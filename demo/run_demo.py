"""The README's demo: a sample segment stream → target-adobe-s3 → a local S3 server.

Starts moto's S3 server on a free 127.0.0.1 port, creates a bucket, pipes
demo/sample.singer through the target, lists the object keys and prints the
first rows of one file.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import boto3

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from demo.local_s3 import FAKE_CREDENTIALS, moto_server

HERE = Path(__file__).resolve().parent
BUCKET = "demo-audiences"


def main() -> int:
    with moto_server() as endpoint, tempfile.TemporaryDirectory() as tmp:
        s3 = boto3.client("s3", endpoint_url=endpoint, **_boto_credentials())
        s3.create_bucket(Bucket=BUCKET)
        config = {
            "bucket": BUCKET,
            "endpoint_url": endpoint,
            "region": "us-east-1",
            "folder_path": "acme/campaigns/%SEGMENT_NAME%",
            "destination_name": "Demo_Export",
            "fields": [
                "email",
                {"source": "person.firstName", "target": "first_name"},
                {"source": "person.lastName", "target": "last_name"},
                "country",
                "segment_status",
            ],
        }
        config_path = Path(tmp) / "config.json"
        config_path.write_text(json.dumps(config))
        print(f"$ target-adobe-s3 --config config.json < demo/sample.singer   (S3 at {endpoint})")
        target = Path(sys.executable).with_name("target-adobe-s3")
        with (HERE / "sample.singer").open("rb") as stdin:
            result = subprocess.run(
                [str(target), "--config", str(config_path)],
                stdin=stdin,
                capture_output=True,
                env={**os.environ, **FAKE_CREDENTIALS},
                check=False,
            )
        sys.stderr.write(result.stderr.decode())
        print("\nSTATE emitted on stdout:", result.stdout.decode().strip() or "(none)")
        if result.returncode != 0:
            print(f"target exited with {result.returncode}")
            return result.returncode
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])]
        print(f"\nObjects in s3://{BUCKET}:")
        for key in keys:
            print("  ", key)
        first = s3.get_object(Bucket=BUCKET, Key=keys[0])["Body"].read().decode()
        print(f"\nFirst rows of {keys[0]} (tab-delimited):")
        for line in first.splitlines()[:4]:
            print("  ", line.replace("\t", " | "))
    return 0


def _boto_credentials() -> dict[str, str]:
    return {
        "aws_access_key_id": FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        "region_name": FAKE_CREDENTIALS["AWS_DEFAULT_REGION"],
    }


if __name__ == "__main__":
    sys.exit(main())
