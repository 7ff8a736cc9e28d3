"""Which segments a record's rows belong to: id, name, status and qualification time.

Flat records carry one segment in their own fields. Records with an AEP membership map
(`{namespace: {segment_id: {"status": ..., "lastQualificationTime": ...}}}`) fan out to
one row per segment in the map. In `full` mode exited members are left out.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from target_adobe_s3.errors import InputError
from target_adobe_s3.jsontypes import json_type_name

EXITED = "exited"
STATUSES = ("realized", "existing", EXITED)


@dataclass(frozen=True)
class Segment:
    """A segment as found on a row."""

    segment_id: str
    segment_name: str


def _as_text(value: Any) -> str | None:
    """A segment id or name as text: strings and integers are accepted."""
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


@dataclass(frozen=True)
class SegmentRouting:
    """How one stream's records find their segment.

    With `id_field` None the stream itself is the segment (AEP streams without a
    segment column): the stream name is its id and, unless `segment_names` says
    otherwise, its name.
    """

    stream_name: str
    id_field: str | None
    name_field: str | None
    names: Mapping[str, str] = field(default_factory=dict)

    def router(self) -> Callable[[Mapping[str, Any]], Segment]:
        """A function from record to segment, raising InputError on a bad id."""
        if self.id_field is None:
            fixed = Segment(self.stream_name, self.names.get(self.stream_name, self.stream_name))
            return lambda record: fixed

        id_field, name_field, names = self.id_field, self.name_field, self.names
        stream = self.stream_name

        def route(record: Mapping[str, Any]) -> Segment:
            raw_id = record.get(id_field)
            segment_id = _as_text(raw_id)
            if not segment_id:
                if raw_id is None or raw_id == "":
                    problem = "is missing or empty"
                else:
                    problem = f"must be a string or an integer, got {json_type_name(raw_id)}"
                raise InputError(f"stream '{stream}': segment id field '{id_field}' {problem}")
            name = _as_text(record.get(name_field)) if name_field else None
            name = name or names.get(segment_id, segment_id)
            segment = known.get((segment_id, name))
            if segment is None:
                segment = known[segment_id, name] = Segment(segment_id, name)
            return segment

        known: dict[tuple[str, str], Segment] = {}
        return route


def routing_for(
    stream_name: str,
    schema: Mapping[str, Any],
    id_field: str,
    name_field: str,
    names: Mapping[str, str],
) -> SegmentRouting:
    """Decide how a stream is routed from its schema (never from a record)."""
    properties = schema.get("properties") or {}
    if id_field not in properties:
        return SegmentRouting(stream_name, None, None, names)
    return SegmentRouting(
        stream_name, id_field, name_field if name_field in properties else None, names
    )


class Member(NamedTuple):
    """One row's membership: the segment, the status and when the member qualified.

    A named tuple: records with a membership map make several of these each.
    """

    segment: Segment
    status: str | None = None
    qualified_at: Any = None


def keeps(mode: str, status: str | None) -> bool:
    """Whether a member with this status is written in this export mode.

    `full` writes a snapshot of current members: everything but `exited`.
    `incremental` writes realized, existing and exited members alike.
    """
    return mode != "full" or (status or "").lower() != EXITED


def flat_members(
    route: Callable[[Mapping[str, Any]], Segment], status_field: str, time_field: str
) -> Callable[[Mapping[str, Any]], list[Member]]:
    """Members of a flat record: one segment, its status and time from the record."""

    def members(record: Mapping[str, Any]) -> list[Member]:
        status = record.get(status_field)
        return [
            Member(
                route(record),
                status if isinstance(status, str) else None,
                record.get(time_field),
            )
        ]

    return members


def map_members(
    stream: str, membership_field: str, names: Mapping[str, str]
) -> Callable[[Mapping[str, Any]], list[Member]]:
    """Members from an AEP membership map, one per (namespace, segment id) entry.

    A record without the map (absent or null) has no memberships. A map of the wrong
    shape is an InputError naming the stream and the field, never the values.
    """

    def bad(what: str) -> InputError:
        return InputError(f"stream '{stream}': field '{membership_field}' {what}")

    segments: dict[str, Segment] = {}  # one Segment per id, however many rows name it

    def segment_for(segment_id: str) -> Segment:
        segment = segments.get(segment_id)
        if segment is None:
            segment = segments[segment_id] = Segment(segment_id, names.get(segment_id, segment_id))
        return segment

    def members(record: Mapping[str, Any]) -> list[Member]:
        membership = record.get(membership_field)
        if membership is None:
            return []
        if type(membership) is not dict and not isinstance(membership, Mapping):
            raise bad(f"must be an object, got {json_type_name(membership)}")
        found: list[Member] = []
        for namespace, entries in membership.items():
            if entries is None:
                continue
            if type(entries) is not dict and not isinstance(entries, Mapping):
                raise bad(f"namespace '{namespace}' must map segment ids to objects")
            for segment_id, entry in entries.items():
                if not segment_id:
                    raise bad(f"namespace '{namespace}' has an empty segment id")
                details = {} if entry is None else entry
                if type(details) is not dict and not isinstance(details, Mapping):
                    raise bad(f"segment '{segment_id}' must be an object with a status")
                status = details.get("status")
                found.append(
                    Member(
                        segment_for(segment_id),
                        status if type(status) is str or isinstance(status, str) else None,
                        details.get("lastQualificationTime"),
                    )
                )
        return found

    return members
