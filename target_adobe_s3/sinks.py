"""The sink: hands each record of a stream to its StreamWriter.

On the fast path the reader hands the record's bytes to the stream's `FastRecords`
(intake/fast.py) instead, which the sink makes and registers; the SDK's record path
(stream maps, flattening, metadata, full JSON Schema validation) is the fallback. The sink
needs three things of its target (`SinkTarget`) and does not import it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

import jsonschema
from singer_sdk.exceptions import InvalidJSONSchema, InvalidRecord, MissingKeyPropertiesError
from singer_sdk.sinks import RecordSink

from target_adobe_s3.errors import InputError
from target_adobe_s3.intake.decoder import (
    RecordDecoder,
    missing_key_rule,
    missing_rule,
    type_rule,
)
from target_adobe_s3.intake.fast import FastRecords
from target_adobe_s3.jsontypes import json_type_name

if TYPE_CHECKING:
    from collections.abc import Sequence

    from singer_sdk.target_base import Target

    from target_adobe_s3.export import Export
    from target_adobe_s3.settings import Settings


@runtime_checkable
class SinkTarget(Protocol):
    """What a SegmentSink needs of its target, besides being the SDK's Target."""

    settings: Settings
    export: Export

    def register_fast(self, stream_name: str, fast: FastRecords) -> None:
        """Send the stream's RECORD lines to `fast`."""


def describe_invalid(stream: str, error: BaseException | None) -> str:
    """Say which field breaks the schema and how, without quoting the value."""
    if not isinstance(error, jsonschema.ValidationError):
        return f"stream '{stream}': a record does not match the stream's schema"
    field = ".".join(str(p) for p in error.absolute_path) or "(record)"
    if error.validator == "type":
        return type_rule(stream, field, error.validator_value, json_type_name(error.instance))
    if error.validator == "required":
        missing = error.message.split("'")[1] if error.message.count("'") >= 2 else "?"
        prefix = "" if field == "(record)" else f"{field}."
        return missing_rule(stream, prefix + missing)
    return f"stream '{stream}': field '{field}' breaks the schema's '{error.validator}' rule"


def describe_bad_schema(stream: str, error: BaseException | None) -> str:
    """Say what makes a stream's schema invalid, on one line (the SDK prints the metaschema)."""
    where = f"SCHEMA message for stream '{stream}' is not a valid JSON Schema"
    if not isinstance(error, jsonschema.SchemaError):
        return where
    path = ".".join(str(p) for p in error.absolute_path)
    return f"{where}: {error.message}" + (f" (at {path})" if path else "")


class SegmentSink(RecordSink):
    """Writes each record straight into its segment's spool file."""

    def __init__(
        self,
        target: Target,
        stream_name: str,
        schema: dict,
        key_properties: Sequence[str] | None,
    ) -> None:
        if not isinstance(target, SinkTarget):
            raise TypeError("a SegmentSink needs a target with settings, export, register_fast")
        try:
            super().__init__(target, stream_name, schema, key_properties)
        except InvalidJSONSchema as exc:
            raise InputError(describe_bad_schema(stream_name, exc.__cause__)) from None
        settings = target.settings
        check = settings.validate_records
        self.writer = target.export.stream_writer(stream_name, self.schema, typed=check)
        self.fast: FastRecords | None = None
        if settings.fast_path:
            decoder = RecordDecoder(
                stream_name, self.schema, check=check, key_properties=self.key_properties
            )
            self.fast = FastRecords(
                decoder,
                self.writer.write,
                self.count_records,
                target.export.progress,
                values_writer=self.writer.values_writer,
            )
            target.register_fast(stream_name, self.fast)

    def count_records(self, count: int) -> None:
        """Add records the fast path handled to the sink's counts, metrics and progress."""
        self.writer.progress(count)
        self.tally_record_read(count)
        self.record_counter_metric.increment(count)
        self.tally_record_written(count)

    def process_record(self, record: dict, context: dict) -> None:
        """Append the record to its segment's file."""
        self.writer.write(record)
        self.writer.progress(1)

    def _validate_and_parse(self, record: dict) -> dict:
        """Check the record against its schema; keep every value exactly as received.

        The SDK would parse date-time strings into datetimes (changing how they are
        written) and log the failing record; neither suits an export of personal data.
        """
        if self._validator is not None:
            try:
                self._validator.validate(record)
            except InvalidRecord as exc:
                raise InputError(describe_invalid(self.stream_name, exc.__cause__)) from None
        return record

    def _singer_validate_message(self, record: dict) -> None:
        """Key properties must be present: the same one-line message as the fast path's."""
        for name in self.key_properties:
            if name not in record:
                raise MissingKeyPropertiesError(missing_key_rule(self.stream_name, name))

    def _after_process_record(self, context: dict) -> None:
        """Count the record without the SDK's per-record debug log line."""
        self.tally_record_written()

    def clean_up(self) -> None:
        """Nothing to do here: the target uploads every segment file at end of input."""
