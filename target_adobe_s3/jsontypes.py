"""JSON type names as a schema writes them, for messages about values of the wrong type.

A leaf: intake (decoding), rows (membership maps, segment ids) and the CLI (a config file
that is not an object) name types the same way, so this imports nothing of the package.
"""

from __future__ import annotations

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
