"""Local S3 servers for the tests, each on a free 127.0.0.1 port: real HTTP(S), no patching.

- `moto_server()`: moto's S3 server (from the dev extras), what most tests write to.
- `s3rver_server()`: s3rver (npm, pinned in tests/support/s3rver/) over HTTPS, a second,
  independent S3 implementation. `scripts/ensure-s3rver.sh` installs it (`npm ci` in
  tests/support/s3rver/). The certificate is a self-signed one made here with `cryptography`;
  clients trust it through its file (`AWS_CA_BUNDLE` for the target's CLI, `verify=` for
  boto3 in the tests). Use `s3rver_or_skip()` in a fixture: it skips where s3rver is not
  installed, and fails instead when the `CI` environment variable is set, so CI never
  passes by skipping it.

The demo has its own small launcher (demo/local_s3.py): the tests import nothing from demo/.
"""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}
"""What the tests put in the environment, so that boto3 never finds real credentials."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def moto_server(timeout: float = 30.0) -> Iterator[str]:
    """Start moto's S3 server in a child process; yields its endpoint URL."""
    port = free_port()
    env = {**os.environ, **FAKE_CREDENTIALS}
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(f"{url}/moto-api/", timeout=1):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"moto_server did not start on {url}") from None
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


# --- s3rver -------------------------------------------------------------------------------------

HOME = Path(__file__).with_name("s3rver")
SCRIPT = HOME / "node_modules" / "s3rver" / "bin" / "s3rver.js"
ACCESS_KEY = SECRET_KEY = "S3RVER"
"""The one key pair s3rver accepts (it checks signatures)."""
_LISTENING = re.compile(r"S3rver listening on [^:]+:(\d+)")


def missing() -> str | None:
    """Why s3rver cannot run here, or None when it can."""
    if shutil.which("node") is None:
        return "node is not installed"
    if not SCRIPT.is_file():
        return f"s3rver is not installed in {HOME} (run scripts/ensure-s3rver.sh)"
    return None


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A P-256 key and a self-signed certificate for 127.0.0.1 and localhost: (key, cert)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_path, cert_path = directory / "key.pem", directory / "cert.pem"
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return key_path, cert_path


@dataclass(frozen=True)
class S3rver:
    """A running s3rver: its HTTPS URL and the certificate that clients must trust."""

    url: str
    ca_bundle: Path

    def client(self, **config: Any) -> Any:
        """A boto3 client for it; `config` goes to botocore's Config."""
        return boto3.client(
            "s3",
            endpoint_url=self.url,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
            region_name="us-east-1",
            verify=str(self.ca_bundle),
            config=Config(s3={"addressing_style": "path"}, **config),
        )

    def bucket(self) -> str:
        """A new, empty bucket."""
        name = f"test-{uuid.uuid4().hex[:16]}"
        self.client().create_bucket(Bucket=name)
        return name

    def target_config(self, bucket: str) -> dict[str, Any]:
        """Connection settings for the target (it trusts the certificate by AWS_CA_BUNDLE)."""
        return {
            "bucket": bucket,
            "endpoint_url": self.url,
            "region": "us-east-1",
            "aws_access_key_id": ACCESS_KEY,
            "aws_secret_access_key": SECRET_KEY,
        }


@contextlib.contextmanager
def s3rver_server() -> Iterator[S3rver]:
    """Start s3rver over HTTPS on a free 127.0.0.1 port; stop it and remove its data after."""
    with tempfile.TemporaryDirectory(prefix="s3rver-") as temp:
        directory = Path(temp)
        key, cert = self_signed(directory)
        (directory / "data").mkdir()
        command = [
            "node",
            str(SCRIPT),
            "--directory",
            str(directory / "data"),
            "--address",
            "127.0.0.1",
            "--port",
            "0",
            "--silent",
            "--no-vhost-buckets",
            "--key",
            str(key),
            "--cert",
            str(cert),
        ]
        process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        try:
            port = _wait_for_port(process)
            yield S3rver(f"https://127.0.0.1:{port}", cert)
        finally:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            if process.stdout is not None:
                process.stdout.close()


def _wait_for_port(process: subprocess.Popen[str], timeout: float = 30) -> int:
    """The port from s3rver's `S3rver listening on ADDRESS:PORT` line."""
    assert process.stdout is not None
    found: list[int] = []
    seen: list[str] = []

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            seen.append(line)
            if match := _LISTENING.search(line):
                found.append(int(match.group(1)))
                return

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(timeout)
    if not found:
        process.kill()
        raise RuntimeError("s3rver did not start: " + "".join(seen))
    # Keep draining its output so that a full pipe never blocks it.
    threading.Thread(target=lambda: [None for _ in process.stdout or ()], daemon=True).start()
    return found[0]


def s3rver_or_skip() -> Iterator[S3rver]:
    """For a fixture: s3rver running; skipped where it is missing, a failure in CI."""
    problem = missing()
    if problem is not None:
        if os.environ.get("CI"):
            pytest.fail(f"s3rver is required in CI: {problem}")
        pytest.skip(problem)
    with s3rver_server() as server:
        yield server
