"""One stream's records become rows: segments, filters, columns, formatted bytes.

The rows go to a `RowSink`, as bytes from a `RowFormat` (both declared in `ports.py`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from operator import itemgetter
from typing import TYPE_CHECKING, Any

from msgspec import UNSET

from target_adobe_s3.errors import InputError
from target_adobe_s3.jsontypes import declared_types
from target_adobe_s3.rows.columns import (
    Column,
    compile_getter,
    resolve_source,
    select_columns,
    top_level_keys,
)
from target_adobe_s3.rows.fanout import RecordRows, spliced_rows
from target_adobe_s3.rows.segments import (
    EXITED,
    Member,
    Segment,
    flat_members,
    keeps,
    map_members,
    routing_for,
)
from target_adobe_s3.rows.tally import SKIP_EXITED, skip_missing
from target_adobe_s3.rows.values import escape_formulas, fill_texts, to_text

if TYPE_CHECKING:
    from target_adobe_s3.rows.ports import RowFormat, RowSettings, RowSink
    from target_adobe_s3.rows.tally import Tally

Getter = Callable[[Mapping[str, Any]], list[Any]]


def membership_schema(schema: Mapping[str, Any], settings: RowSettings) -> dict[str, Any]:
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


def _is_text(spec: object) -> bool:
    """Whether a checked value of this property is always a string or null.

    As the fast path's decoder checks it (`declared_types`): a property it cannot check
    (a composite keyword such as `not`) may hold anything, so it is converted.
    """
    names = declared_types(spec) if isinstance(spec, Mapping) else None
    return names is not None and set(names) <= {"string", "null"}


def text_columns(columns: Sequence[Column], schema: Mapping[str, Any]) -> list[bool]:
    """Per column: whether its checked values are already field text (str or None)."""
    properties = schema.get("properties") or {}
    return [len(c.path) == 1 and _is_text(properties.get(c.path[0])) for c in columns]


def _may_be_number(spec: object) -> bool:
    """Whether a property's checked values may be numbers (absent: UNSET on the tuple path).

    True unless the decoder checks its types itself (`declared_types`) and none is
    "number": then an absent one is None.
    """
    names = declared_types(spec) if isinstance(spec, Mapping) else None
    return names is None or "number" in names


def _key_text(value: Any) -> str:
    """A dedup key's text: to_text of the value, "" for a null or an absent number."""
    if type(value) is str:
        return value
    return "" if value is UNSET else to_text(value) or ""


