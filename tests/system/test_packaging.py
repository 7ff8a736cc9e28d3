"""The wheel as users get it: built from this checkout, installed into a fresh venv.

The checkout is copied first (without .venv, .git and build leftovers) so the build
writes nothing into the working tree. Dependencies come from the package index (pip's
cache makes repeated runs quick); the test is skipped, saying why, only when the index
cannot be reached.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import urllib.request
import zipfile
from email.parser import HeaderParser
from pathlib import Path
from typing import Any

import pytest

from tests.support.helpers import TARGET

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
        return f"the package index is unreachable ({url}: {error}); installing needs it"
    return None


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"
    shutil.copytree(ROOT, source, ignore=LEFTOVERS)
    run([sys.executable, "-m", "pip", "wheel", source, "--no-deps", "-w", work / "dist"])
    (built,) = (work / "dist").glob("*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with only the wheel and its dependencies; returns its bin dir."""
    reason = index_unreachable()
    if reason:
        pytest.skip(reason)
    venv = tmp_path_factory.mktemp("venv") / "venv"
    run([sys.executable, "-m", "venv", venv])
    run([venv / "bin" / "python", "-m", "pip", "install", "--quiet", wheel])
    return venv / "bin"


def pyproject() -> dict[str, Any]:
    with (ROOT / "pyproject.toml").open("rb") as handle:
        project: dict[str, Any] = tomllib.load(handle)["project"]
    return project


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
    assert not [n for n in names if n.startswith(("tests/", "demo/", "scripts/"))]
    assert metadata["Name"] == "target-adobe-s3"
    assert metadata["Version"] == project["version"]
    assert metadata["Requires-Python"] == project["requires-python"]
    requires = metadata.get_all("Requires-Dist") or []
    assert any(r.startswith("singer-sdk[msgspec]") for r in requires)
    assert f"Repository, {project['urls']['Repository']}" in metadata.get_all("Project-URL")
    assert "target-adobe-s3 = target_adobe_s3.target:TargetAdobeS3.cli" in entry_points.decode()


def test_installed_wheel_runs_about_and_version(installed: Path, tmp_path: Path) -> None:
    python = installed / "python"
    # Imported from the venv, not from the checkout.
    code = "import target_adobe_s3; print(target_adobe_s3.__file__)"
    where = run([python, "-c", code], cwd=tmp_path)
    assert Path(where.strip()).is_relative_to(installed.parent)

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
    assert package == pyproject()["version"] == about["version"]
    shown = run([installed / "target-adobe-s3", "--version"], cwd=tmp_path).strip()
    assert shown == f"target-adobe-s3 v{package}, Meltano SDK v{sdk}"
