"""The sink: hands each record of a stream to its StreamWriter."""

from __future__ import annotations

from typing import TYPE_CHECKING

import jsonschema
from singer_sdk.exceptions import InvalidRecord
from singer_sdk.sinks import RecordSink

from target_adobe_s3.errors import InputError

if TYPE_CHECKING:
    from collections.abc import Sequence

    from target_adobe_s3.target import TargetAdobeS3


def describe_invalid(stream: str, error: BaseException | None) -> str:
    """Say which field breaks the schema and how, without quoting the value."""
    if not isinstance(error, jsonschema.ValidationError):
        return f"stream '{stream}': a record does not match the stream's schema"
    field = ".".join(str(p) for p in error.absolute_path) or "(record)"
    if error.validator == "type":
        found = type(error.instance).__name__
        names = {
            "str": "string",
            "int": "integer",
            "float": "number",
            "Decimal": "number",
            "bool": "boolean",
            "dict": "object",
            "list": "array",
            "NoneType": "null",
        }
        rule = f"should be of type {error.validator_value}, got {names.get(found, found)}"
    elif error.validator == "required":
        rule = error.message
    else:
        rule = f"breaks the schema's '{error.validator}' rule"
    return f"stream '{stream}': field '{field}' {rule}"


class SegmentSink(RecordSink):
    """Writes each record straight into its segment's spool file."""

    def __init__(
        self,
        target: TargetAdobeS3,
        stream_name: str,
        schema: dict,
        key_properties: Sequence[str] | None,
    ) -> None:
        super().__init__(target, stream_name, schema, key_properties)
        self._writer = target.export.stream_writer(stream_name, self.schema)

    def process_record(self, record: dict, context: dict) -> None:
        """Append the record to its segment's file."""
        self._writer.write(record)

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

    def _after_process_record(self, context: dict) -> None:
        """Count the record without the SDK's per-record debug log line."""
        self.tally_record_written()

    def clean_up(self) -> None:
        """Nothing to do here: the target uploads every segment file at end of input."""