class StreamWriter:
    """Turns one stream's records into rows of their segments' files.

    `typed` says the records were checked against the schema (either record path), so
    columns declared as strings hold text already and need no conversion. Rows go to
    `sink` as `file_format` makes them; skipped rows are counted in `tally`, and records
    read in `progress` (by the caller, through `self.progress`).
    """

    def __init__(
        self,
        stream_name: str,
        schema: Mapping[str, Any],
        *,
        settings: RowSettings,
        sink: RowSink,
        file_format: RowFormat,
        tally: Tally,
        progress: Callable[[int], None],
        typed: bool = False,
    ) -> None:
        self._fan_out = settings.membership_field in (schema.get("properties") or {})
        route = None
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
        texts = text_columns(columns, schema) if typed else [False] * len(columns)
        # Fanned-out rows: where each column of the member's segment fields is (0 id,
        # 1 name, 2 status, 3 qualification time); their values come from the map, unchecked.
        fields = (
            settings.segment_id_field,
            settings.segment_name_field,
            settings.segment_status_field,
            settings.qualification_time_field,
        )
        self._segment_columns = [
            (i, fields.index(c.path[0]))
            for i, c in enumerate(columns)
            if self._fan_out and len(c.path) == 1 and c.path[0] in fields
        ]
        for i, _ in self._segment_columns:
            texts[i] = False
        self._convert = [i for i, is_text in enumerate(texts) if not is_text]
        # Fanned out into text rows, the record's own columns are converted once per record,
        # the member's segment columns once per row.
        self._member_convert = [i for i, _ in self._segment_columns]
        self._base_convert = [i for i in self._convert if i not in self._member_convert]
        self._sink = sink
        self._tally = tally
        self._settings = settings
        self._get = compile_getter(columns)
        self._keys = top_level_keys(columns)
        self._mandatory = _paths_getter(
            "mandatory_fields", settings.mandatory_fields, schema, stream_name
        )
        self._dedup_keys = _paths_getter(
            "deduplication_keys", settings.dedup_keys, schema, stream_name
        )
        self._encode = file_format.stream_encoder(stream_name, columns, schema)
        self._format, self._columns, self._schema = file_format, columns, schema
        # Field texts: what a CSV row is made of (formulas escaped when asked), and what
        # dedup's tie-break compares.
        self._text_fields = file_format.text_fields
        self._escape = settings.formula_escape and self._text_fields
        # Mandatory fields and dedup keys read the row as the member sees it.
        self._needs_row = self._fan_out and (
            self._mandatory is not None or self._dedup_keys is not None
        )
        self._texts = self._text_fields or self._dedup_keys is not None
        self._known: set[str] = set()
        self.progress = progress
        """Count records read (the caller counts, in batches on the fast path)."""
        self._route = route
        self._fan: Callable[[list[Member], list[Any]], None] | None = None
        """The fanned writer's rows of a record from its members and values (once made)."""
        self._known_segments: dict[str, Segment] = {}
        """Flat records' segments by id, as routed (their files registered)."""
        if route is not None and self._text_fields:
            self.write = self._flat_writer(route)  # type: ignore[method-assign]
        elif self._fan_out and self._text_fields and not self._needs_row:
            self.write = self._fanned_writer()  # type: ignore[method-assign]

    def _flat_writer(self, route: Callable[[Mapping[str, Any]], Segment]) -> Callable[..., None]:
        """`write` for the common case: one segment per record, text rows, dedup or not.

        Equal in output to the general `write` (the same rows, dedup keys, times and
        compare texts), with the per-row work cut to lookups.
        """
        sink, settings = self._sink, self._settings
        id_field, status_field = settings.segment_id_field, settings.segment_status_field
        full = settings.export_mode == "full"
        tally = self._tally
        get, encode, convert = self._get, self._encode, self._convert
        keys = self._keys
        # All columns present (taps write null rather than leave a key out): one C call.
        pick = itemgetter(*keys) if keys is not None and len(keys) > 1 else None
        escape = escape_formulas if self._escape else None
        mandatory = self._mandatory
        write_row = sink.write_row
        dedup_keys, dedup_row = self._dedup_keys, sink.dedup_row
        time_field = settings.qualification_time_field
        known, segment_of = self._known_segments, self._segment_of

        def write_flat(record: Mapping[str, Any]) -> None:
            raw_id = record.get(id_field)
            segment = known.get(raw_id) if type(raw_id) is str else None
            if segment is None:
                segment = segment_of(record)
            segment_id = segment.segment_id
            if full:
                status = record.get(status_field)
                if type(status) is str and status.lower() == EXITED:
                    tally.skip(segment_id, segment.segment_name, SKIP_EXITED)
                    return
            if mandatory is not None and (missing := self._missing(record)):
                tally.skip(segment_id, segment.segment_name, skip_missing(missing))
                return
            if pick is None:
                values = get(record)
            else:
                try:
                    values = list(pick(record))
                except KeyError:  # a column absent from the record: None
                    values = list(map(record.get, keys))  # type: ignore[arg-type]  # set with pick
            if escape is not None:
                values = escape(values)
            if convert:
                fill_texts(values, convert)
            if dedup_keys is None:
                write_row(segment_id, encode(values))
                return
            line = encode(values)
            key = tuple([v if type(v) is str else to_text(v) or "" for v in dedup_keys(record)])
            compare = tuple([text or "" for text in values])
            dedup_row(segment_id, key, record.get(time_field), compare, line)

        return write_flat

    def _segment_of(self, record: Mapping[str, Any]) -> Segment:
        """A flat record's segment, routed; its file registered the first time."""
        assert self._route is not None, "only flat records are routed"
        segment = self._route(record)
        known = self._known_segments
        if segment.segment_id in known:
            return known[segment.segment_id]
        self._sink.register(segment.segment_id, segment.segment_name, self.stream_name, self.header)
        known[segment.segment_id] = segment
        return segment

    def values_writer(
        self, names: Sequence[str], as_record: Callable[[tuple[Any, ...]], Mapping[str, Any]]
    ) -> Callable[[tuple[Any, ...]], None] | None:
        """`write` for a record given as the tuple of its values, in the order of `names`.

        Made for rows without mandatory fields, flat or fanned out, with dedup keys only
        flat (text rows), when every column and dedup key is a top-level property (None
        otherwise). Equal in output to `write(as_record(values))`: the row is picked from
        the tuple in one C call, a new segment is routed from `as_record(values)`. A number
        absent from the record is msgspec's UNSET in the tuple, written as a null.
        """
        settings, keys, names = self._settings, self._keys, list(names)
        if self._fan is not None:
            return self._fanned_values_writer(names)
        text = self._text_fields
        if (
            self._route is None
            or (not text and self._dedup_keys is not None)
            or self._mandatory is not None
            or keys is None
            or len(keys) < 2
            or not set(keys) <= set(names)
            or settings.segment_id_field not in names
        ):
            return None
        dedup_at: list[int] | None = None
        if self._dedup_keys is not None:
            paths = [resolve_source(path, self._schema) for path in settings.dedup_keys]
            if not all(path is not None and len(path) == 1 and path[0] in names for path in paths):
                return None
            dedup_at = [names.index(path[0]) for path in paths]  # type: ignore[index]  # checked
        pick = itemgetter(*[names.index(key) for key in keys])
        id_at = names.index(settings.segment_id_field)
        status_at = (
            names.index(settings.segment_status_field)
            if settings.export_mode == "full" and settings.segment_status_field in names
            else None
        )
        tally, encode = self._tally, self._encode
        convert = self._convert if text else None  # typed values (Parquet, NDJSON) as they are
        # Typed rows: where an absent number (UNSET) may be, to write as None (checked by
        # identity: `UNSET in row` compares each value, a Decimal through isinstance).
        properties = self._schema.get("properties") or {}
        unset_at = [i for i, key in enumerate(keys) if _may_be_number(properties.get(key))]
        escape = escape_formulas if self._escape else None
        write_row = self._sink.write_row
        known, segment_of = self._known_segments, self._segment_of
        dedup_row = self._sink.dedup_row
        time_at = (
            names.index(settings.qualification_time_field)
            if settings.qualification_time_field in names
            else None
        )

        def write_values(values: tuple[Any, ...]) -> None:
            raw_id = values[id_at]
            segment = known.get(raw_id) if type(raw_id) is str else None
            if segment is None:
                segment = segment_of(as_record(values))
            if status_at is not None:
                status = values[status_at]
                if type(status) is str and status.lower() == EXITED:
                    tally.skip(segment.segment_id, segment.segment_name, SKIP_EXITED)
                    return
            row = list(pick(values))
            if escape is not None:
                row = escape(row)
            if convert:
                fill_texts(row, convert)  # an absent number (UNSET) becomes None here
            elif convert is None:
                for index in unset_at:
                    if row[index] is UNSET:
                        row[index] = None
            if dedup_at is None:
                write_row(segment.segment_id, encode(row))
                return
            line = encode(row)
            key = tuple([_key_text(values[index]) for index in dedup_at])
            compare = tuple([text or "" for text in row])
            at = None if time_at is None else values[time_at]
            dedup_row(segment.segment_id, key, None if at is UNSET else at, compare, line)

        return write_values

    def _fanned_values_writer(self, names: list[str]) -> Callable[[tuple[Any, ...]], None] | None:
        """`values_writer` for membership maps: the fanned writer's, from a tuple.

        The record's columns are picked from the tuple (its member's columns and absent
        properties from a None put after it), the members read from its map.
        """
        keys, fan = self._keys, self._fan
        membership = self._settings.membership_field
        if fan is None or keys is None or len(keys) < 2 or membership not in names:
            return None
        member_columns = {index for index, _ in self._segment_columns}
        nothing = len(names)  # where the None after the tuple is
        pick = itemgetter(
            *[
                names.index(key) if key in names and index not in member_columns else nothing
                for index, key in enumerate(keys)
            ]
        )
        members_of, map_at = self._members, names.index(membership)

        def write_fanned_values(values: tuple[Any, ...]) -> None:
            fan(members_of({membership: values[map_at]}), list(pick((*values, None))))

        return write_fanned_values

    def _fanned_writer(self) -> Callable[..., None]:
        """`write` for membership maps into text rows, no mandatory fields or dedup keys.

        Equal in output to the general `write`: the record's columns converted once, each
        member's segment columns filled in, with the per-row work cut to locals. Where the
        format allows (`spliced_rows`), the record's own columns are also encoded once.
        """
        sink, tally, members_of = self._sink, self._tally, self._members
        full = self._settings.export_mode == "full"
        get, encode, write_row = self._get, self._encode, sink.write_row
        base_convert, member_convert = self._base_convert, self._member_convert
        segment_columns = self._segment_columns
        escape = escape_formulas if self._escape else None
        known = self._known
        splice = self._splice()
        all_four = (0, 1, 2, 3)

        def write_fanned(record: Mapping[str, Any]) -> None:
            fan(members_of(record), get(record))

        def fan(members: list[Member], base: list[Any]) -> None:
            """Write a record's row per member, `base` being its column values."""
            if not members:
                tally.without_membership += 1
                return
            if escape is not None:
                base = escape(base)
            fill_texts(base, base_convert)
            line_of = None
            for segment, status, qualified_at in members:
                segment_id = segment.segment_id
                if full and status is not None and status.lower() == EXITED:
                    tally.skip(segment_id, segment.segment_name, SKIP_EXITED)
                    continue
                if segment_id not in known:
                    sink.register(segment_id, segment.segment_name, self.stream_name, self.header)
                    known.add(segment_id)
                member_values = [segment_id, segment.segment_name, status, qualified_at]
                if escape is not None:
                    member_values = escape(member_values)
                if splice is not None:
                    fill_texts(member_values, all_four)
                    if line_of is None:
                        line_of = splice(base)
                    write_row(segment_id, line_of(member_values))
                    continue
                values = base.copy()
                for index, which in segment_columns:
                    values[index] = member_values[which]
                if member_convert:
                    fill_texts(values, member_convert)
                write_row(segment_id, encode(values))

        self._fan = fan
        return write_fanned

    def _splice(self) -> RecordRows | None:
        """How to splice fanned-out rows from pieces, for a format whose fields stand alone."""
        separator = self._format.field_separator
        if separator is None:
            return None
        columns, schema, stream = self._columns, self._schema, self.stream_name

        def encoder_of(indexes: Sequence[int]) -> Callable[[list[Any]], bytes]:
            return self._format.stream_encoder(stream, [columns[i] for i in indexes], schema)

        return spliced_rows(len(columns), dict(self._segment_columns), encoder_of, separator)

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
        sink, tally = self._sink, self._tally
        members = self._members(record)
        if not members:
            tally.without_membership += 1
            return
        mode = self._settings.export_mode
        # A fanned-out record's columns are the same for each of its members but the
        # segment's own: read them once, then fill in each member's.
        base = self._get(record) if self._fan_out else None
        ready = base is not None and self._text_fields  # base: the record's field texts
        if ready:
            if self._escape:
                base = escape_formulas(base)  # type: ignore[arg-type]  # set with ready
            fill_texts(base, self._base_convert)  # type: ignore[arg-type]
        for member in members:
            segment = member.segment
            if not keeps(mode, member.status):
                tally.skip(segment.segment_id, segment.segment_name, SKIP_EXITED)
                continue
            row = self._overlay(record, member) if self._needs_row else record
            if self._mandatory is not None and (missing := self._missing(row)):
                tally.skip(segment.segment_id, segment.segment_name, skip_missing(missing))
                continue
            if segment.segment_id not in self._known:
                sink.register(
                    segment.segment_id, segment.segment_name, self.stream_name, self.header
                )
                self._known.add(segment.segment_id)
            if base is None:
                values = self._get(row)
            else:
                values = base.copy()
                member_values = [
                    segment.segment_id,
                    segment.segment_name,
                    member.status,
                    member.qualified_at,
                ]
                if ready and self._escape:
                    member_values = escape_formulas(member_values)
                for index, which in self._segment_columns:
                    values[index] = member_values[which]
            if self._escape and not ready:
                values = escape_formulas(values)
            texts = values if self._text_fields else list(values)
            if self._texts:
                fill_texts(texts, self._member_convert if ready else self._convert)
            line = self._encode(texts if self._text_fields else values)
            if self._dedup_keys is None:
                sink.write_row(segment.segment_id, line)
            else:
                key = tuple([to_text(v) or "" for v in self._dedup_keys(row)])
                compare = tuple([text or "" for text in texts])
                sink.dedup_row(segment.segment_id, key, member.qualified_at, compare, line)
