"""The target: settings, one sink per stream, and STATE held until files are delivered."""

from __future__ import annotations

import errno
import os
import re
import signal
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, cast

import click
from singer_sdk.exceptions import ConfigValidationError, SingerSDKError
from singer_sdk.helpers._util import load_json
from singer_sdk.plugin_base import _ConfigInput
from singer_sdk.singerlib.exceptions import SingerError
from singer_sdk.target_base import Target

from target_adobe_s3.errors import InputError, TargetError
from target_adobe_s3.export import Delivered, Export
from target_adobe_s3.intake.reader import LineReader
from target_adobe_s3.jsontypes import json_type_name
from target_adobe_s3.s3.client import check_bucket, make_client, object_options
from target_adobe_s3.schema import CONFIG_SCHEMA
from target_adobe_s3.settings import Settings
from target_adobe_s3.sinks import FastRecords, SegmentSink
from target_adobe_s3.summary import summary_table

if TYPE_CHECKING:
    from types import FrameType

# Mistakes in the input or the settings, or refusals by S3: one line, no traceback.
USER_ERRORS = (TargetError, SingerError, SingerSDKError)
ENV_PREFIX = "TARGET_ADOBE_S3_"
DISK_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO, errno.EROFS})
"""I/O errors that come from the disk under temp_dir (the only files a run writes)."""
_EXAMPLE = '{"bucket": "my-bucket"}'
WAITING = (
    "Waiting for Singer messages on stdin, which is a terminal: pipe a tap's output in "
    "(tap | target-adobe-s3 --config config.json), or end the input with Ctrl-D"
)


def read_config_file(path: str) -> dict[str, Any]:
    """The settings in one `--config` file, which must hold a JSON object.

    Raises:
        TargetError: the file is missing, unreadable, not JSON or not an object.
    """
    where = f"config file '{path}'"
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TargetError(f"{where} was not found; check the path given to --config") from None
    except IsADirectoryError:
        raise TargetError(f"{where} is a folder; give --config the path of a JSON file") from None
    except UnicodeDecodeError:
        raise TargetError(f"{where} is not UTF-8 text; save the settings as UTF-8 JSON") from None
    except OSError as exc:
        problem = f"{where} cannot be read ({exc.strerror}); check its permissions"
        raise TargetError(problem) from None
    if not text.strip():
        raise TargetError(f"{where} is empty; write the settings as a JSON object like {_EXAMPLE}")
    try:
        config: object = load_json(text)
    except (ValueError, RecursionError) as exc:
        line, column = getattr(exc, "lineno", None), getattr(exc, "colno", None)
        at = f" at line {line}, column {column}" if line else ""
        what = getattr(exc, "msg", "nested too deeply")
        raise TargetError(
            f"{where} is not JSON ({what}{at}); write the settings as a JSON object like "
            f"{_EXAMPLE} (YAML is not read)"
        ) from None
    if not isinstance(config, dict):
        kind = "null" if config is None else json_type_name(config)
        raise TargetError(
            f"{where} holds a JSON {kind}, not an object; write the settings as a JSON object "
            f"like {_EXAMPLE}"
        )
    return config


def config_error_lines(
    errors: Sequence[str], *, parse_env: bool, environ: Mapping[str, str]
) -> list[str]:
    """One line per settings problem; a missing setting also says where settings are read.

    `TARGET_ADOBE_S3_*` variables are read only with `--config ENV`: when they are set
    without it, a missing setting says so.
    """
    in_env = any(name.startswith(ENV_PREFIX) for name in environ)
    lines = []
    for error in errors:
        missing = re.fullmatch(r"'(\w+)' is a required property", error)
        if missing is None:
            lines.append(f"Config validation failed: {error}")
            continue
        variable = ENV_PREFIX + missing.group(1).upper()
        if parse_env:
            hint = f"set it in a --config file or as {variable}"
        elif in_env:
            hint = (
                f"{ENV_PREFIX}* environment variables are set, but they are read only with "
                "`--config ENV`: add it"
            )
        else:
            hint = f"set it in a --config file, or as {variable} with `--config ENV`"
        lines.append(f"Config validation failed: {error}; {hint}")
    return lines


