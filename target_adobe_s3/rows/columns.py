"""Which columns a segment file has: selection, flattening, renaming and order."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Column:
    """One output column: where its value comes from and its header."""

    path: tuple[str, ...]
    header: str


def default_header(path: Sequence[str]) -> str:
    """AEP's header for an attribute: its path joined with `_`, any `.` made `_` too."""
    return "_".join(path).replace(".", "_")


def parse_fields(fields: Sequence[object]) -> list[tuple[str, str | None]]:
    """Read the `fields` setting into (source, header-or-None) pairs.

    Raises:
        ValueError: an entry is neither a source string nor a source/target object.
    """
    parsed: list[tuple[str, str | None]] = []
    for index, entry in enumerate(fields):
        where = f"fields[{index}]"
        source: object
        target: object
        if isinstance(entry, str):
            source, target = entry, None
        elif isinstance(entry, Mapping) and set(entry) <= {"source", "target"}:
            source, target = entry.get("source"), entry.get("target")
            if target is not None and (not isinstance(target, str) or not target):
                raise ValueError(f"{where}: 'target' must be a non-empty string")
        else:
            raise ValueError(
                f"{where}: expected a source path string or an object "
                f'{{"source": "...", "target": "Header"}}, got {entry!r}'
            )
        if not isinstance(source, str) or not source.strip(". "):
            raise ValueError(f"{where}: 'source' must be a non-empty path such as 'person.email'")
        parsed.append((source, target if isinstance(target, str) else None))
    return parsed


def _types(schema: Mapping[str, Any]) -> list[str]:
    types = schema.get("type", [])
    return [types] if isinstance(types, str) else list(types)


def _is_object(schema: Mapping[str, Any]) -> bool:
    """An object with declared properties (a missing `type` counts as object)."""
    types = _types(schema)
    return (not types or "object" in types) and bool(schema.get("properties"))


def schema_columns(schema: Mapping[str, Any]) -> list[Column]:
    """All properties of a stream schema, nested objects flattened, in schema order."""
    columns: list[Column] = []

    def walk(properties: Mapping[str, Any], prefix: tuple[str, ...]) -> None:
        for name, sub in properties.items():
            path = (*prefix, name)
            if isinstance(sub, Mapping) and _is_object(sub):
                walk(sub["properties"], path)
            else:
                columns.append(Column(path, default_header(path)))

    walk(schema.get("properties") or {}, ())
    return columns


SINGER_METADATA_PREFIX = "_sdc_"
"""Properties taps and the SDK add about the extraction (`_sdc_filename`, `_sdc_batched_at`)."""


def default_columns(schema: Mapping[str, Any]) -> list[Column]:
    """The columns when `fields` is not set: every schema column but Singer's metadata.

    `_sdc_*` properties describe the extraction, not the member (tap-jsonl's
    `_sdc_filename` is a path on the tap's host), so they go to the partner only when
    `fields` names them.
    """
    return [
        column
        for column in schema_columns(schema)
        if not column.path[0].startswith(SINGER_METADATA_PREFIX)
    ]


def resolve_source(source: str, schema: Mapping[str, Any]) -> tuple[str, ...] | None:
    """The path a dotted `fields` source names, or None when the schema cannot hold it.

    A top-level property whose own name contains dots wins over nesting. Below an
    object declared without properties (free-form), any path is accepted as given.
    """
    if source in (schema.get("properties") or {}):
        return (source,)
    parts = tuple(source.split("."))
    node: Mapping[str, Any] = schema
    for part in parts:
        properties = node.get("properties")
        if not properties:
            free_form = not _types(node) or "object" in _types(node)
            return parts if free_form else None
        if part not in properties:
            return None
        node = properties[part] if isinstance(properties[part], Mapping) else {}
    return parts


def select_columns(
    fields: Sequence[tuple[str, str | None]], schema: Mapping[str, Any], stream_name: str
) -> list[Column]:
    """Columns for a stream: the `fields` selection, or every schema property but `_sdc_*`.

    Raises:
        ValueError: a selected source is not in the stream's schema, or two columns
            share a header.
    """
    if not fields:
        columns = default_columns(schema)
    else:
        columns = []
        for index, (source, target) in enumerate(fields):
            path = resolve_source(source, schema)
            if path is None:
                known = ", ".join(".".join(c.path) for c in schema_columns(schema)[:20])
                raise ValueError(
                    f"fields[{index}]: '{source}' is not in the schema of stream "
                    f"'{stream_name}' (it has: {known})"
                )
            columns.append(Column(path, target or default_header(source.split("."))))
    seen: set[str] = set()
    for column in columns:
        if column.header in seen:
            raise ValueError(
                f"stream '{stream_name}': two columns are named '{column.header}'; "
                'rename one with a {"source", "target"} entry in `fields`'
            )
        seen.add(column.header)
    return columns


def top_level_keys(columns: Sequence[Column]) -> list[str] | None:
    """The record keys of the columns when each is a top-level property, else None.

    Then ``list(map(record.get, keys))`` is the row's values, missing ones None (what
    `compile_getter`'s function returns, without its call).
    """
    if all(len(c.path) == 1 for c in columns):
        return [c.path[0] for c in columns]
    return None


def compile_getter(columns: Sequence[Column]) -> Callable[[Mapping[str, Any]], list[Any]]:
    """A function that pulls the column values out of a record (missing → None)."""
    keys = top_level_keys(columns)
    if keys is not None:
        return lambda record: list(map(record.get, keys))

    paths = [c.path for c in columns]

    def lookup(record: Mapping[str, Any], path: tuple[str, ...]) -> Any:
        node: Any = record
        for part in path:
            if not isinstance(node, Mapping):
                return None
            node = node.get(part)
        return node

    return lambda record: [lookup(record, path) for path in paths]
