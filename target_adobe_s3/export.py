"""One export run: rows go to per-segment spool files, then each file goes to S3."""

from __future__ import annotations

import hashlib
import logging
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from target_adobe_s3.columns import compile_getter, select_columns
from target_adobe_s3.errors import DeliveryError, InputError
from target_adobe_s3.formats import compile_row_formatter, to_text
from target_adobe_s3.macros import MacroError, SegmentValues, join_key
from target_adobe_s3.segments import Segment, routing_for
from target_adobe_s3.spool import Part, Spool
from target_adobe_s3.storage import upload_file

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

    from target_adobe_s3.settings import Settings

EXTENSION = ".csv"


@dataclass(frozen=True)
class Delivered:
    """A file that is completely in S3."""

    segment_id: str
    segment_name: str
    key: str
    rows: int
    size: int


class StreamWriter:
    """Turns one stream's records into rows of their segments' files."""

    def __init__(self, export: Export, stream_name: str, schema: Mapping[str, Any]) -> None:
        settings = export.settings
        try:
            columns = select_columns(settings.fields, schema, stream_name)
        except ValueError as exc:
            raise InputError(str(exc)) from None
        self.header = tuple(column.header for column in columns)
        self._export = export
        self._stream_name = stream_name
        self._get = compile_getter(columns)
        self._format = export.format_row
        self._route = routing_for(
            stream_name,
            schema,
            settings.segment_id_field,
            settings.segment_name_field,
            settings.segment_names,
        ).router()
        self._parts: dict[str, Part] = {}

    def write(self, record: Mapping[str, Any]) -> None:
        """Append one record as a row of its segment's file."""
        segment = self._route(record)
        part = self._parts.get(segment.segment_id)
        if part is None:
            part = self._export.part_for(segment, self._stream_name, self.header)
            self._parts[segment.segment_id] = part
        row = self._format([to_text(value) for value in self._get(record)])
        part.write(row.encode(), rows=1)


class Export:
    """The spool and the uploads of one run."""

    def __init__(self, settings: Settings, client: S3Client, logger: logging.Logger) -> None:
        self.settings = settings
        self.client = client
        self.logger = logger
        self.format_row = compile_row_formatter(settings.dialect)
        self.spool = Spool(settings.temp_dir)
        self.delivered: list[Delivered] = []

    def stream_writer(self, stream_name: str, schema: Mapping[str, Any]) -> StreamWriter:
        """A writer for one stream's records (columns and routing from its schema)."""
        return StreamWriter(self, stream_name, schema)

    def part_for(self, segment: Segment, stream_name: str, header: tuple[str, ...]) -> Part:
        """The open part of a segment; the first stream to reach it fixes its columns."""
        part = self.spool.get(segment.segment_id)
        if part is None:
            part = self.spool.open(segment.segment_id, segment.segment_name, stream_name, header)
            if self.settings.dialect.header:
                part.write(self.format_row(list(header)).encode())
        elif part.header != header:
            raise InputError(
                f"stream '{stream_name}' sends rows to segment '{segment.segment_id}', whose "
                f"file already has other columns (from stream '{part.stream_name}'): "
                f"{list(part.header)} vs {list(header)}; give both streams the same "
                "columns with the `fields` setting"
            )
        return part

    def _planned_keys(self, parts: list[Part]) -> list[tuple[Part, str]]:
        """The object key of every part; segments whose keys clash get a hash suffix."""
        settings, run = self.settings, self.settings.run

        def key_for(part: Part, suffix: str) -> str:
            values = SegmentValues(part.segment_id, part.segment_name, part.stream_name)
            folder = settings.folder.expand(run, values)
            name = settings.file_name.expand(run, values) + suffix + EXTENSION
            try:
                return join_key(folder, name)
            except MacroError as exc:
                raise DeliveryError(f"segment '{part.segment_id}': {exc}") from None

        # A segment has one part, so its id names the part.
        keys = {part.segment_id: key_for(part, "") for part in parts}
        groups: dict[str, list[Part]] = defaultdict(list)
        for part in parts:
            groups[keys[part.segment_id]].append(part)
        for key, group in groups.items():
            if len(group) > 1:
                self.logger.warning(
                    "%d segments would share the key %s; each gets a suffix from its segment "
                    "id (add %%SEGMENT_ID%% to file_name_template to avoid this)",
                    len(group),
                    key,
                )
                for part in group:
                    digest = hashlib.sha256(part.segment_id.encode()).hexdigest()[:8]
                    keys[part.segment_id] = key_for(part, f"_{digest}")
        planned = [(part, keys[part.segment_id]) for part in parts]
        if len({key for _, key in planned}) != len(planned):
            raise DeliveryError("two segments map to the same object key even after suffixing")
        return planned

    def deliver(self) -> list[Delivered]:
        """Upload every spooled file; returns what is now completely in S3."""
        bucket = self.settings.bucket
        for part, key in self._planned_keys(self.spool.finish()):
            upload_file(self.client, bucket, key, part.path)
            done = Delivered(part.segment_id, part.segment_name, key, part.rows, part.size)
            self.delivered.append(done)
            self.logger.info(
                "Delivered s3://%s/%s (%d rows, %d bytes)", bucket, key, done.rows, done.size
            )
        return self.delivered

    def close(self) -> None:
        """Remove every temp file (idempotent)."""
        self.spool.remove()
