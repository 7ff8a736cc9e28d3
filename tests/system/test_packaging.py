"""The release as users get it: `python -m build` from this checkout, checked as PyPI would,
the wheel installed into a fresh venv without the dev extras and run against a local S3.

The checkout is copied first (without .venv, .git and build leftovers) so the build writes
nothing into the working tree. The build's own environment and the venv's dependencies come
from the package index (pip's cache makes repeated runs quick); the tests that need it are
skipped, saying why, only when the index cannot be reached. Each step runs once per module.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import sys
import tarfile
import urllib.request
import zipfile
from collections.abc import Iterator
from email.parser import HeaderParser
from pathlib import Path
from typing import Any

import pytest

from tests.support.helpers import (
    MEMBER_SCHEMA,
    TARGET,
    objects,
    record_message,
    schema_message,
    singer_text,
    state_message,
)

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

ROOT = Path(__file__).resolve().parents[2]
LEFTOVERS = shutil.ignore_patterns(
    ".git", ".venv", ".*_cache", "__pycache__", "build", "dist", "*.egg-info", ".meltano", "output"
)


def run(args: list[str | Path], **kwargs: Any) -> str:
    done = subprocess.run(
        [str(a) for a in args], capture_output=True, text=True, check=False, **kwargs
    )
    assert done.returncode == 0, f"{args}\n{done.stdout}\n{done.stderr}"
    return done.stdout


def index_unreachable() -> str | None:
    url = (os.environ.get("PIP_INDEX_URL") or "https://pypi.org/simple").rstrip("/")
    try:
        with urllib.request.urlopen(f"{url}/singer-sdk/", timeout=15) as response:
            response.read(1)
    except OSError as error:
        return f"the package index is unreachable ({url}: {error}); building and installing need it"
    return None


def pyproject() -> dict[str, Any]:
    with (ROOT / "pyproject.toml").open("rb") as handle:
        project: dict[str, Any] = tomllib.load(handle)["project"]
    return project


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`python -m build` of a copy of the checkout: the sdist, and the wheel built from it."""
    reason = index_unreachable()
    if reason:
        pytest.skip(reason)
    work = tmp_path_factory.mktemp("build")
    source = work / "source"
    shutil.copytree(ROOT, source, ignore=LEFTOVERS)
    run([sys.executable, "-m", "build", "--outdir", work / "dist", source], timeout=600)
    return work / "dist"


@pytest.fixture(scope="module")
def wheel(dist: Path) -> Path:
    (built,) = dist.glob("*.whl")
    return built


