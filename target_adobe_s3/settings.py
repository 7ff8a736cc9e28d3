"""The settings' checks, run before any input is read, and the checked Settings."""

from __future__ import annotations

import difflib
import os
import re
import uuid
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from target_adobe_s3.formats.dialect import CsvDialect, DialectError
from target_adobe_s3.naming.macros import RunContext, Template, parse_export_time
from target_adobe_s3.naming.safety import (
    MacroError,
    check_folder_path,
    check_plain_value,
    check_segment_length,
)
from target_adobe_s3.rows.columns import parse_fields
from target_adobe_s3.s3.client import auth_problems
from target_adobe_s3.schema import DEFAULT_FILE_NAME

if TYPE_CHECKING:
    from target_adobe_s3.openpgp import Recipient

_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_IP_RE = re.compile(r"^\d{1,3}(\.\d{1,3}){3}$")
_BUCKET_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_BUCKET_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")


def bucket_problem(name: str) -> str | None:
    """Why `name` breaks S3's bucket naming rules, or None when it is valid."""
    if not _BUCKET_RE.fullmatch(name):
        return (
            "must be 3-63 characters of lowercase letters, digits, '.' and '-', "
            "starting and ending with a letter or digit"
        )
    if ".." in name:
        return "must not contain two adjacent periods"
    if _IP_RE.match(name):
        return "must not be formatted as an IP address"
    if name.startswith(_BUCKET_PREFIXES) or name.endswith(_BUCKET_SUFFIXES):
        return "uses a prefix or suffix that S3 reserves"
    return None


ENV_PREFIX = "TARGET_ADOBE_S3_"
"""Settings read from the environment (`--config ENV`) are TARGET_ADOBE_S3_<NAME>."""
_PLAIN_NAME_RE = re.compile(r"[A-Za-z0-9_.-]+")
_NOT_SETTINGS = frozenset({"", "loglevel"})  # TARGET_ADOBE_S3_LOGLEVEL: the SDK's log level


def closest_setting(name: str, known: Collection[str]) -> str | None:
    """The known setting `name` most likely meant (case, `-` for `_`, a typo), if any."""
    normal = name.strip().lower().replace("-", "_").replace(" ", "_")
    if normal in known:
        return normal
    found = difflib.get_close_matches(normal, sorted(known), n=1)
    return found[0] if found else None


def unknown_settings(config: Mapping[str, Any], known: Collection[str]) -> list[str]:
    """One line for each name in `config` that is not a setting, with the closest one.

    A misspelt setting would otherwise be ignored: `pgp_public_kye` would upload every
    file unencrypted.
    """
    problems = []
    for name in config:
        if name in known:
            continue
        label = name if _PLAIN_NAME_RE.fullmatch(name) else repr(name)
        closest = closest_setting(name, known)
        hint = f"did you mean {closest}?" if closest else "see target-adobe-s3 --about"
        problems.append(f"{label}: unknown setting; {hint}")
    return problems


def unknown_env_settings(environ: Mapping[str, str], known: Collection[str]) -> list[str]:
    """One line for each TARGET_ADOBE_S3_<NAME> variable that looks like a misspelt setting.

    Only close misspellings count: other tools share the prefix (the SDK's LOGLEVEL,
    Meltano's TARGET_ADOBE_S3__<EXTRA>), and the SDK reads known names only.
    """
    problems = []
    for variable in sorted(environ):
        if not variable.startswith(ENV_PREFIX):
            continue
        name = variable[len(ENV_PREFIX) :].lower()
        if name in known or name.startswith("_") or name in _NOT_SETTINGS:
            continue
        found = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.8)
        if found:
            expected = ENV_PREFIX + found[0].upper()
            problems.append(f"{variable}: unknown setting; did you mean {expected}?")
    return problems


def check_file_name(template: str) -> None:
    """A file name template is one path segment: no slash, backslash or control characters.

    Raises:
        MacroError: the template would put files in sub-folders or hold control characters.
    """
    try:
        check_plain_value(template)
    except MacroError as exc:
        raise MacroError(f"{exc}; put folders in folder_path") from None
    check_segment_length(template)


