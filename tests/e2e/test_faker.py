"""`fake` in stream maps: the faker extra makes it work; without faker, one line names the extra.

The SDK hands map expressions a `fake` (a Faker seeded from `faker_config`) only when it finds
the faker package; without it every record failed with "Failed to evaluate simpleeval
expressions". The target now refuses such a config before reading input.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.support.helpers import (
    MEMBER_SCHEMA,
    Run,
    error_lines,
    objects,
    record_message,
    run_target,
    schema_message,
    singer_text,
    write_config,
)

SENT = [f"member{i}@input.test" for i in range(6)]
MESSAGES = [
    schema_message("members", MEMBER_SCHEMA),
    *(record_message("members", {"segment_id": "s1", "email": email}) for email in SENT),
]
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$")
EXTRA = "pip install 'target-adobe-s3[faker]'"


def faked_emails(config: dict[str, Any], seed: int, tmp_path: Path, s3: Any) -> list[str]:
    """Export MESSAGES with `email` replaced by `fake.email()`; the file's email column."""
    config = {
        **config,
        "stream_maps": {"members": {"email": "fake.email()"}},
        "faker_config": {"seed": seed, "locale": "en_US"},
    }
    run = run_target(config, MESSAGES, tmp_path)
    assert run.returncode == 0, run.stderr
    found = objects(s3, config["bucket"])
    (data,) = found.values()
    for key in found:
        s3.delete_object(Bucket=config["bucket"], Key=key)
    header, *lines = data.decode().splitlines()
    column = header.split("\t").index("email")
    return [line.split("\t")[column] for line in lines]


def test_fake_email_fills_the_column_deterministically_with_a_seed(
    config: dict[str, Any], s3: Any, tmp_path: Path
) -> None:
    first = faked_emails(config, 7, tmp_path, s3)
    assert len(first) == len(SENT)
    assert all(EMAIL.match(value) for value in first), first
    assert not set(first) & set(SENT)  # every value came from faker, none from the input
    assert faked_emails(config, 7, tmp_path, s3) == first  # same seed, same values
    assert faked_emails(config, 8, tmp_path, s3) != first  # the seed is what decides


BLOCK_FAKER = (
    "import sys; sys.modules['faker'] = None; "  # find_spec('faker') is None, import fails
    "from target_adobe_s3.target import TargetAdobeS3; TargetAdobeS3.cli()"
)


def run_without_faker(config: dict[str, Any], tmp_path: Path, stdin: str | None = None) -> Run:
    """The CLI in a Python that cannot import faker; with no `stdin`, its stdin is left open."""
    command = [sys.executable, "-c", BLOCK_FAKER, "--config", str(write_config(config, tmp_path))]
    with subprocess.Popen(
        command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    ) as process:
        try:
            if stdin is None:
                process.wait(timeout=60)  # stdin never written nor closed: it must not wait
                stdout, stderr = process.communicate()
            else:
                stdout, stderr = process.communicate(stdin.encode(), timeout=120)
        finally:
            process.kill()
    return Run(process.returncode, stdout.decode(), stderr.decode())


def test_without_faker_a_fake_expression_is_one_line_naming_the_extra(
    config: dict[str, Any], s3: Any, tmp_path: Path
) -> None:
    config["stream_maps"] = {"members": {"email": "fake.email()", "__filter__": "True"}}
    run = run_without_faker(config, tmp_path)
    assert run.returncode != 0
    assert run.stdout == ""  # no STATE
    assert "Traceback" not in run.stderr
    (line,) = error_lines(run.stderr)
    assert line.endswith(
        "stream_maps: an expression uses `fake`, which needs the faker package "
        f"(not installed); install it: {EXTRA}"
    ), line
    assert objects(s3, config["bucket"]) == {}


def test_without_faker_faker_config_alone_names_the_extra(
    config: dict[str, Any], tmp_path: Path
) -> None:
    config["faker_config"] = {"seed": 1}
    run = run_without_faker(config, tmp_path)
    assert run.returncode != 0
    assert run.stdout == ""
    (line,) = error_lines(run.stderr)
    assert "faker_config: it configures `fake`" in line
    assert line.endswith(EXTRA), line


def test_without_faker_maps_that_do_not_fake_still_run(
    config: dict[str, Any], s3: Any, tmp_path: Path
) -> None:
    """Only `fake.` calls need faker: other expressions (a field named fake_email too) run."""
    schema = {**MEMBER_SCHEMA, "properties": {**MEMBER_SCHEMA["properties"]}}
    schema["properties"]["fake_email"] = {"type": "string"}
    messages = [
        schema_message("members", schema),
        record_message("members", {"segment_id": "s1", "email": "a@b.test", "fake_email": "x"}),
    ]
    config["stream_maps"] = {"members": {"email": "email.upper() + fake_email"}}
    run = run_without_faker(config, tmp_path, singer_text(messages))
    assert run.returncode == 0, run.stderr
    (data,) = objects(s3, config["bucket"]).values()
    header, row = data.decode().splitlines()
    assert dict(zip(header.split("\t"), row.split("\t"), strict=True))["email"] == "A@B.TESTx"
