"""`file_type: parquet`: typed columns from the stream's schema, written in row groups.

Rows travel like any format's rows, as bytes (one JSON array per line, values checked and in
their storage form: see `parquet_types`), so dedup, parts and the spill work unchanged. Each
part's stack starts with a `RowGroups` transform: it holds rows up to a bounded row group,
turns them into Arrow arrays of the columns' types and writes the row group through
pyarrow's ParquetWriter into the rest of the stack (OpenPGP, or the file); closing writes the
footer. `compression` is the codec inside the file, never a gzip layer around it.

Needs pyarrow (the `parquet` extra); this module is imported only when Parquet is chosen.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from types import GenericAlias
from typing import TYPE_CHECKING, Any

import msgspec
import pyarrow as pa
import pyarrow.parquet as pq

from target_adobe_s3.errors import InputError
from target_adobe_s3.formats.base import FileFormat, FormatOptions, RowEncoder, TransformFactory
from target_adobe_s3.formats.parquet_types import (
    BOOL,
    DATE,
    DECIMAL,
    DECIMAL_PRECISION,
    FLOAT64,
    INT64,
    JSON,
    TEXT,
    TIMESTAMP,
    ColumnType,
    column_type,
    compile_row_encoder,
)
from target_adobe_s3.jsontypes import property_schema

if TYPE_CHECKING:
    from target_adobe_s3.rows.columns import Column

GROUP_ROWS = 64 * 1024
"""The most rows in a row group."""
GROUP_BYTES = 1024 * 1024
"""The most row bytes (encoded rows) a part holds before it writes them as a row group."""
SHARED_BYTES = 16 * 1024 * 1024
"""The most row bytes all open parts hold together: past it, the part being written writes
its row group at once, so many open segments make smaller row groups, not more memory."""
CODECS = {"none": "none", "gzip": "gzip", "snappy": "snappy", "zstd": "zstd"}
"""The `compression` setting → pyarrow's codec name."""


def arrow_type(column: ColumnType) -> pa.DataType:
    """The Arrow (and so Parquet) type of a column."""
    if column.kind == DECIMAL:
        return pa.decimal128(DECIMAL_PRECISION, column.scale)
    return {
        INT64: pa.int64(),
        FLOAT64: pa.float64(),
        BOOL: pa.bool_(),
        TIMESTAMP: pa.timestamp("us", tz="UTC"),
        DATE: pa.date32(),
    }.get(column.kind, pa.string())


def arrow_schema(header: Sequence[str], types: Sequence[ColumnType]) -> pa.Schema:
    """The file's schema: one nullable column per header, typed."""
    return pa.schema([pa.field(name, arrow_type(t)) for name, t in zip(header, types, strict=True)])


_ROW_TYPES: dict[str, Any] = {
    INT64: int | None,
    TIMESTAMP: int | None,
    DATE: int | None,
    FLOAT64: float | None,  # a number written as a Decimal's text reads back as its float
    BOOL: bool | None,
    JSON: msgspec.Raw,  # the nested value's JSON text; a null is b"null"
}
_NULL = b"null"


def _json_texts(values: Sequence[msgspec.Raw]) -> list[bytes | None]:
    """The JSON text of each nested value (None for a null)."""
    return [None if text == _NULL else text for text in map(bytes, values)]


class Layout:
    """A header's columns: its Arrow schema, and how rows become a record batch.

    Rows (one JSON array per line, as `compile_row_encoder` writes them) are read in one
    msgspec call typed per column (a float64 column's numbers as floats, an object's JSON
    text as it is), then each column becomes one Arrow array.
    """

    def __init__(self, header: Sequence[str], types: Sequence[ColumnType]) -> None:
        self.schema = arrow_schema(header, types)
        row = GenericAlias(tuple, tuple(_ROW_TYPES.get(t.kind, str | None) for t in types))
        self._decode_lines = msgspec.json.Decoder(row).decode_lines
        self._builds = [
            self._builder(t, field.type) for t, field in zip(types, self.schema, strict=True)
        ]

    @staticmethod
    def _builder(column: ColumnType, arrow: pa.DataType) -> Callable[[Sequence[Any]], pa.Array]:
        if column.kind == JSON:
            return lambda values: pa.array(_json_texts(values), type=arrow)
        if column.kind == DECIMAL:  # the text, `scale` places, cast by Arrow (no Decimal)
            return lambda values: pa.array(values, type=pa.string()).cast(arrow)
        return lambda values: pa.array(values, type=arrow)

    def batch(self, lines: bytes) -> pa.RecordBatch:
        """The record batch of these rows (complete lines)."""
        rows = self._decode_lines(lines)
        columns: list[Any] = list(zip(*rows, strict=True)) if rows else [()] * len(self._builds)
        del rows
        arrays = [build(values) for build, values in zip(self._builds, columns, strict=True)]
        return pa.RecordBatch.from_arrays(arrays, schema=self.schema)


class Budget:
    """The row bytes held by all open parts of a run, against `SHARED_BYTES`."""

    def __init__(self, limit: int = SHARED_BYTES) -> None:
        self.limit = limit
        self.held = 0


