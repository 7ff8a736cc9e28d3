"""The CLI's edges: config files, stdin and credentials answered in one line, never a traceback.

A config file that is missing or not a JSON object, a closed stdin, missing credentials and
settings left in TARGET_ADOBE_S3_* variables without `--config ENV` each end in one ERROR
line naming the problem and the fix, exit code 1, nothing on stdout. Empty input and a
terminal on stdin are not errors: they are said in the log.
"""

from __future__ import annotations

import json
import os
import pty
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from tests.support.helpers import (
    LOG_LINE,
    MEMBER_SCHEMA,
    TARGET,
    Run,
    error_lines,
    objects,
    record_message,
    run_target,
    schema_message,
    singer_text,
    state_message,
    write_config,
)

STATE_TAIL = "No STATE was emitted for undelivered records."
WAITING = (
    "Waiting for Singer messages on stdin, which is a terminal: pipe a tap's output in "
    "(tap | target-adobe-s3 --config config.json), or end the input with Ctrl-D"
)


def run_cli(
    args: list[str],
    *,
    data: bytes = b"",
    env: dict[str, str] | None = None,
    timeout: float = 60,
) -> Run:
    """Run the CLI with `args`, `data` on stdin and the environment `env`."""
    done = subprocess.run(
        [TARGET, *args],
        input=data,
        capture_output=True,
        timeout=timeout,
        check=False,
        env=env,
    )
    return Run(done.returncode, done.stdout.decode(), done.stderr.decode())


def log_lines(stderr: str, level: str) -> list[str]:
    """The messages of the log lines of one level."""
    found = []
    for line in stderr.splitlines():
        match = LOG_LINE.match(line)
        if match and match.group(1) == level:
            found.append(match.group(2))
    return found


def assert_refused(run: Run, line: str) -> None:
    """Exit code 1, no STATE, exactly this one ERROR line, no traceback."""
    assert run.returncode == 1, run.stderr
    assert run.stdout == ""
    assert "Traceback" not in run.stderr
    assert error_lines(run.stderr) == [line]


EXAMPLE = '{"bucket": "my-bucket"}'
CONFIG_FILES: dict[str, tuple[bytes | None, str]] = {
    "yaml": (
        b"bucket: my-bucket\nregion: eu-west-1\n",
        "is not JSON (Expecting value at line 1, column 1); write the settings as a JSON "
        f"object like {EXAMPLE} (YAML is not read)",
    ),
    "broken_json": (
        b'{"bucket": "my-bucket",\n}',
        "is not JSON (Illegal trailing comma before end of object at line 1, column 23); "
        f"write the settings as a JSON object like {EXAMPLE} (YAML is not read)",
    ),
    "empty": (b"", f"is empty; write the settings as a JSON object like {EXAMPLE}"),
    "array": (
        b'[{"bucket": "my-bucket"}]',
        f"holds a JSON array, not an object; write the settings as a JSON object like {EXAMPLE}",
    ),
    "not_utf8": (b'{"bucket": "\xff"}', "is not UTF-8 text; save the settings as UTF-8 JSON"),
    "missing": (None, "was not found; check the path given to --config"),
}


@pytest.mark.parametrize("case", list(CONFIG_FILES))
def test_a_config_file_that_is_not_a_json_object_is_one_line(tmp_path: Path, case: str) -> None:
    content, problem = CONFIG_FILES[case]
    path = tmp_path / "settings.conf"
    if content is not None:
        path.write_bytes(content)
    run = run_cli(["--config", str(path)])
    assert_refused(run, f"Export failed: config file '{path}' {problem}")


def test_a_config_path_that_is_a_folder_is_one_line(tmp_path: Path) -> None:
    run = run_cli(["--config", str(tmp_path)])
    line = (
        f"Export failed: config file '{tmp_path}' is a folder; give --config the path of a "
        "JSON file"
    )
    assert_refused(run, line)


def test_a_bad_config_file_is_one_line_for_check_too(tmp_path: Path) -> None:
    run = run_cli(["--config", str(tmp_path / "nope.json"), "--check"])
    line = (
        f"Export failed: config file '{tmp_path / 'nope.json'}' was not found; check the path "
        "given to --config"
    )
    assert_refused(run, line)


def test_closed_stdin_is_one_line(config: dict, s3: Any, tmp_path: Path, spool_dir: Path) -> None:
    """fd 0 not open at all (`<&-`): Python has no sys.stdin."""
    path = write_config(config, tmp_path)
    done = subprocess.run(
        ["sh", "-c", 'exec "$0" --config "$1" <&-', TARGET, str(path)],
        capture_output=True,
        timeout=60,
        check=False,
    )
    run = Run(done.returncode, done.stdout.decode(), done.stderr.decode())
    assert_refused(
        run,
        "Export failed: stdin is closed, so there is no input to read; pipe Singer messages "
        "in (tap | target-adobe-s3 --config config.json) or give --input FILE. " + STATE_TAIL,
    )
    assert objects(s3, config["bucket"]) == {}
    assert list(spool_dir.iterdir()) == []


