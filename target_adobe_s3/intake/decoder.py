"""Record decoding for the fast path: a stream's schema compiled into a typed decoder.

The decoder checks, while it parses, the JSON type of every top-level property the
schema declares and that its required properties are present; a mismatch becomes the
same one-line message the SDK path gives (`RecordDecoder.describe`). Values are kept as
received: strings stay strings (date-times are not parsed), numbers keep their digits
(`Decimal`), nested objects and arrays are taken whole.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any, TypedDict, Union

import msgspec
from singer_sdk.exceptions import MissingKeyPropertiesError

if sys.version_info >= (3, 11):
    from typing import Required
else:  # pragma: no cover
    from typing_extensions import Required

from target_adobe_s3.errors import InputError
from target_adobe_s3.jsontypes import declared_types, json_type_name, type_word

_SIMPLE = {"string": str, "integer": int, "boolean": bool, "object": dict, "array": list}
_PYTHON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, Decimal, float),
    "boolean": (bool,),
    "null": (type(None),),
    "object": (dict,),
    "array": (list,),
}
Handler = Callable[[bytes], None]
"""Takes one record's JSON bytes (the fast path's per-stream entry point)."""
LineHandler = Callable[[bytes], bool]
"""Takes a whole line; False when it is not a valid RECORD of its stream (see compile_line)."""
ValuesWriter = Callable[[tuple[Any, ...]], None]
"""Takes one record's values, in the order of the names it was made for."""
ValuesWriterFactory = Callable[
    [Sequence[str], Callable[[tuple[Any, ...]], dict[str, Any]]], ValuesWriter | None
]
"""Makes a ValuesWriter from the names of the values and the tuple-to-record function."""

_TYPE_ERROR = re.compile(
    r"Expected `(?P<expected>[^`]+)`, got `(?P<got>\w+)`(?: - at `(?P<at>.+)`)?"
)
_MISSING = re.compile(r"Object missing required field `(?P<name>.+?)`(?: - at `(?P<at>.+)`)?$")


def type_rule(stream: str, field: str, declared: object, got: str) -> str:
    """The message for a value of the wrong JSON type (both record paths use it)."""
    return f"stream '{stream}': field '{field}' should be of type {declared}, got {got}"


def missing_rule(stream: str, field: str) -> str:
    """The message for a required property that is absent (both record paths use it)."""
    return f"stream '{stream}': required field '{field}' is missing"


def missing_key_rule(stream: str, field: str) -> str:
    """The message for an absent key property (both record paths use it)."""
    return f"stream '{stream}': key property '{field}' is missing from a record"


def _decoded_type(names: list[str]) -> Any:
    """The type msgspec checks a property against (Any when Python must check it)."""
    if "number" in names:  # Decimal would also accept strings: checked after decoding
        return Any
    members: list[Any] = [None if name == "null" else _SIMPLE[name] for name in names]
    if len(members) == 1:
        return members[0]
    return Union[tuple(members)]  # noqa: UP007 (built at run time from the schema)


