"""Real Meltano, end to end: `meltano install`, `meltano run tap-jsonl target-adobe-s3`, the
repo's schedules, and the README's commands that add the loader from a clone at a git ref.

A temp Meltano project is made from the repo's meltano.yml (so the committed file is what
runs, with every plugin declared in it: Meltano Hub is never asked), with the loader
installed from this checkout (`pip_url: -e <repo root>`) and the sample tap, tap-jsonl,
reading JSONL files written here. The target writes to the session's local S3 server. The
project is installed once for the module; its tests run in order (state carries over).

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
import re
import shutil
import subprocess
import sys
import tempfile
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
import yaml

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

pytestmark = pytest.mark.meltano

ROOT = Path(__file__).resolve().parents[2]
LEFTOVERS = shutil.ignore_patterns(
    ".git", ".venv", ".*_cache", "__pycache__", "build", "dist", "*.egg-info", ".meltano", "output"
)
MELTANO_VERSION = "4.4.1"
UV_SPEC = "uv>=0.5,<1"
STATE_ID = "dev:tap-jsonl-to-target-adobe-s3"
MTIME = datetime(2024, 4, 30, 12, 0, tzinfo=timezone.utc)
INSTALL_TIMEOUT = 900
LUXURY = "25768be6-4a1c-4f0e-9d3e-3c0b8a1e5f10"
LAPSED = "8f14e45f-ceea-467a-9af0-2b1c3d4e5f60"

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


def meltano_env(bucket: str, s3_endpoint: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"VIRTUAL_ENV", "PYTHONPATH"}}
    return env | {
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


def write_members(path: Path, members: list[dict[str, str]], mtime: datetime) -> None:
    """A JSONL file for tap-jsonl, whose bookmark is the file's mtime."""
    path.write_text("".join(json.dumps(m, ensure_ascii=False) + "\n" for m in members), "utf-8")
    os.utime(path, (mtime.timestamp(), mtime.timestamp()))


class Project:
    """The temp Meltano project: its folder, data folder and a `meltano` runner."""

    def __init__(self, folder: Path, meltano: Path, env: dict[str, str]) -> None:
        self.folder = folder
        self.data = folder / "data"
        self.meltano_bin = meltano
        self.env = env

    def meltano(
        self, *args: str, timeout: float = 300, **env: str
    ) -> subprocess.CompletedProcess[str]:
        return run([self.meltano_bin, *args], cwd=self.folder, env=self.env | env, timeout=timeout)


@pytest.fixture(scope="module")
def project_bucket(s3: Any) -> str:
    name = f"melt-{uuid.uuid4().hex[:16]}"
    s3.create_bucket(Bucket=name)
    return name


@pytest.fixture(scope="module")
def project(
    meltano_venv: Path,
    tmp_path_factory: pytest.TempPathFactory,
    s3_endpoint: str,
    project_bucket: str,
) -> Project:
    """The repo's meltano.yml in a temp folder, installed (`meltano install`) once."""
    folder = tmp_path_factory.mktemp("meltano") / "project"
    (folder / "data").mkdir(parents=True)
    write_members(folder / "data" / "members-1.jsonl", MEMBERS, MTIME)
    meltano_yml = project_yml(str(folder / "data" / "*.jsonl"))
    (folder / "meltano.yml").write_text(yaml.safe_dump(meltano_yml), "utf-8")
    made = Project(
        folder, meltano_venv / "bin" / "meltano", meltano_env(project_bucket, s3_endpoint)
    )
    made.meltano("install", timeout=INSTALL_TIMEOUT)
    return made


def rows(s3: Any, bucket: str, key: str) -> list[list[str]]:
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode("utf-8")
    return list(csv.reader(io.StringIO(body), delimiter="\t"))


def take(s3: Any, bucket: str) -> dict[str, list[list[str]]]:
    """Every object of the bucket as CSV rows, the bucket emptied for the next run."""
    found = {}
    for item in s3.list_objects_v2(Bucket=bucket).get("Contents", []):
        found[item["Key"]] = rows(s3, bucket, item["Key"])
        s3.delete_object(Bucket=bucket, Key=item["Key"])
    return found


