"""The target: settings, one sink per stream, and STATE held until files are delivered."""

from __future__ import annotations

import gc
import os
import signal
import sys
from typing import IO, TYPE_CHECKING, Any

import click
from singer_sdk.exceptions import ConfigValidationError
from singer_sdk.plugin_base import _ConfigInput
from singer_sdk.target_base import Target

from target_adobe_s3.cli import (
    USER_ERRORS,
    WAITING,
    config_error_lines,
    failure_line,
    nothing_exported,
    read_config_file,
)
from target_adobe_s3.errors import TargetError
from target_adobe_s3.export import Delivered, Export
from target_adobe_s3.intake.reader import LineReader
from target_adobe_s3.s3.client import check_bucket, make_client, object_options
from target_adobe_s3.schema import CONFIG_SCHEMA, drop_refused_settings
from target_adobe_s3.settings import Settings
from target_adobe_s3.sinks import SegmentSink
from target_adobe_s3.summary import summary_table

if TYPE_CHECKING:
    from types import FrameType

    from target_adobe_s3.intake.fast import FastRecords


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
        self.reader = LineReader()
        """The message reader: the registry of fast streams, progress, line numbers."""
        super().__init__(**kwargs, message_reader=self.reader)  # the SDK's schema check raises
        known = self.config_jsonschema["properties"]  # ours and the SDK's built-in settings
        from_env = bool(kwargs.get("parse_env_config"))
        settings, problems = Settings.from_config(self.config, known, from_env=from_env)
        if settings is None:
            raise ConfigValidationError("Config validation failed", errors=problems)
        self.settings = settings
        self._held_state: dict | None = None
        self.max_parallelism = 1  # draining does nothing here: no threads for it
        client = make_client(settings.s3)
        check_bucket(client, settings.bucket)
        self.export = Export(
            settings, client, self.logger, object_options=object_options(settings.s3)
        )
        self.reader.progress = self.export.progress

    @classmethod
    def append_builtin_config(cls, config_jsonschema: dict) -> None:
        """The SDK's built-in settings, less those that mean nothing for file exports."""
        super().append_builtin_config(config_jsonschema)
        drop_refused_settings(config_jsonschema)

    def register_fast(self, stream_name: str, fast: FastRecords) -> None:
        """Send the stream's RECORD lines to `fast` (replacing a sink of an older schema)."""
        self.reader.register(stream_name, fast)

    def _write_state_message(self, state: dict) -> None:
        """Hold STATE: the SDK drains mid-run, before our files are uploaded."""
        self._held_state = state

    def process_endofpipe(self) -> None:
        """Upload every segment file, then release the latest STATE."""
        self.reader.flush_counts()  # the SDK only drains sinks that counted records
        super().process_endofpipe()
        try:
            delivered = self.export.deliver()
        finally:
            self.export.close()
        self._log_summary(delivered)
        if warning := nothing_exported(self.reader.counts, len(delivered)):
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

    def failure_line(self, exc: BaseException) -> str:
        """The one line that says what went wrong and where."""
        return failure_line(exc, self.reader.line_number, self.export.spool)

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
            # What start-up made (the SDK, boto3's models: most of the heap) lives as long as
            # the run: collections while records are read need not walk it again (about 3%).
            gc.freeze()
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
