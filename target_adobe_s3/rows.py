"""One stream's records become rows: segments, filters, columns, formatted bytes."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from target_adobe_s3.columns import Column, compile_getter, resolve_source, select_columns
from target_adobe_s3.errors import InputError
from target_adobe_s3.segments import Member, flat_members, keeps, map_members, routing_for
from target_adobe_s3.summary import SKIP_EXITED, skip_missing
from target_adobe_s3.values import compile_json_formatter, to_text

if TYPE_CHECKING:
    from target_adobe_s3.export import Export
    from target_adobe_s3.settings import Settings

Getter = Callable[[Mapping[str, Any]], list[Any]]


def membership_schema(schema: Mapping[str, Any], settings: Settings) -> dict[str, Any]:
    """The schema of a fanned-out stream's rows.

    The membership map is replaced by the segment id, name, status and qualification
    time fields (each added unless the schema already has it).
    """
    properties = dict(schema.get("properties") or {})
    properties.pop(settings.membership_field, None)
    for name in (
        settings.segment_id_field,
        settings.segment_name_field,
        settings.segment_status_field,
        settings.qualification_time_field,
    ):
        properties.setdefault(name, {"type": ["string", "null"]})
    return {**schema, "properties": properties}


def _paths_getter(
    setting: str, paths: Sequence[str], schema: Mapping[str, Any], stream: str
) -> Getter | None:
    """A getter for source paths named by a setting; InputError when the schema lacks one."""
    if not paths:
        return None
    columns = []
    for path in paths:
        resolved = resolve_source(path, schema)
        if resolved is None:
            raise InputError(f"{setting}: '{path}' is not in the schema of stream '{stream}'")
        columns.append(Column(resolved, path))
    return compile_getter(columns)


class StreamWriter:
    """Turns one stream's records into rows of their segments' files."""

    def __init__(self, export: Export, stream_name: str, schema: Mapping[str, Any]) -> None:
        settings = export.settings
        self._fan_out = settings.membership_field in (schema.get("properties") or {})
        if self._fan_out:
            schema = membership_schema(schema, settings)
            self._members = map_members(
                stream_name, settings.membership_field, settings.segment_names
            )
        else:
            route = routing_for(
                stream_name,
                schema,
                settings.segment_id_field,
                settings.segment_name_field,
                settings.segment_names,
            ).router()
            self._members = flat_members(
                route, settings.segment_status_field, settings.qualification_time_field
            )
        try:
            columns = select_columns(settings.fields, schema, stream_name)
        except ValueError as exc:
            raise InputError(str(exc)) from None
        self.header = tuple(column.header for column in columns)
        self.stream_name = stream_name
        self._export = export
        self._settings = settings
        self._get = compile_getter(columns)
        self._mandatory = _paths_getter(
            "mandatory_fields", settings.mandatory_fields, schema, stream_name
        )
        self._dedup_keys = _paths_getter(
            "deduplication_keys", settings.dedup_keys, schema, stream_name
        )
        self._json = compile_json_formatter(self.header) if settings.file_type == "json" else None
        self._csv = export.format_row
        # Field texts: what a CSV row is made of, and what dedup's tie-break compares.
        self._texts = self._json is None or self._dedup_keys is not None
        self._known: set[str] = set()

    def _overlay(self, record: Mapping[str, Any], member: Member) -> Mapping[str, Any]:
        """The record as one fanned-out row sees it: the member's segment fields added."""
        if not self._fan_out:
            return record
        s = self._settings
        return {
            **record,
            s.segment_id_field: member.segment.segment_id,
            s.segment_name_field: member.segment.segment_name,
            s.segment_status_field: member.status,
            s.qualification_time_field: member.qualified_at,
        }

    def _missing(self, row: Mapping[str, Any]) -> str | None:
        """The first mandatory field the row lacks (absent, null or empty), if any."""
        assert self._mandatory is not None
        for path, value in zip(self._settings.mandatory_fields, self._mandatory(row), strict=True):
            if value is None or value == "":
                return path
        return None

    def write(self, record: Mapping[str, Any]) -> None:
        """Append the record's rows to their segments' files (or the dedup store)."""
        export = self._export
        export.progress.tick()
        members = self._members(record)
        if not members:
            export.tally.without_membership += 1
            return
        mode = self._settings.export_mode
        for member in members:
            segment = member.segment
            if not keeps(mode, member.status):
                export.tally.skip(segment.segment_id, segment.segment_name, SKIP_EXITED)
                continue
            row = self._overlay(record, member)
            if self._mandatory is not None and (missing := self._missing(row)):
                export.tally.skip(segment.segment_id, segment.segment_name, skip_missing(missing))
                continue
            if segment.segment_id not in self._known:
                export.register(segment, self.stream_name, self.header)
                self._known.add(segment.segment_id)
            values = self._get(row)
            texts = [to_text(value) for value in values] if self._texts else []
            line = self._json(values) if self._json else self._csv(texts).encode()
            if self._dedup_keys is None:
                export.write_row(segment.segment_id, line)
            else:
                key = tuple(to_text(v) or "" for v in self._dedup_keys(row))
                compare = tuple(text or "" for text in texts)
                export.dedup_row(segment.segment_id, key, member.qualified_at, compare, line)