def test_empty_input_exits_0_with_a_warning(
    config: dict, s3: Any, tmp_path: Path, spool_dir: Path
) -> None:
    run = run_target(config, b"", tmp_path)
    assert run.returncode == 0, run.stderr
    assert run.stdout == ""
    assert error_lines(run.stderr) == []
    assert log_lines(run.stderr, "WARNING") == [
        "The input was empty (no Singer messages): nothing was exported. Check that the tap "
        "ran and that its output is piped into target-adobe-s3"
    ]
    assert objects(s3, config["bucket"]) == {}
    assert list(spool_dir.iterdir()) == []
    assert WAITING not in run.stderr  # stdin was a pipe


def test_input_without_records_exits_0_with_a_warning(
    config: dict, s3: Any, tmp_path: Path
) -> None:
    messages = [schema_message("m", MEMBER_SCHEMA), state_message({"n": 1})]
    run = run_target(config, messages, tmp_path)
    assert run.returncode == 0, run.stderr
    assert [json.loads(line) for line in run.stdout_lines] == [{"n": 1}]  # STATE still flows
    assert log_lines(run.stderr, "WARNING") == [
        "The input held no RECORD messages (1 SCHEMA, 1 STATE): nothing was exported"
    ]
    assert objects(s3, config["bucket"]) == {}

    messages.insert(1, record_message("m", {"segment_id": "s"}))
    run = run_target(config, messages, tmp_path)
    assert run.returncode == 0, run.stderr
    assert log_lines(run.stderr, "WARNING") == []  # a record: no warning
    assert list(objects(s3, config["bucket"])) == ["amazon_s3_segments_20240501_061804.csv"]


def test_a_terminal_on_stdin_is_told_the_target_waits(
    config: dict, s3: Any, tmp_path: Path
) -> None:
    master, slave = pty.openpty()
    try:
        process = subprocess.Popen(
            [TARGET, "--config", str(write_config(config, tmp_path))],
            stdin=slave,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
    finally:
        os.close(slave)
    try:
        time.sleep(0.5)
        os.write(master, singer_text([schema_message("m", MEMBER_SCHEMA)]).encode())
        os.write(master, b"\x04")  # Ctrl-D at the start of a line: end of input
        stdout, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
        os.close(master)
    text = stderr.decode()
    assert process.returncode == 0, text
    assert stdout == b""
    assert WAITING in log_lines(text, "INFO")
    assert log_lines(text, "WARNING") == [
        "The input held no RECORD messages (1 SCHEMA): nothing was exported"
    ]
    assert objects(s3, config["bucket"]) == {}


def _env_without_aws() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "TARGET_ADOBE_S3_"))}
    env["AWS_CONFIG_FILE"] = "/nonexistent/aws-config"
    env["AWS_SHARED_CREDENTIALS_FILE"] = "/nonexistent/aws-credentials"
    env["AWS_EC2_METADATA_DISABLED"] = "true"
    return env


def test_no_credentials_anywhere_names_the_settings(
    config: dict, s3: Any, tmp_path: Path, spool_dir: Path
) -> None:
    del config["aws_access_key_id"], config["aws_secret_access_key"]
    path = write_config(config, tmp_path)
    run = run_cli(["--config", str(path)], env=_env_without_aws())
    assert_refused(
        run,
        f"Export failed: checking bucket '{config['bucket']}' failed: no AWS credentials found "
        "(Unable to locate credentials); set aws_access_key_id and aws_secret_access_key, or "
        "aws_profile (role_arn then assumes a role with them), or AWS_ACCESS_KEY_ID and "
        "AWS_SECRET_ACCESS_KEY in the environment",
    )
    assert objects(s3, config["bucket"]) == {}
    assert list(spool_dir.iterdir()) == []


def _settings_as_env(config: dict) -> dict[str, str]:
    env = _env_without_aws()
    for name, value in config.items():
        env[f"TARGET_ADOBE_S3_{name.upper()}"] = str(value)
    return env


def test_env_settings_without_config_env_say_how_they_are_read(config: dict, s3: Any) -> None:
    env = _settings_as_env(config)
    messages = [schema_message("m", MEMBER_SCHEMA), record_message("m", {"segment_id": "s"})]
    data = singer_text(messages).encode()
    run = run_cli([], data=data, env=env)
    assert_refused(
        run,
        "Config validation failed: 'bucket' is a required property; TARGET_ADOBE_S3_* "
        "environment variables are set, but they are read only with `--config ENV`: add it",
    )
    assert objects(s3, config["bucket"]) == {}

    run = run_cli(["--config", "ENV"], data=data, env=env)  # the fix the message gives
    assert run.returncode == 0, run.stderr
    assert list(objects(s3, config["bucket"])) == ["amazon_s3_segments_20240501_061804.csv"]


def test_no_bucket_anywhere_says_where_settings_go(tmp_path: Path) -> None:
    run = run_cli([], env=_env_without_aws())
    assert_refused(
        run,
        "Config validation failed: 'bucket' is a required property; set it in a --config "
        "file, or as TARGET_ADOBE_S3_BUCKET with `--config ENV`",
    )
    run = run_cli(["--config", "ENV"], env=_env_without_aws())
    assert_refused(
        run,
        "Config validation failed: 'bucket' is a required property; set it in a --config "
        "file or as TARGET_ADOBE_S3_BUCKET",
    )
