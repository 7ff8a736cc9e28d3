"""JSON types as a schema writes them: names for messages, and what a property declares.

Messages about values of the wrong type use `type_word` and `json_type_name`; the fast
path's decoder, the row writer and the formats read a property's declared types with
`declared_types` and find it with `property_schema`. A leaf: intake, rows, formats and
the CLI read types the same way, so this imports nothing of the package.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

TYPE_NAMES = {
    "str": "string",
    "int": "integer",
    "float": "number",
    "Decimal": "number",
    "bool": "boolean",
    "dict": "object",
    "object": "object",
    "list": "array",
    "array": "array",
    "null": "null",
    "NoneType": "null",
}
"""Python type names (and msgspec's words for them) → JSON Schema type names."""


def type_word(name: str) -> str:
    """A Python or msgspec type name (`str`, `Decimal`, `object`) as JSON Schema names it."""
    return TYPE_NAMES.get(name, name)


def json_type_name(value: object) -> str:
    """The JSON type of a decoded value, as a schema names it (`True` is a boolean)."""
    if isinstance(value, bool):
        return "boolean"
    return type_word(type(value).__name__)


JSON_TYPES = frozenset({"string", "integer", "number", "boolean", "null", "object", "array"})
"""The type names JSON Schema's `type` keyword takes."""

_COMPOSITE = ("anyOf", "oneOf", "allOf", "not", "if", "$ref")


def declared_types(spec: Mapping[str, Any]) -> list[str] | None:
    """The JSON type names a property allows, or None when only a full validator can tell.

    None for a property with a composite keyword (`anyOf`, `not`, `$ref` ...), no `type`,
    or a `type` that is not a JSON type name or a non-empty list of them. The fast path's
    decoder checks exactly these types, and the row writer relies on the same answer.
    """
    if any(key in spec for key in _COMPOSITE):
        return None
    declared = spec.get("type")
    if isinstance(declared, str):
        names = [declared]
    elif isinstance(declared, list) and declared and all(isinstance(n, str) for n in declared):
        names = list(declared)
    else:
        return None
    return names if all(name in JSON_TYPES for name in names) else None


def property_schema(path: Sequence[str], schema: Mapping[str, Any]) -> Mapping[str, Any]:
    """The JSON Schema of the property at `path` ({} when the schema does not declare it)."""
    node: Any = schema
    for part in path:
        properties = node.get("properties") if isinstance(node, Mapping) else None
        node = properties.get(part) if isinstance(properties, Mapping) else None
        if not isinstance(node, Mapping):
            return {}
    return node
