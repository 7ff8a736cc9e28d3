"""The sink: hands each record of a stream to its StreamWriter.

On the fast path the reader hands the record's bytes to `FastRecords` instead, which
decodes and checks them with the stream's `RecordDecoder` and counts records for the
SDK's metrics in batches; the SDK's record path (stream maps, flattening, metadata, full
JSON Schema validation) is the fallback.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

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
from target_adobe_s3.jsontypes import json_type_name

if TYPE_CHECKING:
    from collections.abc import Sequence

    from target_adobe_s3.summary import Progress
    from target_adobe_s3.target import TargetAdobeS3


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


class FastRecords:
    """The fast path of one stream: record bytes → checked dict → rows; batched counts."""

    def __init__(self, sink: SegmentSink, decoder: RecordDecoder, pace: Progress) -> None:
        self.sink = sink
        self.pending = 0
        self._pace = pace
        self._decode = decoder.compile(sink.writer.write)
        self.decode_line = decoder.compile_line(sink.writer.write)
        """Whole-line handler; the reader counts what it takes and calls `add`."""

    def handle(self, data: bytes) -> None:
        """Write one record's rows; now and then, count them for the SDK."""
        self._decode(data)
        self.add(1)

    def add(self, count: int) -> None:
        """Count records handled; every `pace.batch`, pass the count on (progress, SDK)."""
        self.pending += count
        if self.pending >= self._pace.batch:
            self.flush()

    def flush(self) -> None:
        """Add the records handled since the last flush to the sink's counts and metrics."""
        count, self.pending = self.pending, 0
        if count:
            self.sink.writer.progress(count)
            self.sink.tally_record_read(count)
            self.sink.record_counter_metric.increment(count)
            self.sink.tally_record_written(count)


class SegmentSink(RecordSink):
    """Writes each record straight into its segment's spool file."""

    def __init__(
        self,
        target: TargetAdobeS3,
        stream_name: str,
        schema: dict,
        key_properties: Sequence[str] | None,
    ) -> None:
        try:
            super().__init__(target, stream_name, schema, key_properties)
        except InvalidJSONSchema as exc:
            raise InputError(describe_bad_schema(stream_name, exc.__cause__)) from None
        check = bool(target.config.get("validate_records", True))
        self.writer = target.export.stream_writer(stream_name, self.schema, typed=check)
        self.fast: FastRecords | None = None
        if target.fast_path:
            decoder = RecordDecoder(
                stream_name, self.schema, check=check, key_properties=self.key_properties
            )
            self.fast = FastRecords(self, decoder, target.export.progress)
            target.register_fast(stream_name, self.fast)

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
