"""Macros through the CLI: a wrong macro, or no %SEGMENT_ID%, stops the run before input."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.support.helpers import error_lines, objects, run_with_stdin_open

NO_SEGMENT_ID = (
    "file_name_template: neither it nor folder_path has %SEGMENT_ID%, which AEP puts in every "
    "file name; use e.g. '%SEGMENT_ID%_%SEGMENT_NAME%_%DATETIME%'"
)


def test_a_macro_in_the_wrong_case_stops_the_run_before_input_is_read(
    config: dict[str, Any], s3: Any, tmp_path: Path
) -> None:
    config["folder_path"] = "exports/%segment_name%"
    config["file_name_template"] = "%SEGMENT_ID%_%Datetime%"
    run = run_with_stdin_open(config, tmp_path)
    assert run.returncode == 1
    assert run.stdout == ""
    assert "Traceback" not in run.stderr
    errors = [
        line.split(" | ", 3)[3].removeprefix("Config validation failed: ")
        for line in run.stderr.splitlines()
        if "| ERROR" in line
    ]
    assert errors == [
        "folder_path: unknown macro %segment_name%; did you mean %SEGMENT_NAME%? "
        "(macro names are upper case)",
        "file_name_template: unknown macro %Datetime%; did you mean %DATETIME%? "
        "(macro names are upper case)",
    ]
    assert objects(s3, config["bucket"]) == {}


@pytest.mark.parametrize("check", [False, True], ids=["run", "check"])
def test_no_segment_id_in_either_template_stops_before_input(
    config: dict[str, Any], s3: Any, tmp_path: Path, check: bool
) -> None:
    config["folder_path"] = "exports/%SEGMENT_NAME%"
    config["file_name_template"] = "%SEGMENT_NAME%_%DATETIME%"
    run = run_with_stdin_open(config, tmp_path, *(["--check"] if check else []))
    assert run.returncode == 1
    assert run.stdout == ""  # no STATE, no check lines
    assert "Traceback" not in run.stderr
    assert error_lines(run.stderr) == [f"Config validation failed: {NO_SEGMENT_ID}"]
    assert objects(s3, config["bucket"]) == {}