class _Sink:
    """The file-like object ParquetWriter writes to: the rest of the part's stack."""

    closed = False

    def __init__(self, write: Callable[[bytes], object]) -> None:
        self._write = write
        self._position = 0

    def write(self, data: bytes) -> int:
        self._write(data)
        self._position += len(data)
        return len(data)

    def tell(self) -> int:
        return self._position

    def writable(self) -> bool:
        return True

    def flush(self) -> None:
        pass  # the stack below writes what it takes

    def close(self) -> None:
        pass  # the part closes its stack


class RowGroups:
    """A part's transform: row bytes in, a Parquet file out, one bounded row group at a time."""

    def __init__(
        self,
        write: Callable[[bytes], object],
        layout: Layout,
        *,
        codec: str,
        budget: Budget,
    ) -> None:
        self._layout = layout
        self._writer: pq.ParquetWriter | None = pq.ParquetWriter(
            _Sink(write), layout.schema, compression=codec
        )
        self._rows = bytearray()
        self._count = 0
        self._budget = budget

    @property
    def buffered(self) -> int:
        """Row bytes held for the next row group."""
        return len(self._rows)

    def write(self, data: bytes | bytearray | memoryview) -> None:
        """Take a chunk of rows (it may end inside a row); write a row group when full."""
        before = len(self._rows)
        self._rows += data
        self._budget.held += len(self._rows) - before
        self._count += self._rows.count(b"\n", before)
        while (
            self._count >= GROUP_ROWS
            or len(self._rows) >= GROUP_BYTES
            or self._budget.held > self._budget.limit
        ) and self._flush():
            pass

    def _flush(self) -> bool:
        """Write the complete rows held (GROUP_ROWS at most) as one row group; False: none."""
        end = self._rows.rfind(b"\n") + 1
        if not end:
            return False
        for _ in range(self._count - GROUP_ROWS):  # a chunk's rows past the limit wait
            end = self._rows.rfind(b"\n", 0, end - 1) + 1
        written = min(self._count, GROUP_ROWS)
        lines = bytes(self._rows[:end])
        del self._rows[:end]
        self._budget.held -= end
        self._count -= written
        batch = self._layout.batch(lines)
        del lines
        assert self._writer is not None
        self._writer.write_batch(batch)
        return True

    def close(self) -> None:
        """Write the last row group and the footer."""
        if self._writer is None:
            return
        while self._flush():
            pass
        writer, self._writer = self._writer, None
        writer.close()

    def abort(self) -> None:
        """Drop the rows held; the file is thrown away."""
        self._budget.held -= len(self._rows)
        self._rows = bytearray()
        self._writer = None


class ParquetFormat(FileFormat):
    """Parquet files: a column per header, typed from the stream's JSON Schema."""

    file_type = "parquet"
    extension = ".parquet"
    content_type = "application/vnd.apache.parquet"
    text_fields = False

    def __init__(self, compression: str = "none") -> None:
        self.codec = CODECS[compression]
        self._types: dict[tuple[str, ...], tuple[tuple[ColumnType, ...], str]] = {}
        self._budget = Budget()

    @classmethod
    def from_options(cls, options: FormatOptions) -> ParquetFormat:
        """The format of the `compression` setting (the codec inside the file)."""
        return cls(options.compression)

    def header_bytes(self, header: Sequence[str]) -> bytes:
        """Nothing: the columns are in the file's schema."""
        return b""

    def row_encoder(self, header: Sequence[str]) -> RowEncoder:
        """Rows of untyped columns (string, each value as CSV writes it)."""
        types = [ColumnType(TEXT)] * len(header)
        return compile_row_encoder("", list(header), list(header), types)

    def stream_encoder(
        self, stream: str, columns: Sequence[Column], schema: Mapping[str, Any]
    ) -> RowEncoder:
        """Rows of these columns, typed from `schema`; the first stream fixes a header's types.

        Raises:
            InputError: another stream (or an earlier schema of this one) gave the same
                columns other types (a file has one schema).
        """
        header = tuple(column.header for column in columns)
        types = tuple(column_type(property_schema(column.path, schema)) for column in columns)
        known = self._types.get(header)
        if known is not None and known[0] != types:
            changed = [
                f"'{name}' {old.describe()} → {new.describe()}"
                for name, old, new in zip(header, known[0], types, strict=True)
                if old != new
            ]
            raise InputError(
                f"stream '{stream}': its Parquet columns have other types than stream "
                f"'{known[1]}' gave the same columns ({', '.join(changed)}); a file has one "
                "schema, so declare the same types, or rename the columns in `fields`"
            )
        self._types.setdefault(header, (types, stream))
        sources = [".".join(column.path) for column in columns]
        return compile_row_encoder(stream, sources, header, types)

    def part_transform(self, header: tuple[str, ...]) -> TransformFactory:
        """Each part's RowGroups, of the schema its header was typed with.

        Columns no stream typed (an empty file of a segment no stream wrote to) are strings.
        """
        types = self._types.get(header, ((ColumnType(TEXT),) * len(header), ""))[0]
        layout = Layout(header, types)
        codec, budget = self.codec, self._budget

        def make(write: Callable[[bytes], object]) -> RowGroups:
            return RowGroups(write, layout, codec=codec, budget=budget)

        return make

    def outer_compression(self, compression: str) -> str:
        """None around the file: `compression` is the codec inside it."""
        return "none"
