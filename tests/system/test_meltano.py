"""Real Meltano, end to end: `meltano install` and `meltano run tap-jsonl target-adobe-s3`.

A temp Meltano project is made from the repo's meltano.yml (so the committed file is what
runs, with every plugin declared in it: Meltano Hub is never asked), with the loader
installed from this checkout (`pip_url: -e <repo root>`) and the sample tap, tap-jsonl,
reading a JSONL file written here. The target writes to the session's local S3 server.

Meltano itself lives in a venv cached across runs, keyed by its version, under
~/.cache/target-adobe-s3-tests (or $TARGET_ADOBE_S3_TEST_CACHE); uv, installed there
too, makes the venvs and fills them from its cache (uv is Meltano 4's venv backend).
The test needs PyPI: it is skipped, saying why, only when PyPI cannot be reached.
"""

from __future__ import annotations

import csv
import fcntl
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
import yaml

pytestmark = pytest.mark.meltano

ROOT = Path(__file__).resolve().parents[2]
MELTANO_VERSION = "4.4.1"
UV_SPEC = "uv>=0.5,<1"
STATE_ID = "dev:tap-jsonl-to-target-adobe-s3"
MTIME = datetime(2024, 4, 30, 12, 0, tzinfo=timezone.utc)
INSTALL_TIMEOUT = 900

MEMBERS = [
    {
        "email": "ana.silva@example.com",
        "first_name": "Ana",
        "segment_id": "25768be6-4a1c-4f0e-9d3e-3c0b8a1e5f10",
        "segment_name": "Luxury Audience",
        "segment_status": "existing",
    },
    {
        "email": "bruno.moreau@example.com",
        "first_name": "Bruno",
        "segment_id": "8f14e45f-ceea-467a-9af0-2b1c3d4e5f60",
        "segment_name": "Lapsed Buyers",
        "segment_status": "realized",
    },
    {
        "email": "chloe.ivanov@example.com",
        "first_name": "Chloé",
        "segment_id": "25768be6-4a1c-4f0e-9d3e-3c0b8a1e5f10",
        "segment_name": "Luxury Audience",
        "segment_status": "realized",
    },
]


def cache_root() -> Path:
    """Where the Meltano venv and uv's cache are kept (the temp dir if home is read-only)."""
    if os.environ.get("TARGET_ADOBE_S3_TEST_CACHE"):
        return Path(os.environ["TARGET_ADOBE_S3_TEST_CACHE"])
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    root = base / "target-adobe-s3-tests"
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError:
        root = Path(tempfile.gettempdir()) / "target-adobe-s3-tests"
    return root


def index_url() -> str:
    return os.environ.get("UV_INDEX_URL") or "https://pypi.org/simple"


def pypi_unreachable() -> str | None:
    """Why the package index cannot be used, or None when it can."""
    url = f"{index_url().rstrip('/')}/meltano/"
    try:
        with urllib.request.urlopen(url, timeout=15) as response:
            response.read(1)
    except OSError as error:
        return f"PyPI is unreachable ({url}: {error}); the Meltano test needs it"
    return None


@contextmanager
def locked(path: Path) -> Iterator[None]:
    """Serialize test runs that share the cache (one builds the venv, the others wait)."""
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def run(args: list[str | Path], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [str(a) for a in args], capture_output=True, text=True, check=False, **kwargs
    )
    assert done.returncode == 0, f"{args}\n{done.stdout}\n{done.stderr}"
    return done


@pytest.fixture(scope="module")
def meltano_venv() -> Path:
    """A venv with Meltano (and uv), made once per Meltano and Python version."""
    reason = pypi_unreachable()
    if reason:
        pytest.skip(reason)
    root = cache_root()
    root.mkdir(parents=True, exist_ok=True)
    python = f"py{sys.version_info.major}.{sys.version_info.minor}"
    venv = root / f"meltano-{MELTANO_VERSION}-{python}"
    done = venv / ".complete"
    with locked(root / ".lock"):
        if not done.exists():
            shutil.rmtree(venv, ignore_errors=True)
            run([sys.executable, "-m", "venv", venv])
            run([venv / "bin" / "python", "-m", "pip", "install", "--quiet", UV_SPEC])
            run(
                [
                    venv / "bin" / "uv",
                    "pip",
                    "install",
                    "--quiet",
                    "--python",
                    venv / "bin" / "python",
                    f"meltano=={MELTANO_VERSION}",
                ],
                env={**os.environ, "UV_CACHE_DIR": str(root / "uv")},
                timeout=INSTALL_TIMEOUT,
            )
            done.write_text(MELTANO_VERSION)
    return venv


def project_yml(data_glob: str) -> dict[str, Any]:
    """The repo's meltano.yml, made to install the loader from this checkout."""
    project = yaml.safe_load((ROOT / "meltano.yml").read_text(encoding="utf-8"))
    project["project_id"] = "target-adobe-s3-test"
    (tap,) = [p for p in project["plugins"]["extractors"] if p["name"] == "tap-jsonl"]
    tap["config"] = {"path": data_glob, "stream_name": "segment_members", "primary_keys": ["email"]}
    (loader,) = [p for p in project["plugins"]["loaders"] if p["name"] == "target-adobe-s3"]
    loader["pip_url"] = f"-e {ROOT}"
    loader["config"] = {}  # every setting comes from TARGET_ADOBE_S3_* below
    return project


