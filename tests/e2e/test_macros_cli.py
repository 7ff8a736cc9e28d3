"""Macros through the CLI: a macro in the wrong case stops the run before input is read."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.support.helpers import objects, run_with_stdin_open


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
