"""The README's demo: a sample segment stream → target-adobe-s3 → a local S3 server.

Starts moto's S3 server on a free 127.0.0.1 port, creates a bucket, pipes
demo/sample.singer through the target twice: once as plain tab-delimited CSV (lists
the object keys and prints the first rows of one file), once gzip-compressed and
encrypted to a fresh OpenPGP key made with gpg (decrypts one file with gpg and prints
its first rows). Each run shows its config.json first (secrets as ****); the demo ends
with the next steps for your own bucket.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import boto3

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from demo.local_s3 import FAKE_CREDENTIALS, moto_server
from target_adobe_s3.schema import CONFIG_SCHEMA

HERE = Path(__file__).resolve().parent
BUCKET = "demo-audiences"
TARGET = Path(sys.executable).with_name("target-adobe-s3")
FIELDS = [
    "email",
    {"source": "person.firstName", "target": "first_name"},
    {"source": "person.lastName", "target": "last_name"},
    "country",
    "segment_status",
]

SECRETS = frozenset(
    name for name, spec in CONFIG_SCHEMA["properties"].items() if spec.get("secret")
)
"""The settings the schema marks secret: never printed."""
MASK = "****"


def shown_value(name: str, value: Any) -> Any:
    """A setting's value as the demo prints it: secrets masked, the (public) key cut short."""
    if name in SECRETS and value:
        return MASK
    if name == "pgp_public_key":
        lines = str(value).splitlines()
        return f"{lines[0]} ... ({len(lines)} lines)"
    return value


def shown_config(config: dict[str, Any]) -> str:
    """The config as JSON, one setting a line."""
    lines = [
        f"  {json.dumps(name)}: {json.dumps(shown_value(name, value), ensure_ascii=False)}"
        for name, value in config.items()
    ]
    return "{\n" + ",\n".join(lines) + "\n}"


def run_target(config: dict[str, Any], workdir: Path) -> int:
    """Pipe the sample through the target; show its log and the STATE it emitted."""
    config_path = workdir / "config.json"
    config_path.write_text(json.dumps(config))
    print(f"config.json (secrets shown as {MASK}):")
    print(shown_config(config))
    endpoint = config["endpoint_url"]
    print(f"\n$ target-adobe-s3 --config config.json < demo/sample.singer   (S3 at {endpoint})")
    with (HERE / "sample.singer").open("rb") as stdin:
        result = subprocess.run(
            [str(TARGET), "--config", str(config_path)],
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


def show_rows(title: str, text: str) -> None:
    print(f"\nFirst rows of {title} (tab-delimited):")
    for line in text.splitlines()[:4]:
        print("  ", line.replace("\t", " | "))


def list_keys(s3: Any, prefix: str) -> list[str]:
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])]
    print(f"\nObjects in s3://{BUCKET}/{prefix}:")
    for key in keys:
        print("  ", key)
    return keys


def make_key(home: str) -> str:
    """A recipient key pair as gpg makes it by default (ed25519 + cv25519 subkey)."""
    gpg = ["gpg", "--homedir", home, "--batch", "--passphrase", "", "--quiet"]
    uid = "Partner Inbox <inbox@partner.example>"
    subprocess.run([*gpg, "--quick-gen-key", uid, "default", "default"], check=True)
    exported = subprocess.run([*gpg, "--armor", "--export", uid], check=True, capture_output=True)
    return exported.stdout.decode()


def gpg_decrypt(home: str, data: bytes) -> bytes:
    done = subprocess.run(
        ["gpg", "--homedir", home, "--batch", "--quiet", "--decrypt"],
        input=data,
        capture_output=True,
        check=True,
    )
    return done.stdout


def main() -> int:
    gpg_home = tempfile.mkdtemp(prefix="g", dir="/tmp")  # short: gpg-agent's socket path
    try:
        with moto_server() as endpoint, tempfile.TemporaryDirectory() as tmp:
            s3 = boto3.client("s3", endpoint_url=endpoint, **_boto_credentials())
            s3.create_bucket(Bucket=BUCKET)
            config: dict[str, Any] = {
                "bucket": BUCKET,
                "endpoint_url": endpoint,
                "region": "us-east-1",
                "folder_path": "acme/campaigns/%SEGMENT_NAME%",
                "destination_name": "Demo_Export",
                "fields": FIELDS,
                **{name.lower(): FAKE_CREDENTIALS[name] for name in _KEYS},
            }
            print("== 1. Plain export: one tab-delimited CSV file per segment ==\n")
            if code := run_target(config, Path(tmp)):
                return code
            keys = list_keys(s3, "acme/")
            show_rows(keys[0], s3.get_object(Bucket=BUCKET, Key=keys[0])["Body"].read().decode())

            if shutil.which("gpg") is None:
                print("\n(gpg is not installed: skipping the encrypted export)")
                print_next_steps()
                return 0
            print("\n== 2. gzip + OpenPGP: encrypted to the partner's public key ==\n")
            config["pgp_public_key"] = make_key(gpg_home)
            config["compression"] = "gzip"
            config["folder_path"] = "partner/%SEGMENT_NAME%"
            if code := run_target(config, Path(tmp)):
                return code
            keys = list_keys(s3, "partner/")
            data = s3.get_object(Bucket=BUCKET, Key=keys[0])["Body"].read()
            print(f"\n$ gpg --decrypt {keys[0].rsplit('/', 1)[1]} | gunzip   (the partner's side)")
            show_rows(keys[0], gzip.decompress(gpg_decrypt(gpg_home, data)).decode())
        print_next_steps()
    finally:
        subprocess.run(
            ["gpgconf", "--kill", "gpg-agent"],
            env={**os.environ, "GNUPGHOME": gpg_home},
            capture_output=True,
            check=False,
        )
        shutil.rmtree(gpg_home, ignore_errors=True)
    return 0


def print_next_steps() -> None:
    """What to change for your own bucket, the commands to run, where the docs are."""
    target = os.path.relpath(TARGET)
    target = str(TARGET) if target.startswith("..") else target
    print(
        f"""
== Next: export to your own bucket ==

1. Write a config.json like the first one above, for your bucket:
   - remove endpoint_url (it points at the demo's local server);
   - bucket and region: your bucket and its region;
   - credentials: role_arn (+ external_id, as AEP connects), or aws_access_key_id and
     aws_secret_access_key, or aws_profile; with none, boto3's default chain
     (docs/iam-and-check.md has the IAM policy the target needs);
   - fields: your columns; pgp_public_key: your recipient's public key (docs/encryption.md).
2. Test the credentials and the bucket (lists, writes, reads and deletes a probe object):
     {target} --config config.json --check
3. Export what your tap emits; the last STATE goes to state.json once every file is up:
     <your tap> | {target} --config config.json > state.json

Docs: docs/try-it-locally.md (this demo step by step, by hand), docs/settings.md (every
setting), README.md (install, Meltano and schedules), docs/troubleshooting.md."""
    )


_KEYS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")
"""The demo's (fake) access keys, given in config.json as a real run would give them."""


def _boto_credentials() -> dict[str, str]:
    return {
        "aws_access_key_id": FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        "region_name": FAKE_CREDENTIALS["AWS_DEFAULT_REGION"],
    }


if __name__ == "__main__":
    sys.exit(main())
