"""The FileFormat seam: what a file type decides, and the registry of file types.

A file type is one module with a `FileFormat` subclass and one `register_format` line in
`formats/__init__.py`; nothing else tests the file type. The rows layer hands a format the
values of each row and takes bytes back (`row_encoder`, or `stream_encoder` for a format
that types its columns from the stream's JSON Schema); the files layer asks it for the
header (`header_bytes`) and for a `part_transform` (a columnar format turns each part's rows
into its file there); naming and delivery take `extension`, `outer_compression` and
`content_type`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

if TYPE_CHECKING:
    from target_adobe_s3.formats.dialect import CsvDialect
    from target_adobe_s3.rows.columns import Column

RowEncoder = Callable[[list[Any]], bytes]
"""Turns one row's values (in column order) into the bytes of that row in the file."""


class PartTransform(Protocol):
    """What a part's row bytes go through first, when a format makes the file itself.

    It takes the rows' bytes in chunks that may end inside a row, and writes the file's
    bytes to the writer it was made with (the rest of the part's stack).
    """

    @property
    def buffered(self) -> int:
        """Bytes of rows held in memory, not yet written."""
        ...

    def write(self, data: bytes | bytearray | memoryview) -> None:
        """Take the next chunk of row bytes."""
        ...

    def close(self) -> None:
        """Write what is held and the file's end (the part then ends)."""
        ...

    def abort(self) -> None:
        """Drop what is held, write nothing more (idempotent)."""
        ...


TransformFactory = Callable[[Callable[[bytes], object]], PartTransform]
"""Makes a part's transform over the function that writes to the rest of its stack."""


class FileFormat(ABC):
    """How rows of one file type become bytes, and how the files are named and typed."""

    file_type: ClassVar[str]
    """The `file_type` setting's value that selects this format."""
    extension: ClassVar[str]
    """The file name's extension before any `.gz`/`.gpg` (`.csv`, `.json`)."""
    content_type: ClassVar[str]
    """The objects' Content-Type when neither compressed nor encrypted."""
    text_fields: ClassVar[bool]
    """Whether rows are field texts (`to_text` of each value, `csv_formula_escape`
    applies) rather than the values with their JSON types."""
    field_separator: bytes | None = None
    """What joins a row's fields, when a row is its fields' bytes, each encoded by itself,
    joined by it (then rows can be spliced from pieces: `rows.fanout`); None otherwise."""

    @abstractmethod
    def header_bytes(self, header: Sequence[str]) -> bytes:
        """What a file starts with, for these column headers (b"" for none)."""

    @abstractmethod
    def row_encoder(self, header: Sequence[str]) -> RowEncoder:
        """The function that turns one row of these columns into its bytes (hot path)."""

    def stream_encoder(
        self, stream: str, columns: Sequence[Column], schema: Mapping[str, Any]
    ) -> RowEncoder:
        """The row encoder for a stream's columns, `schema` being its rows' JSON Schema.

        By default `row_encoder` of the headers; a typed format reads each column's type
        from the schema here.
        """
        return self.row_encoder([column.header for column in columns])

    def part_transform(self, header: tuple[str, ...]) -> TransformFactory | None:
        """What makes each part's file from its row bytes; None: the row bytes are the file."""
        return None

    def outer_compression(self, compression: str) -> str:
        """The `compression` applied around the whole file: `.gz` and gzip in the stack.

        "none" for a format that compresses inside the file.
        """
        return compression


class FormatOptions(Protocol):
    """The settings a format is built from (`Settings` has each)."""

    @property
    def file_type(self) -> str:
        """The `file_type` setting."""
        ...

    @property
    def dialect(self) -> CsvDialect:
        """The `csv_*` settings."""
        ...

    @property
    def compression(self) -> str:
        """The `compression` setting (a columnar format compresses inside the file)."""
        ...


FormatFactory = Callable[[FormatOptions], FileFormat]

_FORMATS: dict[str, FormatFactory] = {}


def register_format(file_type: str, factory: FormatFactory) -> None:
    """Make `file_type` buildable: `factory(options)` returns its FileFormat.

    Raises:
        ValueError: the file type is registered already.
    """
    if file_type in _FORMATS:
        raise ValueError(f"file type '{file_type}' is registered already")
    _FORMATS[file_type] = factory


def file_types() -> tuple[str, ...]:
    """The registered file types, in registration order."""
    return tuple(_FORMATS)


def get_format(file_type: str) -> FormatFactory:
    """The factory of a registered file type.

    Raises:
        ValueError: no format is registered for `file_type` (the message lists those that are).
    """
    factory = _FORMATS.get(file_type)
    if factory is None:
        known = ", ".join(file_types())
        raise ValueError(f"file_type must be one of {known}; got {file_type!r}")
    return factory


def build_format(options: FormatOptions) -> FileFormat:
    """The FileFormat the settings ask for (`file_type`).

    Raises:
        ValueError: `file_type` names no registered format.
    """
    return get_format(options.file_type)(options)