def test_meltano_install_and_run(
    meltano_venv: Path, tmp_path: Path, s3_endpoint: str, bucket: str, s3: Any
) -> None:
    project = tmp_path / "project"
    data = project / "data" / "members.jsonl"
    data.parent.mkdir(parents=True)
    data.write_text("".join(json.dumps(m, ensure_ascii=False) + "\n" for m in MEMBERS), "utf-8")
    os.utime(data, (MTIME.timestamp(), MTIME.timestamp()))  # tap-jsonl's bookmark
    (project / "meltano.yml").write_text(yaml.safe_dump(project_yml(str(data))), "utf-8")

    env = {k: v for k, v in os.environ.items() if k not in {"VIRTUAL_ENV", "PYTHONPATH"}}
    env |= {
        "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
        "MELTANO_CLI_DISABLE_VERSION_CHECK": "true",
        "UV_CACHE_DIR": str(cache_root() / "uv"),
        "TARGET_ADOBE_S3_BUCKET": bucket,
        "TARGET_ADOBE_S3_ENDPOINT_URL": s3_endpoint,
        "TARGET_ADOBE_S3_REGION": "us-east-1",
        "TARGET_ADOBE_S3_AWS_ACCESS_KEY_ID": "testing",
        "TARGET_ADOBE_S3_AWS_SECRET_ACCESS_KEY": "testing",
        "TARGET_ADOBE_S3_EXPORT_TIME": "2024-05-01T06:18:04Z",
        "TARGET_ADOBE_S3_FOLDER_PATH": "exports/%SEGMENT_NAME%",
        "TARGET_ADOBE_S3_FIELDS": json.dumps(["email", "first_name", "segment_status"]),
    }
    meltano = meltano_venv / "bin" / "meltano"

    def meltano_cmd(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return run([meltano, *args], cwd=project, env=env, timeout=timeout)

    meltano_cmd("install", timeout=INSTALL_TIMEOUT)
    ran = meltano_cmd("run", "tap-jsonl", "target-adobe-s3")
    assert "Run completed" in ran.stderr + ran.stdout

    luxury = "exports/Luxury Audience/amazon_s3_segment25768be6-4a1c-4f0e-9d3e-3c0b8a1e5f10"
    lapsed = "exports/Lapsed Buyers/amazon_s3_segment8f14e45f-ceea-467a-9af0-2b1c3d4e5f60"
    listed = s3.list_objects_v2(Bucket=bucket).get("Contents", [])
    assert sorted(o["Key"] for o in listed) == [
        f"{lapsed}_20240501_061804.csv",
        f"{luxury}_20240501_061804.csv",
    ]

    def rows(key: str) -> list[list[str]]:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode("utf-8")
        return list(csv.reader(io.StringIO(body), delimiter="\t"))

    assert rows(f"{luxury}_20240501_061804.csv") == [
        ["email", "first_name", "segment_status"],
        ["ana.silva@example.com", "Ana", "existing"],
        ["chloe.ivanov@example.com", "Chloé", "realized"],
    ]
    assert rows(f"{lapsed}_20240501_061804.csv") == [
        ["email", "first_name", "segment_status"],
        ["bruno.moreau@example.com", "Bruno", "realized"],
    ]

    # Meltano stored the tap's last STATE, which the target released after the upload.
    assert meltano_cmd("state", "list").stdout.split() == [STATE_ID]
    bookmark = {
        "replication_key": "_sdc_last_modified",
        "replication_key_value": MTIME.isoformat(),
    }
    partition = {"context": {"_sdc_filename": str(data), "_sdc_stream": "segment_members"}}
    assert json.loads(meltano_cmd("state", "get", STATE_ID).stdout) == {
        "singer_state": {
            "bookmarks": {"segment_members": {"partitions": [partition | bookmark], **bookmark}}
        }
    }

    # The repo's jobs and schedules are valid for Meltano: AEP's daily full export and its
    # incremental export every 6 hours, through a loader that inherits the settings.
    listed_schedules = json.loads(meltano_cmd("schedule", "list", "--format=json").stdout)
    schedules = {
        s["name"]: (s["interval"], s["job"]["tasks"], s["env"])
        for s in listed_schedules["schedules"]["job"]
    }
    assert schedules == {
        "segments-daily-full": (
            "0 6 * * *",
            ["tap-jsonl target-adobe-s3"],
            {"MELTANO_RUN_FULL_REFRESH": "true"},
        ),
        "segments-every-6-hours": ("0 */6 * * *", ["tap-jsonl target-adobe-s3--incremental"], {}),
    }
    incremental = json.loads(meltano_cmd("config", "print", "target-adobe-s3--incremental").stdout)
    assert incremental["export_mode"] == "incremental"
    assert incremental["folder_path"] == "exports/incremental/%SEGMENT_NAME%"
    assert incremental["bucket"] == bucket