HEADER = ["email", "first_name", "segment_status"]


def test_meltano_install_and_run(project: Project, project_bucket: str, s3: Any) -> None:
    ran = project.meltano("run", "tap-jsonl", "target-adobe-s3")
    assert "Run completed" in ran.stderr + ran.stdout

    luxury = f"exports/Luxury Audience/amazon_s3_segment{LUXURY}"
    lapsed = f"exports/Lapsed Buyers/amazon_s3_segment{LAPSED}"
    assert take(s3, project_bucket) == {
        f"{lapsed}_20240501_061804.csv": [
            HEADER,
            ["bruno.moreau@example.com", "Bruno", "realized"],
        ],
        f"{luxury}_20240501_061804.csv": [
            HEADER,
            ["ana.silva@example.com", "Ana", "existing"],
            ["chloe.ivanov@example.com", "Chloé", "realized"],
        ],
    }

    # Meltano stored the tap's last STATE, which the target released after the upload.
    assert project.meltano("state", "list").stdout.split() == [STATE_ID]
    bookmark = {
        "replication_key": "_sdc_last_modified",
        "replication_key_value": MTIME.isoformat(),
    }
    data = str(project.data / "members-1.jsonl")
    partition = {"context": {"_sdc_filename": data, "_sdc_stream": "segment_members"}}
    assert json.loads(project.meltano("state", "get", STATE_ID).stdout) == {
        "singer_state": {
            "bookmarks": {"segment_members": {"partitions": [partition | bookmark], **bookmark}}
        }
    }


def test_jobs_and_schedules_are_named_as_in_the_readme(project: Project) -> None:
    """AEP's daily full export and its incremental export every 6 hours."""
    listed_jobs = json.loads(project.meltano("job", "list", "--format=json").stdout)
    assert listed_jobs == {
        "jobs": [
            {"job_name": "segments-daily-full", "tasks": ["tap-jsonl target-adobe-s3"]},
            {
                "job_name": "segments-every-6-hours",
                "tasks": ["tap-jsonl target-adobe-s3--incremental"],
            },
        ]
    }
    listed_schedules = json.loads(project.meltano("schedule", "list", "--format=json").stdout)
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
    # The incremental loader inherits every setting and changes two.
    incremental = json.loads(
        project.meltano("config", "print", "target-adobe-s3--incremental").stdout
    )
    assert incremental["export_mode"] == "incremental"
    assert incremental["folder_path"] == "exports/incremental/%SEGMENT_NAME%"
    assert incremental["bucket"] == project.env["TARGET_ADOBE_S3_BUCKET"]
    # The README shows the same jobs and schedules (tests/unit/test_readme_meltano.py).


