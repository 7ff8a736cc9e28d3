"""Fixtures: a real moto S3 server over HTTP for the session, a fresh bucket per test.

Every test under tests/system/ is marked `system` here, by its path: `pytest -m "not system"`
is the fast loop (unit/ and e2e/), `pytest -m system` the rest. Markers are registered in
pyproject.toml (`--strict-markers`).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.support.s3_servers import FAKE_CREDENTIALS, moto_server


@pytest.fixture(scope="session", autouse=True)
def _fake_aws_env() -> Iterator[None]:
    """Keep boto3 away from any real AWS credentials or config on the machine."""
    mp = pytest.MonkeyPatch()
    for name, value in FAKE_CREDENTIALS.items():
        mp.setenv(name, value)
    mp.setenv("AWS_CONFIG_FILE", "/nonexistent/aws-config")
    mp.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/aws-credentials")
    yield
    mp.undo()


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """moto's S3 server on a free 127.0.0.1 port, for the whole session."""
    with moto_server() as url:
        yield url


@pytest.fixture(scope="session")
def s3(s3_endpoint: str) -> Any:
    """A boto3 client to read back what the target wrote."""
    return boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
    )


@pytest.fixture
def bucket(s3: Any) -> str:
    """A new, empty bucket."""
    name = f"test-{uuid.uuid4().hex[:16]}"
    s3.create_bucket(Bucket=name)
    return name


@pytest.fixture
def spool_dir(tmp_path: Path) -> Path:
    """The temp_dir given to the target, to check what it leaves behind."""
    path = tmp_path / "spool"
    path.mkdir()
    return path


@pytest.fixture
def config(bucket: str, s3_endpoint: str, spool_dir: Path) -> dict[str, Any]:
    """Settings for a run against the local server, with a fixed clock and run id."""
    return {
        "bucket": bucket,
        "endpoint_url": s3_endpoint,
        "region": "us-east-1",
        "aws_access_key_id": "testing",
        "aws_secret_access_key": "testing",
        "export_time": "2024-05-01T06:18:04Z",
        "run_id": "run-1",
        "temp_dir": str(spool_dir),
    }


SYSTEM = Path(__file__).resolve().parent / "system"


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects by marker
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test under tests/system/ `system`."""
    for item in items:
        if item.path.resolve().is_relative_to(SYSTEM):
            item.add_marker(pytest.mark.system)


@pytest.fixture(scope="session")
def gpg_keys() -> Iterator[Any]:
    """A real GNUPGHOME with one key of each kind (tests/support/gpg.py KEY_KINDS), for the session.

    `.public[kind]` is the armored public key, `.decrypt(data)` runs `gpg --decrypt`.
    Kinds: rsa_subkey, rsa_primary, cv25519, p256, p384, p521, brainpool.
    """
    from tests.support.gpg import gpg_available, make_keys

    if not gpg_available():
        pytest.skip("gpg is not installed")
    keys = make_keys()
    yield keys
    keys.close()