class RecordDecoder:
    """Decodes one stream's record bytes into a dict, checking it against the schema."""

    def __init__(
        self,
        stream: str,
        schema: Mapping[str, Any],
        *,
        check: bool = True,
        key_properties: Sequence[str] = (),
    ) -> None:
        self.stream = stream
        self.key_properties = tuple(key_properties)
        properties: Mapping[str, Any] = schema.get("properties") or {}
        self._declared = {
            name: spec.get("type") for name, spec in properties.items() if isinstance(spec, dict)
        }
        required = set(schema.get("required") or ()) if check else set()
        self._schema_required = set(required)
        required |= set(self.key_properties) if check else set()
        fields: dict[str, Any] = {}
        numbers: list[tuple[str, frozenset[type]]] = []
        kinds: dict[str, tuple[Any, bool]] = {}
        for name, spec in properties.items():
            names = declared_types(spec) if check and isinstance(spec, dict) else None
            kind = Any if names is None else _decoded_type(names)
            if names is not None and kind is Any:
                allowed = frozenset(t for n in names for t in _PYTHON_TYPES[n])
                numbers.append((name, allowed))
            fields[name] = Required[kind] if name in required else kind
            kinds[name] = (kind, name in required)
        for name in required - set(fields):
            fields[name] = Required[Any]
            kinds[name] = (Any, True)
        self._kinds = kinds
        shape: Any = TypedDict("Record", fields, total=False) if check else dict  # type: ignore[operator]
        self._decode = msgspec.json.Decoder(shape, float_hook=Decimal).decode
        self._message = msgspec.defstruct(
            "RecordMessage", [("type", str), ("stream", str), ("record", shape)]
        )
        self._checked = check
        self._numbers = tuple(numbers)

    def _accept(self, write: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
        """`write` behind the checks the decoder cannot make (`write` itself when none apply)."""
        numbers = self._numbers
        if self.key_properties and not self._checked:

            def accept(record: dict[str, Any]) -> None:
                self.check_numbers(record)
                self.check_keys(record)
                write(record)

            return accept
        if not numbers:
            return write
        check = self.check_numbers

        def accept_numbers(record: dict[str, Any]) -> None:
            get = record.get  # an absent property reads as None here: check_numbers tells
            for name, allowed in numbers:
                if type(get(name)) not in allowed:
                    check(record)
                    break
            write(record)

        return accept_numbers

    def compile(self, write: Callable[[dict[str, Any]], None]) -> Handler:
        """The function that decodes and checks record bytes, then hands the dict to `write`.

        It raises InputError when the bytes are not a JSON object of the schema's types
        (the message names the stream, the field and the expected type, never the value).
        """
        decode, describe, accept = self._decode, self.describe, self._accept(write)

        def handle(data: bytes) -> None:
            try:
                record = decode(data)
            except msgspec.ValidationError as exc:
                raise InputError(describe(str(exc))) from None
            except DECODE_FAILURES as exc:
                raise InputError(decode_problem(exc)) from None
            accept(record)

        return handle

    def compile_line(self, write: Callable[[dict[str, Any]], None]) -> LineHandler:
        """A function for a whole RECORD line of this stream, decoded in one pass.

        It returns False, having written nothing, for any line it cannot take whole (not
        a RECORD of this stream, or not valid): the caller then takes the general path,
        which reports what is wrong. Streams come in long runs, so the reader tries the
        last stream's line handler first.
        """
        decode = msgspec.json.Decoder(self._message, float_hook=Decimal).decode
        stream, accept = self.stream, self._accept(write)

        def handle_line(line: bytes) -> bool:
            try:
                message: Any = decode(line)
            except DECODE_FAILURES:  # ValidationError is a DecodeError
                return False
            if message.type != "RECORD" or message.stream != stream:
                return False
            accept(message.record)
            return True

        return handle_line

    def compile_values_line(self, writer: ValuesWriterFactory) -> LineHandler | None:
        """Like `compile_line`, but the record is decoded into a tuple of its values.

        The values of every property the schema declares (and every required one), in
        the order of `names` given to `writer`: an absent one as None (as every getter reads
        it), or, for a property Python checks (numbers), as msgspec's UNSET, so that the
        check can tell an absent value from a null. `writer(names, as_record)` returns the
        function taking each record's tuple, or None when it has no such path (None is
        returned here too); `as_record` turns a tuple back into a record dict (absent
        properties other than numbers as null). Decoding into a struct, and its fields into
        a tuple, costs about half of a dict and a getter. Only for a checked stream.
        """
        if not self._checked:
            return None
        names = list(self._kinds)
        checked = {name for name, _ in self._numbers}
        unset = msgspec.UNSET

        def as_record(values: tuple[Any, ...]) -> dict[str, Any]:
            return {
                name: value for name, value in zip(names, values, strict=True) if value is not unset
            }

        write = writer(names, as_record)
        if write is None:
            return None
        fields = [
            (f"f{index}", kind, _default(required=required, checked=name in checked))
            for index, (name, (kind, required)) in enumerate(self._kinds.items())
        ]
        record = msgspec.defstruct(
            "Record",
            fields,
            kw_only=True,
            rename={f"f{index}": name for index, name in enumerate(names)},
        )
        message = msgspec.defstruct(
            "RecordValues", [("type", str), ("stream", str), ("record", record)]
        )
        decode = msgspec.json.Decoder(message, float_hook=Decimal).decode
        astuple = msgspec.structs.astuple
        stream, check = self.stream, self.check_numbers
        numbers = [(names.index(name), allowed) for name, allowed in self._numbers]

        def handle_values(line: bytes) -> bool:
            try:
                message: Any = decode(line)
            except DECODE_FAILURES:  # ValidationError is a DecodeError
                return False
            if message.type != "RECORD" or message.stream != stream:
                return False
            values = astuple(message.record)
            for index, allowed in numbers:
                if type(values[index]) not in allowed:
                    check(as_record(values))  # raises unless the value is absent
                    break
            write(values)
            return True

        return handle_values

    def check_numbers(self, record: Mapping[str, Any]) -> None:
        """Check the properties declared as numbers (Python, not the decoder, checks them)."""
        for name, allowed in self._numbers:
            if name in record:
                value = record[name]
                if type(value) not in allowed:  # exact types: a bool is no number
                    declared = self._declared.get(name)
                    raise InputError(type_rule(self.stream, name, declared, json_type_name(value)))

    def check_keys(self, record: Mapping[str, Any]) -> None:
        """Check that the key properties are present (when the decoder does not check it).

        Raises:
            MissingKeyPropertiesError: one is absent, as on the SDK path.
        """
        for name in self.key_properties:
            if name not in record:
                raise MissingKeyPropertiesError(missing_key_rule(self.stream, name))

    def describe(self, message: str) -> str:
        """The decoder's validation message in the words of the SDK path's message.

        Raises:
            MissingKeyPropertiesError: a key property is absent, as on the SDK path.
        """
        if match := _MISSING.match(message):
            name = match["name"]
            if name in self.key_properties and name not in self._schema_required:
                raise MissingKeyPropertiesError(missing_key_rule(self.stream, name))
            return missing_rule(self.stream, name)
        if match := _TYPE_ERROR.match(message):
            at = match["at"] or "$"
            field = _field(at)
            if field == "(record)":
                got = type_word(match["got"])
                return (
                    f"RECORD message for stream '{self.stream}': 'record' must be a JSON "
                    f"object, got {got}"
                )
            declared = self._declared.get(field, match["expected"])
            return type_rule(self.stream, field, declared, type_word(match["got"]))
        return f"stream '{self.stream}': a record does not match the stream's schema ({message})"


def _default(*, required: bool, checked: bool) -> Any:
    """A struct field's default: none (required), UNSET (checked in Python) or None."""
    if required:
        return msgspec.NODEFAULT
    return msgspec.UNSET if checked else None


def _field(at: str) -> str:
    """A msgspec path (`$`, `$.name`, `$["odd name"]`, `$[0]`) as a top-level field name."""
    if at == "$":
        return "(record)"
    if at.startswith("$."):
        return at[2:]
    if at.startswith('$["') and at.endswith('"]'):
        return at[3:-2]
    return at.removeprefix("$")


DECODE_FAILURES = (msgspec.DecodeError, UnicodeDecodeError, RecursionError)
"""What decoding a line that is not JSON in UTF-8 raises."""


def decode_problem(exc: BaseException) -> str:
    """What is wrong with a line that is not JSON (never quoting the line)."""
    if isinstance(exc, UnicodeDecodeError) or "utf-8" in str(exc).lower():
        return "input is not valid UTF-8"
    if isinstance(exc, RecursionError):
        return "not valid JSON (nested too deeply)"
    text = str(exc)
    detail = "the line is cut short" if "truncated" in text else text
    return f"not valid JSON ({detail})"
