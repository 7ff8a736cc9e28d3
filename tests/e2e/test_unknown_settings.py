"""A setting the target does not know stops the run before any input is read.

A misspelt name would otherwise be ignored: `pgp_public_kye` uploaded every file
unencrypted, `folder-path` and `feilds` put files at the bucket root with every column.
The SDK's built-in settings, and what Meltano passes, stay accepted.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import yaml

from target_adobe_s3.setting_names import ENV_PREFIX
from tests.support.helpers import (
    MEMBER_SCHEMA,
    TARGET,
    Run,
    objects,
    record_message,
    run_target,
    run_with_stdin_open,
    schema_message,
    singer_text,
)

ROOT = Path(__file__).resolve().parents[2]
MESSAGES = [
    schema_message("members", MEMBER_SCHEMA),
    record_message("members", {"segment_id": "s1", "email": "ana@example.com"}),
]


def error_lines(run: Run) -> list[str]:
    """The messages of the ERROR log lines, without the SDK's common prefix."""
    return [
        line.split(" | ", 3)[3].removeprefix("Config validation failed: ")
        for line in run.stderr.splitlines()
        if "| ERROR" in line
    ]


def test_misspelt_settings_stop_the_run_before_input_is_read(
    config: dict[str, Any], s3: Any, tmp_path: Path
) -> None:
    config.update({"pgp_public_kye": "x", "folder-path": "exports", "feilds": ["email"]})
    run = run_with_stdin_open(config, tmp_path)  # nothing is read from stdin
    assert run.returncode == 1
    assert run.stdout == ""
    assert "Traceback" not in run.stderr
    assert error_lines(run) == [
        "pgp_public_kye: unknown setting; did you mean pgp_public_key?",
        "folder-path: unknown setting; did you mean folder_path?",
        "feilds: unknown setting; did you mean fields?",
    ]
    assert objects(s3, config["bucket"]) == {}


def test_check_reports_a_misspelt_setting(config: dict[str, Any], tmp_path: Path) -> None:
    config["pgp_public_kye"] = "x"
    run = run_with_stdin_open(config, tmp_path, "--check")
    assert run.returncode == 1
    assert run.stdout == ""
    assert "pgp_public_kye: unknown setting; did you mean pgp_public_key?" in error_lines(run)


def meltano_config() -> dict[str, Any]:
    """What Meltano writes for the loader of the repo's meltano.yml when nothing is set:
    every setting with a value (its default), dotted names nested, nulls left out."""
    project = yaml.safe_load((ROOT / "meltano.yml").read_text(encoding="utf-8"))
    (loader,) = [p for p in project["plugins"]["loaders"] if p["name"] == "target-adobe-s3"]
    config: dict[str, Any] = {}
    for setting in loader["settings"]:
        if setting.get("value") is None:
            continue
        *parents, leaf = setting["name"].split(".")
        node = config
        for parent in parents:
            node = node.setdefault(parent, {})
        node[leaf] = setting["value"]
    return config


def test_what_meltano_passes_is_accepted(config: dict[str, Any], s3: Any, tmp_path: Path) -> None:
    passed = {**meltano_config(), **config}
    assert {"file_name_template", "csv_delimiter", "validate_records"} <= set(passed)
    run = run_target(passed, MESSAGES, tmp_path)
    assert run.returncode == 0, run.stderr
    assert len(objects(s3, config["bucket"])) == 1


def test_the_sdk_s_settings_are_accepted_in_a_run(
    config: dict[str, Any], s3: Any, tmp_path: Path
) -> None:
    config.update(
        stream_maps={"members": {"note": "'x'"}},
        stream_map_config={},
        validate_records=True,
        add_record_metadata=False,
        flattening_enabled=False,
    )
    run = run_target(config, MESSAGES, tmp_path)
    assert run.returncode == 0, run.stderr
    (body,) = objects(s3, config["bucket"]).values()
    assert body.decode().splitlines()[0].split("\t")[-1] == "note"


# --- `--config ENV` -----------------------------------------------------------------------


def env_run(config: dict[str, Any], extra: dict[str, str]) -> Run:
    env = {**os.environ, **extra}
    for name, value in config.items():
        env[ENV_PREFIX + name.upper()] = str(value)
    done = subprocess.run(
        [TARGET, "--config", "ENV"],
        input=singer_text(MESSAGES).encode(),
        capture_output=True,
        timeout=120,
        check=False,
        env=env,
    )
    return Run(done.returncode, done.stdout.decode(), done.stderr.decode())


def test_a_misspelt_environment_variable_stops_the_run(config: dict[str, Any], s3: Any) -> None:
    run = env_run(config, {"TARGET_ADOBE_S3_PGP_PUBLIC_KYE": "x"})
    assert run.returncode == 1
    assert run.stdout == ""
    assert error_lines(run) == [
        "TARGET_ADOBE_S3_PGP_PUBLIC_KYE: unknown setting; "
        "did you mean TARGET_ADOBE_S3_PGP_PUBLIC_KEY?"
    ]
    assert objects(s3, config["bucket"]) == {}


def test_other_variables_with_the_prefix_are_left_alone(config: dict[str, Any], s3: Any) -> None:
    """The prefix is shared: the SDK's log level, Meltano's extras, tools' own variables."""
    others = {
        "TARGET_ADOBE_S3_LOGLEVEL": "INFO",
        "TARGET_ADOBE_S3__INCREMENTAL_EXPORT_MODE": "incremental",
        "TARGET_ADOBE_S3_TEST_CACHE": "/tmp/cache",
    }
    run = env_run(config, others)
    assert run.returncode == 0, run.stderr
    assert len(objects(s3, config["bucket"])) == 1
