"""The target: settings, one sink per stream, and STATE held until files are delivered."""

from __future__ import annotations

import signal
import sys
from collections.abc import Mapping
from typing import IO, TYPE_CHECKING, Any

import click
from singer_sdk.exceptions import ConfigValidationError, SingerSDKError
from singer_sdk.plugin_base import _ConfigInput
from singer_sdk.singerlib.exceptions import SingerError
from singer_sdk.target_base import Target

from target_adobe_s3.errors import InputError, TargetError
from target_adobe_s3.export import Delivered, Export
from target_adobe_s3.reader import LineReader
from target_adobe_s3.schema import CONFIG_SCHEMA
from target_adobe_s3.settings import Settings
from target_adobe_s3.sinks import FastRecords, SegmentSink
from target_adobe_s3.storage import check_bucket, make_client, object_options
from target_adobe_s3.summary import summary_table

if TYPE_CHECKING:
    from types import FrameType

# Mistakes in the input or the settings, or refusals by S3: one line, no traceback.
USER_ERRORS = (TargetError, SingerError, SingerSDKError)


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
        settings, problems = Settings.from_config(self.config)
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
        where = ""
        if isinstance(exc, (InputError, SingerError, SingerSDKError)):
            number = getattr(self.message_reader, "line_number", 0)
            where = f" at input line {number}" if number else ""
        text = str(exc).rstrip()
        text = text.removesuffix(".") if not text.endswith("..") else text
        return f"Export failed{where}: {text}. No STATE was emitted for undelivered records."

    @classmethod
    def get_singer_command(cls) -> click.Command:
        """The SDK's command plus `--check`."""
        command = super().get_singer_command()
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
        if check:
            from target_adobe_s3.check import check_command  # noqa: PLC0415 (only for --check)

            sys.exit(check_command(cls, config))
        target: TargetAdobeS3 | None = None
        try:
            target = cls(config=config.config, parse_env_config=config.parse_env)
            target.listen(file_input)
        except ConfigValidationError:
            raise
        except USER_ERRORS as exc:
            line = target.failure_line(exc) if target else f"Export failed: {exc}"
            cls.logger.error("%s", line)  # noqa: TRY400 (the traceback is not for users)
            sys.exit(1)
        finally:
            if target is not None:
                target.export.close()
