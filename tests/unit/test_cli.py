"""The command line's edges (target_adobe_s3.cli): config files, settings lines, last lines."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest
from singer_sdk.exceptions import InvalidRecord

from target_adobe_s3.cli import (
    config_error_lines,
    failure_line,
    is_disk_error,
    nothing_exported,
    read_config_file,
)
from target_adobe_s3.errors import DeliveryError, InputError, TargetError

EXAMPLE = '{"bucket": "my-bucket"}'
WRITE = f"write the settings as a JSON object like {EXAMPLE}"
TAIL = "No STATE was emitted for undelivered records."


class FakeSpool:
    """A spool directory and the line a disk error while spooling becomes."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def failure(self, exc: OSError) -> str:
        return f"writing temp files failed: {exc.strerror}"


# --- config files -----------------------------------------------------------------------------


def test_a_config_file_is_read(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text('{"bucket": "my-bucket", "csv_header": false}', encoding="utf-8")
    assert read_config_file(str(path)) == {"bucket": "my-bucket", "csv_header": False}


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("", f"is empty; {WRITE}"),
        ("  \n", f"is empty; {WRITE}"),
        (
            "null",
            f"holds a JSON null, not an object; {WRITE}",
        ),
        (
            '"b"',
            f"holds a JSON string, not an object; {WRITE}",
        ),
        (
            "7",
            f"holds a JSON integer, not an object; {WRITE}",
        ),
        (
            "bucket: b",
            "is not JSON (Expecting value at line 1, column 1); write the settings as a JSON "
            f"object like {EXAMPLE} (YAML is not read)",
        ),
    ],
)
def test_a_config_file_that_is_not_an_object_is_one_line(
    tmp_path: Path, content: str, problem: str
) -> None:
    path = tmp_path / "config.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(TargetError) as caught:
        read_config_file(str(path))
    assert str(caught.value) == f"config file '{path}' {problem}"


def test_a_missing_config_file_names_the_path(tmp_path: Path) -> None:
    path = tmp_path / "nope.json"
    with pytest.raises(TargetError) as caught:
        read_config_file(str(path))
    assert str(caught.value) == (
        f"config file '{path}' was not found; check the path given to --config"
    )


# --- settings problems --------------------------------------------------------------------------


def test_settings_problems_are_one_line_each() -> None:
    errors = ["bucket: 'B' must be 3-63 characters", "region: 'x' is not an AWS region name"]
    assert config_error_lines(errors, parse_env=False, environ={}) == [
        "Config validation failed: bucket: 'B' must be 3-63 characters",
        "Config validation failed: region: 'x' is not an AWS region name",
    ]


@pytest.mark.parametrize(
    ("parse_env", "environ", "hint"),
    [
        (False, {}, "set it in a --config file, or as TARGET_ADOBE_S3_BUCKET with `--config ENV`"),
        (True, {}, "set it in a --config file or as TARGET_ADOBE_S3_BUCKET"),
        (
            False,
            {"TARGET_ADOBE_S3_REGION": "eu-west-1"},
            "TARGET_ADOBE_S3_* environment variables are set, but they are read only with "
            "`--config ENV`: add it",
        ),
    ],
)
def test_a_missing_setting_says_where_settings_are_read(
    parse_env: bool, environ: dict[str, str], hint: str
) -> None:
    lines = config_error_lines(
        ["'bucket' is a required property"], parse_env=parse_env, environ=environ
    )
    assert lines == [f"Config validation failed: 'bucket' is a required property; {hint}"]


# --- what a run ends by saying --------------------------------------------------------------------


def test_nothing_exported_warns_only_when_no_record_came() -> None:
    assert nothing_exported({"RECORD": 3}, 0) is None
    assert nothing_exported({}, 1) is None
    assert nothing_exported({}, 0) == (
        "The input was empty (no Singer messages): nothing was exported. Check that the "
        "tap ran and that its output is piped into target-adobe-s3"
    )
    assert nothing_exported({"STATE": 2, "SCHEMA": 1, "RECORD": 0}, 0) == (
        "The input held no RECORD messages (1 SCHEMA, 2 STATE): nothing was exported"
    )


def test_an_input_error_names_its_line(tmp_path: Path) -> None:
    line = failure_line(
        InputError("not valid JSON (the line is cut short)"), 7, FakeSpool(tmp_path)
    )
    assert line == f"Export failed at input line 7: not valid JSON (the line is cut short). {TAIL}"


def test_an_sdk_error_names_its_line_and_a_delivery_error_does_not(tmp_path: Path) -> None:
    spool = FakeSpool(tmp_path)
    assert failure_line(InvalidRecord("bad", {}), 3, spool).startswith(
        "Export failed at input line 3: "
    )
    assert failure_line(DeliveryError("uploading s3://b/k failed: 500."), 3, spool) == (
        f"Export failed: uploading s3://b/k failed: 500. {TAIL}"
    )
    assert failure_line(InputError("x"), 0, spool) == f"Export failed: x. {TAIL}"


def test_an_ellipsis_is_kept(tmp_path: Path) -> None:
    line = failure_line(TargetError("folder 'abc'..."), 0, FakeSpool(tmp_path))
    assert line == f"Export failed: folder 'abc'.... {TAIL}"


def test_a_disk_error_under_temp_dir_is_said_by_the_spool(tmp_path: Path) -> None:
    spool = FakeSpool(tmp_path)
    full = OSError(errno.ENOSPC, "No space left on device")
    denied = OSError(errno.EACCES, "Permission denied", str(tmp_path / "part-000001"))
    elsewhere = OSError(errno.EACCES, "Permission denied", "/etc/passwd")
    assert is_disk_error(full, spool)
    assert is_disk_error(denied, spool)
    assert not is_disk_error(elsewhere, spool)
    assert failure_line(full, 0, spool) == (
        f"Export failed: writing temp files failed: No space left on device. {TAIL}"
    )
    assert failure_line(elsewhere, 0, spool) == (
        f"Export failed: [Errno 13] Permission denied: '/etc/passwd'. {TAIL}"
    )
