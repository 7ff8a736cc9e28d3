"""Newline-delimited JSON: one object per row, keys in column order, values keep their type."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from target_adobe_s3.formats.base import FileFormat, FormatOptions, RowEncoder
from target_adobe_s3.rows.values import JSON_ENCODER


def compile_json_formatter(headers: Sequence[str]) -> Callable[[Sequence[Any]], bytes]:
    """Compile the function that formats one row as a line of newline-delimited JSON.

    The object's keys are the column headers in column order; values keep their JSON type
    (numbers with the digits received, nested objects and arrays as JSON, null as null).
    """
    names = tuple(headers)
    encode = JSON_ENCODER.encode

    def format_json_row(row: Sequence[Any]) -> bytes:
        return encode(dict(zip(names, row, strict=True))) + b"\n"

    return format_json_row


class NdjsonFormat(FileFormat):
    """`file_type: json`: NDJSON rows of typed values, no header."""

    file_type = "json"
    extension = ".json"
    content_type = "application/x-ndjson"
    text_fields = False

    @classmethod
    def from_options(cls, options: FormatOptions) -> NdjsonFormat:
        """The format (NDJSON has no options)."""
        return cls()

    def header_bytes(self, header: Sequence[str]) -> bytes:
        """Nothing: each line names its fields."""
        return b""

    def row_encoder(self, header: Sequence[str]) -> RowEncoder:
        """One JSON object per row, keyed by the headers."""
        return compile_json_formatter(header)