def test_incremental_schedule_keeps_state_and_full_schedule_refreshes(
    project: Project, project_bucket: str, s3: Any
) -> None:
    """As the names say: every 6 hours from the pipeline's own state, exited members
    included; daily a full refresh of every current member.

    Which records come after a bookmark is the tap's business: tap-jsonl 0.3.1 reads every
    file again whatever its state (it looks for `_sdc_last_modified` in the partition's
    state, where the SDK writes `replication_key_value`), so what is checked here is what
    Meltano hands it: the incremental pipeline's state, or none on the full refresh.
    """
    take(s3, project_bucket)
    new = {
        "email": "dmitri.nakamura@example.com",
        "first_name": "Dmitri",
        "segment_id": LUXURY,
        "segment_name": "Luxury Audience",
        "segment_status": "exited",
    }
    write_members(project.data / "members-2.jsonl", [new], MTIME.replace(hour=18))

    ran = project.meltano(
        "schedule",
        "run",
        "segments-every-6-hours",
        TARGET_ADOBE_S3_EXPORT_TIME="2024-05-01T12:00:00Z",
    )
    assert "Performing full refresh" not in ran.stderr + ran.stdout
    assert "Reading state from Database" in ran.stderr + ran.stdout
    incremental = (
        f"exports/incremental/Luxury Audience/amazon_s3_segment{LUXURY}_20240501_120000.csv"
    )
    found = take(s3, project_bucket)
    assert sorted(found) == [
        f"exports/incremental/Lapsed Buyers/amazon_s3_segment{LAPSED}_20240501_120000.csv",
        incremental,
    ]
    assert ["dmitri.nakamura@example.com", "Dmitri", "exited"] in found[incremental]
    # Its own state, beside the one the first test left for the full pipeline.
    assert sorted(project.meltano("state", "list").stdout.split()) == [
        STATE_ID,
        f"{STATE_ID}--incremental",
    ]
    assert json.loads(project.meltano("state", "get", f"{STATE_ID}--incremental").stdout)

    ran = project.meltano(
        "schedule", "run", "segments-daily-full", TARGET_ADOBE_S3_EXPORT_TIME="2024-05-02T06:00:00Z"
    )
    assert (
        "Performing full refresh, ignoring state left behind by any previous runs"
        in ran.stderr + ran.stdout
    )
    assert "Reading state from Database" not in ran.stderr + ran.stdout
    # Every current member; the exited one is left out (export_mode full).
    assert take(s3, project_bucket) == {
        f"exports/Lapsed Buyers/amazon_s3_segment{LAPSED}_20240502_060000.csv": [
            HEADER,
            ["bruno.moreau@example.com", "Bruno", "realized"],
        ],
        f"exports/Luxury Audience/amazon_s3_segment{LUXURY}_20240502_060000.csv": [
            HEADER,
            ["ana.silva@example.com", "Ana", "existing"],
            ["chloe.ivanov@example.com", "Chloé", "realized"],
        ],
    }


def readme_block(marker: str) -> str:
    """The fenced block right after `<!-- marker -->` in the README."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    found = re.search(rf"<!-- {marker} -->\n```sh\n(.*?)\n```", text, re.DOTALL)
    assert found, f"README: no sh block after <!-- {marker} -->"
    return found.group(1)


@pytest.fixture(scope="module")
def git_clone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A git repository of this checkout (as it is, uncommitted changes included), tagged."""
    clone = tmp_path_factory.mktemp("clone") / "target-adobe-s3"
    shutil.copytree(ROOT, clone, ignore=LEFTOVERS)
    git = ["git", "-C", clone, "-c", "user.name=test", "-c", "user.email=test@example.com"]
    run([*git, "init", "--quiet"])
    run([*git, "add", "--all"])
    run([*git, "commit", "--quiet", "--no-gpg-sign", "--message", "snapshot"])
    run([*git, "tag", "v-test"])
    return clone


def test_readme_adds_the_loader_from_a_clone_at_a_git_ref(
    meltano_venv: Path, git_clone: Path, tmp_path: Path, s3_endpoint: str, bucket: str
) -> None:
    """The README's commands, run as written: --from-ref the Hub file, pip_url git+file@ref."""
    env = meltano_env(bucket, s3_endpoint) | {
        "CLONE": str(git_clone),
        "REF": "v-test",
        "PATH": f"{meltano_venv / 'bin'}{os.pathsep}{os.environ['PATH']}",
    }
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", readme_block("meltano-from-clone")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=INSTALL_TIMEOUT,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "Added loader 'target-adobe-s3'" in output
    assert "utility" not in output.lower()  # Meltano 4's reading of `meltano add loader X`
    assert "Installed loader 'target-adobe-s3'" in output
    # `meltano invoke target-adobe-s3 --version`, from the git ref.
    version = re.search(r"target-adobe-s3 v(\S+), Meltano SDK", done.stdout)
    assert version, done.stdout
    with (ROOT / "pyproject.toml").open("rb") as handle:
        assert version.group(1) == tomllib.load(handle)["project"]["version"]

    project = yaml.safe_load((tmp_path / "audiences" / "meltano.yml").read_text(encoding="utf-8"))
    (loader,) = project["plugins"]["loaders"]
    assert set(project["plugins"]) == {"loaders"}
    assert loader["name"] == "target-adobe-s3"
    assert loader["pip_url"] == f"git+file://{git_clone}@v-test"
    hub = yaml.safe_load(next((ROOT / "hub").glob("_data/meltano/loaders/*/*.yml")).read_text())
    assert loader["settings"] == hub["settings"]
