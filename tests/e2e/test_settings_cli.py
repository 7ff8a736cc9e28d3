"""Settings through the CLI: every bad setting is one line naming it, before input is read."""

from __future__ import annotations

from pathlib import Path

from tests.support.helpers import run_with_stdin_open


def test_cli_reports_every_bad_setting_on_one_line_each(config: dict, tmp_path: Path) -> None:
    config.update(
        bucket="Acme\nAudiences",
        folder_path="exports/my list/%SEGMENT_NAME%",
        file_name_template="%SEGMENT_ID%/%FOO%",
        region="us_east_1",
        endpoint_url=config["endpoint_url"].replace("http://", "http://user:hunter2@"),
        aws_profile="prod",
        export_time="soon",
    )
    run = run_with_stdin_open(config, tmp_path)  # nothing is read from stdin
    assert run.returncode == 1
    assert run.stdout == ""
    assert "Traceback" not in run.stderr
    assert "hunter2" not in run.stderr
    errors = [
        line.split(" | ", 3)[3].removeprefix("Config validation failed: ")
        for line in run.stderr.splitlines()
        if "| ERROR" in line
    ]
    assert all(" | " in line for line in run.stderr.splitlines() if line.strip())  # log lines only
    named = [line.split(":")[0].split(" ")[0] for line in errors]
    for setting in (
        "bucket",
        "folder_path",
        "file_name_template",
        "export_time",
        "aws_profile",
        "region",
        "endpoint_url",
    ):
        assert setting in named, run.stderr