@dataclass(frozen=True)
class Settings:
    """The checked settings of one run."""

    bucket: str
    folder: Template
    file_name: Template
    run: RunContext
    dialect: CsvDialect
    fields: list[tuple[str, str | None]]
    segment_id_field: str
    segment_name_field: str
    segment_names: Mapping[str, str]
    temp_dir: str | None
    segment_status_field: str = "segment_status"
    membership_field: str = "segmentMembership"
    export_mode: str = "full"
    qualification_time_field: str = "last_qualification_time"
    mandatory_fields: tuple[str, ...] = ()
    dedup_keys: tuple[str, ...] = ()
    file_type: str = "csv"
    compression: str = "none"
    recipient: Recipient | None = None
    max_rows_per_file: int = 5_000_000
    dedup_memory_mb: int = 2
    include_manifest: bool = False
    export_empty_files: bool = False
    formula_escape: bool = False
    upload_concurrency: int = 4

    @classmethod
    def from_config(
        cls,
        config: Mapping[str, Any],
        known: Collection[str] | None = None,
        *,
        from_env: bool = False,
    ) -> tuple[Settings | None, list[str]]:
        """Check every setting; returns the settings or the list of problems.

        Each problem is one line that starts with the setting's name. `known`: every
        setting's name (the SDK's built-in ones too); when given, any other name is a
        problem, as is a TARGET_ADOBE_S3_<NAME> variable close to a setting's name when
        `from_env` (settings were read from the environment).
        """
        errors: list[str] = []
        if known is not None:
            errors.extend(unknown_settings(config, known))
            if from_env:
                errors.extend(unknown_env_settings(os.environ, known))

        def check(setting: str, fn: Any, *args: Any) -> Any:
            try:
                return fn(*args)
            except (MacroError, DialectError, ValueError) as exc:
                message = str(exc)
                errors.append(message if message.startswith(setting) else f"{setting}: {message}")
                return None

        bucket = str(config.get("bucket", ""))
        if problem := bucket_problem(bucket):
            errors.append(f"bucket: {bucket!r} {problem}")
        folder_text = config.get("folder_path") or ""
        check("folder_path", check_folder_path, folder_text)
        folder = check("folder_path", Template.parse, folder_text)
        name_text = config.get("file_name_template") or DEFAULT_FILE_NAME
        check("file_name_template", check_file_name, name_text)
        file_name = check("file_name_template", Template.parse, name_text)
        for setting in (
            "destination_name",
            "custom_text",
            "organization_name",
            "sandbox_name",
            "run_id",
        ):
            if config.get(setting):
                check(setting, check_plain_value, str(config[setting]))
        destination = config.get("destination_name") or "amazon_s3"
        export_time = (
            check("export_time", parse_export_time, config["export_time"])
            if config.get("export_time")
            else datetime.now(timezone.utc)
        )
        dialect = check(
            "csv",
            CsvDialect.from_settings,
            config.get("csv_delimiter", "\t"),
            config.get("csv_quote", '"'),
            config.get("csv_escape", "\\"),
            config.get("csv_null_value", ""),
            config.get("csv_empty_value", ""),
            config.get("csv_header", True),
            config.get("csv_quote_all", False),
        )
        fields = check("fields", parse_fields, config.get("fields") or [])
        mandatory = tuple(config.get("mandatory_fields") or ())
        dedup_keys = tuple(config.get("deduplication_keys") or ())
        if len(dedup_keys) > 2:
            errors.append(
                f"deduplication_keys: at most two keys are allowed, got {len(dedup_keys)}"
            )
        for setting, paths in (("mandatory_fields", mandatory), ("deduplication_keys", dedup_keys)):
            for path in paths:
                if not str(path).strip() or any(not part for part in str(path).split(".")):
                    errors.append(f"{setting}: '{path}' is not a source path like 'a' or 'a.b'")
        max_rows = config.get("max_rows_per_file", 5_000_000)
        dedup_memory = config.get("dedup_memory_mb", 2)
        attempts = config.get("retry_max_attempts", 5)
        for setting, value in (
            ("max_rows_per_file", max_rows),
            ("dedup_memory_mb", dedup_memory),
            ("retry_max_attempts", attempts),
            ("request_timeout", config.get("request_timeout", 60)),
            ("upload_concurrency", config.get("upload_concurrency", 4)),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                errors.append(f"{setting}: must be a whole number of at least 1, got {value!r}")
        errors.extend(auth_problems(config))
        recipient = None
        if config.get("pgp_public_key"):
            from target_adobe_s3.openpgp import load_recipient  # noqa: PLC0415 (only when set)

            recipient = check("pgp_public_key", load_recipient, config["pgp_public_key"])
        if errors:
            return None, errors
        run = RunContext(
            export_time=export_time,
            run_id=str(config.get("run_id") or uuid.uuid4()),
            destination_name=destination,
            custom_text=config.get("custom_text") or "",
            organization_name=config.get("organization_name") or "",
            sandbox_name=config.get("sandbox_name") or "",
        )
        return cls(
            bucket=bucket,
            folder=folder,
            file_name=file_name,
            run=run,
            dialect=dialect,
            fields=fields,
            segment_id_field=config.get("segment_id_field") or "segment_id",
            segment_name_field=config.get("segment_name_field") or "segment_name",
            segment_names=dict(config.get("segment_names") or {}),
            temp_dir=config.get("temp_dir") or None,
            segment_status_field=config.get("segment_status_field") or "segment_status",
            membership_field=config.get("segment_membership_field") or "segmentMembership",
            export_mode=config.get("export_mode") or "full",
            qualification_time_field=(
                config.get("qualification_time_field") or "last_qualification_time"
            ),
            mandatory_fields=mandatory,
            dedup_keys=dedup_keys,
            file_type=config.get("file_type") or "csv",
            compression=config.get("compression") or "none",
            recipient=recipient,
            max_rows_per_file=int(max_rows),
            dedup_memory_mb=int(dedup_memory),
            include_manifest=bool(config.get("include_manifest", False)),
            export_empty_files=bool(config.get("export_empty_files", False)),
            formula_escape=bool(config.get("csv_formula_escape", False)),
            upload_concurrency=int(config.get("upload_concurrency") or 4),
        ), []