def nothing_exported(counts: Mapping[str, int], files: int) -> str | None:
    """The warning for a run that wrote no file because no records came in, else None."""
    if files or counts.get("RECORD"):
        return None
    if not sum(counts.values()):
        return (
            "The input was empty (no Singer messages): nothing was exported. Check that the "
            "tap ran and that its output is piped into target-adobe-s3"
        )
    seen = ", ".join(f"{count} {kind}" for kind, count in sorted(counts.items()) if count)
    return f"The input held no RECORD messages ({seen}): nothing was exported"


def uses_fast_path(config: Mapping[str, Any]) -> bool:
    """Whether records skip the SDK's record path (unless a feature it owns is set)."""
    return not (
        config.get("schema_validation") == "full"
        or config.get("stream_maps")
        or config.get("flattening_enabled")
        or config.get("add_record_metadata")
    )


class TargetAdobeS3(Target):
    """Exports audience segment members to Amazon S3 as Adobe Experience Platform does."""

    name = "target-adobe-s3"
    config_jsonschema = CONFIG_SCHEMA
    default_sink_class = SegmentSink
    message_reader_class = LineReader

    def __init__(self, **kwargs: Any) -> None:
        """Check every setting and reach the bucket before any input is read.

        Raises:
            ConfigValidationError: a setting is wrong (each message names it).
        """
        super().__init__(**kwargs)  # the SDK's schema check comes first and raises
        known = self.config_jsonschema["properties"]  # ours and the SDK's built-in settings
        from_env = bool(kwargs.get("parse_env_config"))
        settings, problems = Settings.from_config(self.config, known, from_env=from_env)
        if settings is None:
            raise ConfigValidationError("Config validation failed", errors=problems)
        self.settings = settings
        self._held_state: dict | None = None
        self.max_parallelism = 1  # draining does nothing here: no threads for it
        self.fast_path = uses_fast_path(self.config)
        self.fast_streams: dict[str, FastRecords] = {}
        self.message_reader.fast = self.fast_streams  # type: ignore[attr-defined]  # one registry
        client = make_client(self.config)
        check_bucket(client, settings.bucket)
        self.export = Export(
            settings,
            client,
            self.logger,
            object_options=object_options(self.config),
        )
        self.message_reader.progress = self.export.progress  # type: ignore[attr-defined]

    @classmethod
    def append_builtin_config(cls, config_jsonschema: dict) -> None:
        """The SDK's built-in settings, less those that mean nothing for file exports.

        `load_method` (upsert/overwrite) and `batch_size_rows` would be accepted and
        silently ignored: every file is a full write of its segment, rows go straight
        to the spool.
        """
        super().append_builtin_config(config_jsonschema)
        for name in ("load_method", "batch_size_rows"):
            config_jsonschema["properties"].pop(name, None)

    def register_fast(self, stream_name: str, fast: FastRecords) -> None:
        """Send the stream's RECORD lines to `fast` (replacing a sink of an older schema)."""
        if (old := self.fast_streams.get(stream_name)) is not None:
            old.flush()
        self.fast_streams[stream_name] = fast

    def _flush_fast_counts(self) -> None:
        for fast in self.fast_streams.values():
            fast.flush()

    def _write_state_message(self, state: dict) -> None:
        """Hold STATE: the SDK drains mid-run, before our files are uploaded."""
        self._held_state = state

    def process_endofpipe(self) -> None:
        """Upload every segment file, then release the latest STATE."""
        self._flush_fast_counts()  # the SDK only drains sinks that counted records
        super().process_endofpipe()
        try:
            delivered = self.export.deliver()
        finally:
            self.export.close()
        self._log_summary(delivered)
        counts = cast("LineReader", self.message_reader).counts
        if warning := nothing_exported(counts, len(delivered)):
            self.logger.warning("%s", warning)
        if self._held_state is not None:
            super()._write_state_message(self._held_state)

    def _log_summary(self, delivered: list[Delivered]) -> None:
        rows = sum(d.rows for d in delivered)
        size = sum(d.size for d in delivered)
        tally = self.export.tally
        if tally.segments:
            self.logger.info("Run summary:\n%s", summary_table(tally))
        if tally.without_membership:
            self.logger.info(
                "%d records had no segment membership and wrote no row",
                tally.without_membership,
            )
        self.logger.info(
            "Export finished: %d files, %d rows, %d rows skipped, %d bytes in s3://%s",
            len(delivered),
            rows,
            tally.skipped_total(),
            size,
            self.settings.bucket,
        )

    def _handle_termination(self, signum: int, frame: FrameType | None) -> None:
        """A signal is a failure: stop, abort uploads, remove temp files, no STATE."""
        self.logger.error(
            "Stopped by %s before delivery finished; no STATE emitted. Re-run to deliver.",
            signal.Signals(signum).name,
        )
        raise SystemExit(128 + signum)

    def _is_disk_error(self, exc: OSError) -> bool:
        """Whether an I/O error came from the disk under temp_dir."""
        if exc.errno in DISK_ERRNOS:
            return True
        name = exc.filename if isinstance(exc.filename, str) else ""
        return bool(name) and Path(name).is_relative_to(self.export.spool.directory)

    def failure_line(self, exc: BaseException) -> str:
        """The one line that says what went wrong and where."""
        where = ""
        if isinstance(exc, (InputError, SingerError, SingerSDKError)):
            number = getattr(self.message_reader, "line_number", 0)
            where = f" at input line {number}" if number else ""
        text = str(exc).rstrip()
        if isinstance(exc, OSError) and self._is_disk_error(exc):
            text = self.export.spool.failure(exc)
        text = text.removesuffix(".") if not text.endswith("..") else text
        return f"Export failed{where}: {text}. No STATE was emitted for undelivered records."

    @classmethod
    def get_singer_command(cls) -> click.Command:
        """The SDK's command plus `--check`."""
        command = super().get_singer_command()  # its --config calls our cb_config
        command.params.append(
            click.Option(
                ["--check"],
                is_flag=True,
                help="Check the connection (list, write, read and delete a probe object under "
                "the folder; load the PGP key), print one line per permission and exit. "
                "Reads no input.",
            )
        )
        return command

    @classmethod
    def cb_config(
        cls,
        ctx: click.Context,
        param: click.Option,
        value: tuple[str, ...],
    ) -> _ConfigInput:
        """Read the `--config` files (`ENV`: environment variables); a bad one is one line."""
        config: dict[str, Any] = {}
        try:
            for path in value:
                if path != "ENV":
                    config |= read_config_file(path)
        except TargetError as exc:
            cls.logger.error("Export failed: %s", exc)  # noqa: TRY400 (one line, no traceback)
            ctx.exit(1)
        return _ConfigInput(config=config, parse_env="ENV" in value)

    @classmethod
    def invoke(  # type: ignore[override]
        cls,
        *,
        about: bool = False,
        about_format: str | None = None,
        config: _ConfigInput | None = None,
        file_input: IO[str] | None = None,
        check: bool = False,
    ) -> None:
        """Run the target: one clear line and exit code 1 on any user-facing failure."""
        if about:
            cls.print_about(about_format)
            sys.exit(0)
        cls.print_version(print_fn=cls.logger.info)
        config = config or _ConfigInput()
        try:
            if check:
                from target_adobe_s3.check import check_command  # noqa: PLC0415 (only for --check)

                sys.exit(check_command(cls, config))
            cls._run(config, file_input)
        except ConfigValidationError as exc:
            errors = exc.errors or [str(exc)]
            for line in config_error_lines(errors, parse_env=config.parse_env, environ=os.environ):
                cls.logger.error("%s", line)  # noqa: TRY400 (one line per problem, no traceback)
            sys.exit(1)

    @classmethod
    def _run(cls, config: _ConfigInput, file_input: IO[str] | None) -> None:
        """Build the target (settings, bucket, temp_dir) and export the input."""
        target: TargetAdobeS3 | None = None
        try:
            target = cls(config=config.config, parse_env_config=config.parse_env)
            if file_input is None and sys.stdin is not None and sys.stdin.isatty():
                cls.logger.info("%s", WAITING)
            target.listen(file_input)
        except ConfigValidationError:
            raise
        except (*USER_ERRORS, OSError) as exc:
            line = target.failure_line(exc) if target else f"Export failed: {exc}"
            cls.logger.error("%s", line)  # noqa: TRY400 (the traceback is not for users)
            sys.exit(1)
        finally:
            if target is not None:
                target.export.close()