@pytest.fixture(scope="module")
def sdist(dist: Path) -> Path:
    (built,) = dist.glob("*.tar.gz")
    return built


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with only the wheel and its dependencies; returns its bin dir."""
    venv = tmp_path_factory.mktemp("venv") / "venv"
    run([sys.executable, "-m", "venv", venv])
    run([venv / "bin" / "python", "-m", "pip", "install", "--quiet", wheel], timeout=600)
    return venv / "bin"


@pytest.fixture(scope="module")
def recipient() -> Iterator[Any]:
    from tests.support.gpg import gpg_available, make_keys

    if not gpg_available():
        pytest.skip("gpg is not installed")
    keys = make_keys(("cv25519",))
    yield keys
    keys.close()


def test_sdist_and_wheel_pass_twine_check_strict(dist: Path) -> None:
    names = sorted(p.name for p in dist.iterdir())
    version = pyproject()["version"]
    assert names == [
        f"target_adobe_s3-{version}-py3-none-any.whl",
        f"target_adobe_s3-{version}.tar.gz",
    ]
    out = run([sys.executable, "-m", "twine", "check", "--strict", *sorted(dist.iterdir())])
    assert out.count("PASSED") == 2, out


def test_sdist_holds_the_package_and_its_readme_but_no_tests(sdist: Path) -> None:
    top = sdist.name.removesuffix(".tar.gz")
    with tarfile.open(sdist) as archive:
        names = set(archive.getnames())
        info = archive.extractfile(f"{top}/PKG-INFO")
        assert info is not None
        metadata = HeaderParser().parsestr(info.read().decode("utf-8"))
    assert {f"{top}/pyproject.toml", f"{top}/README.md", f"{top}/target_adobe_s3/py.typed"} <= names
    assert f"{top}/target_adobe_s3/target.py" in names
    assert not [n for n in names if n.startswith((f"{top}/tests", f"{top}/demo", f"{top}/bench"))]
    # The long description PyPI shows is the README, as Markdown.
    assert metadata["Description-Content-Type"] == "text/markdown"
    assert metadata.get_payload().startswith("# target-adobe-s3")


def test_wheel_ships_the_package_typed_with_its_metadata(wheel: Path) -> None:
    project = pyproject()
    assert wheel.name == f"target_adobe_s3-{project['version']}-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        (metadata_name,) = [n for n in names if n.endswith(".dist-info/METADATA")]
        metadata = HeaderParser().parsestr(archive.read(metadata_name).decode("utf-8"))
        entry_points = archive.read(metadata_name.replace("METADATA", "entry_points.txt"))
    assert "target_adobe_s3/py.typed" in names
    assert "target_adobe_s3/target.py" in names
    assert not [n for n in names if n.startswith(("tests/", "demo/", "scripts/", "bench/"))]
    assert metadata["Name"] == "target-adobe-s3"
    assert metadata["Version"] == project["version"]
    assert metadata["Requires-Python"] == project["requires-python"]
    assert metadata["License-Expression"] == project["license"]
    requires = metadata.get_all("Requires-Dist") or []
    assert any(r.startswith("singer-sdk[msgspec]") for r in requires)
    # Test and lint tools stay in the dev extra.
    assert not [r for r in requires if r.startswith(("moto", "pytest")) and "extra ==" not in r]
    assert f"Repository, {project['urls']['Repository']}" in metadata.get_all("Project-URL")
    assert "target-adobe-s3 = target_adobe_s3.target:TargetAdobeS3.cli" in entry_points.decode()


def test_installed_wheel_has_no_dev_extras(installed: Path) -> None:
    listed = json.loads(run([installed / "python", "-m", "pip", "list", "--format=json"]))
    names = {p["name"].lower().replace("_", "-") for p in listed}
    assert "target-adobe-s3" in names
    assert {"singer-sdk", "boto3", "cryptography"} <= names
    # smart_open is only in the dev extra (a test shows why its writer is not used);
    # pyarrow and faker only in their own extras.
    assert not names & {"moto", "pytest", "ruff", "mypy", "build", "twine", "yamllint"}
    assert not names & {"smart-open", "pyarrow", "duckdb", "faker"}


def test_installed_wheel_runs_about_and_version(installed: Path, tmp_path: Path) -> None:
    python = installed / "python"
    # Imported from the venv, not from the checkout.
    code = "import target_adobe_s3; print(target_adobe_s3.__file__, target_adobe_s3.__version__)"
    where, module_version = run([python, "-c", code], cwd=tmp_path).split()
    assert Path(where).is_relative_to(installed.parent)

    about = json.loads(run([installed / "target-adobe-s3", "--about", "--format=json"]))
    assert about["name"] == "target-adobe-s3"
    assert about["settings"]["required"] == ["bucket"]
    expected = json.loads(run([TARGET, "--about", "--format=json"]))
    assert list(about["settings"]["properties"]) == list(expected["settings"]["properties"])
    assert about["capabilities"] == expected["capabilities"]

    versions = run(
        [
            python,
            "-c",
            "from importlib.metadata import version as v;"
            "print(v('target-adobe-s3'), v('singer-sdk'))",
        ],
        cwd=tmp_path,
    ).split()
    package, sdk = versions
    # One version, declared in pyproject.toml: the metadata, __version__, --about, --version.
    assert package == pyproject()["version"] == about["version"] == module_version
    shown = run([installed / "target-adobe-s3", "--version"], cwd=tmp_path).strip()
    assert shown == f"target-adobe-s3 v{package}, Meltano SDK v{sdk}"


def test_installed_wheel_exports_gzip_and_openpgp_to_s3(
    installed: Path, tmp_path: Path, s3: Any, bucket: str, s3_endpoint: str, recipient: Any
) -> None:
    config = {
        "bucket": bucket,
        "endpoint_url": s3_endpoint,
        "region": "us-east-1",
        "aws_access_key_id": "testing",
        "aws_secret_access_key": "testing",
        "export_time": "2024-05-01T06:18:04Z",
        "folder_path": "exports/%SEGMENT_NAME%",
        "fields": ["email", "first_name"],
        "compression": "gzip",
        "pgp_public_key": recipient.public["cv25519"],
    }
    (tmp_path / "config.json").write_text(json.dumps(config), encoding="utf-8")
    members = [
        {"segment_id": "s-1", "segment_name": "Luxury Audience", "email": "ana@example.com",
         "first_name": "Ana"},
        {"segment_id": "s-1", "segment_name": "Luxury Audience", "email": "chloe@example.com",
         "first_name": "Chloé"},
    ]  # fmt: skip
    messages = [
        schema_message("members", MEMBER_SCHEMA),
        *(record_message("members", m) for m in members),
        state_message({"bookmarks": {"members": {"at": 2}}}),
    ]
    env = {k: v for k, v in os.environ.items() if k not in {"VIRTUAL_ENV", "PYTHONPATH"}}
    done = subprocess.run(
        [installed / "target-adobe-s3", "--config", tmp_path / "config.json"],
        input=singer_text(messages).encode(),
        capture_output=True,
        cwd=tmp_path,  # not the checkout: nothing is imported from it
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()
    # The state a target emits once every file is delivered: the tap's STATE value.
    assert [json.loads(line) for line in done.stdout.decode().splitlines()] == [
        {"bookmarks": {"members": {"at": 2}}}
    ]
    found = objects(s3, bucket)
    key = "exports/Luxury Audience/amazon_s3_segments-1_20240501_061804.csv.gz.gpg"
    assert list(found) == [key]
    decrypted = recipient.decrypt(found[key])
    assert decrypted.ok, decrypted.status
    assert gzip.decompress(decrypted.plaintext).decode("utf-8").splitlines() == [
        "email\tfirst_name",
        "ana@example.com\tAna",
        "chloe@example.com\tChloé",
    ]
