"""Every bad input answered: the corpus in tests/data/bad/ through the real CLI.

Each case is one input file and an entry in tests/data/bad/cases.json giving the exit code,
the exact one-line error and what that line must name. A refused run prints exactly one
ERROR line (no traceback, nothing after it that is not a log line), no STATE on stdout,
uploads nothing and leaves nothing in temp_dir.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from tests.support.helpers import Run, error_lines, objects, run_target

BAD = Path(__file__).parents[1] / "data" / "bad"
MANIFEST = json.loads((BAD / "cases.json").read_text(encoding="utf-8"))
CASES: dict[str, dict[str, Any]] = MANIFEST["cases"]
REFUSED = sorted(name for name, case in CASES.items() if case["exit_code"] != 0)


def _param(name: str, reason_key: str) -> Any:
    reason = CASES[name].get(reason_key)
    marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
    return pytest.param(name, id=name, marks=marks)


def run_case(name: str, config: dict, tmp_path: Path) -> Run:
    return run_target(config, (BAD / f"{name}.jsonl").read_bytes(), tmp_path)


def test_every_file_has_a_case_and_every_case_a_file() -> None:
    files = {path.stem for path in BAD.glob("*.jsonl")}
    assert files == set(CASES)
    for case in CASES.values():
        assert case["exit_code"] == 0 or case["stdout"] == ""  # no STATE from a failed run
        assert (
            case.get("error", "").endswith("No STATE was emitted for undelivered records.")
            or case["exit_code"] == 0
        )


@pytest.mark.parametrize("name", [_param(n, "xfail_outcome") for n in REFUSED])
def test_refused_cleanly(name: str, config: dict, s3: Any, tmp_path: Path, spool_dir: Path) -> None:
    case = CASES[name]
    run = run_case(name, config, tmp_path)
    assert run.returncode == case["exit_code"]
    assert run.stdout == case["stdout"]  # STATE before the bad line is never released
    assert "Traceback" not in run.stderr
    (line,) = error_lines(run.stderr)
    for what in case["mentions"]:
        assert what in line
    assert objects(s3, config["bucket"]) == {}
    assert list(spool_dir.iterdir()) == []


@pytest.mark.parametrize("name", [_param(n, "xfail_message") for n in REFUSED])
def test_exact_message(name: str, config: dict, tmp_path: Path) -> None:
    run = run_case(name, config, tmp_path)
    assert error_lines(run.stderr) == [CASES[name]["error"]]


def test_a_state_before_the_failure_is_not_emitted(config: dict, tmp_path: Path) -> None:
    """Two STATEs arrive, then a bad record: neither STATE reaches stdout."""
    data = (BAD / "state_then_bad_record.jsonl").read_bytes()
    assert data.count(b'"type": "STATE"') >= 2
    run = run_target(config, data, tmp_path)
    assert run.returncode == 1
    assert run.stdout == ""
    assert "bookmarks" not in run.stdout


def test_a_10_mib_field_is_exported_byte_for_byte(
    config: dict, s3: Any, tmp_path: Path, spool_dir: Path
) -> None:
    """A 10 MiB value is not refused: AEP writes values unchanged, and so does the target."""
    case = CASES["huge_field"]
    huge = case["huge"]
    unit = huge["unit"]
    value = unit * math.ceil(huge["bytes"] / len(unit.encode()))
    assert len(value.encode()) >= 10 * 1024 * 1024
    template = (BAD / "huge_field.jsonl").read_bytes()
    data = template.replace(huge["placeholder"].encode(), value.encode())
    run = run_target(config, data, tmp_path)
    assert run.returncode == case["exit_code"], run.stderr
    assert run.stdout == case["stdout"]
    found = objects(s3, config["bucket"])
    assert list(found) == ["amazon_s3_segmentbig_20240501_061804.csv"]
    (body,) = found.values()
    assert body == b"segment_id\tnote\nbig\t" + value.encode() + b"\n"
    assert list(spool_dir.iterdir()) == []
