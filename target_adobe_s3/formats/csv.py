r"""CSV dialects and field formatting the way AEP writes its S3 export files.

Pure functions, no I/O. `compile_row_encoder` is on the per-row hot path: everything that
depends on the dialect is decided once when the formatter is compiled. A row is joined into
its line and the line scanned (at C speed, once per special character); only the fields
that hold one are quoted or escaped, found from the line (a few ``str.replace`` calls each).
A row with a field holding the delimiter, or a null or empty text that is not plain, takes
the per-field rules. Columns a stream's schema declares as objects or arrays (JSON text,
nearly always quoted) are quoted apart from the line (`CsvFormat.stream_encoder`).

Rules (see DESIGN.md "File format" and the AEP reference "CSV formatting options"):

* Lines end in ``"\n"``; fields are joined by the delimiter.
* A null field (``None``) is written as the chosen null text, an empty string as the chosen
  empty text. The choices are ``null`` (the four letters), ``""`` (two ``"`` characters, even
  when quoting is off, where they are literal text) and the empty string. These texts are
  written exactly as chosen, never escaped or quoted, even with ``quote_all``.
* With quote ``"``: a value is wrapped in quotes when it contains the delimiter, ``"``, the
  escape character, ``\r`` or ``\n`` (or always, with ``quote_all``). Inside the quotes each
  ``"`` and each escape character is prefixed with the escape character. Other values are
  written as they are.
* With no quote character: nothing is quoted; each delimiter, escape character, ``\r`` and
  ``\n`` is prefixed with the escape character, and ``"`` is ordinary text.

The output reads back with ``csv.reader(..., **dialect.reader_kwargs())`` to the same values,
the null and empty texts reading back as whatever their text reads as (``null`` → ``"null"``,
``""`` → ``""`` when quoting, the two characters ``""`` when not, empty → ``""``). One limit
of the CSV format itself: a row made of a single field whose text is empty is an empty line,
which ``csv.reader`` returns as ``[]``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from operator import itemgetter
from typing import TYPE_CHECKING, Any, TypeAlias

from target_adobe_s3.formats.base import FileFormat, FormatOptions, RowEncoder
from target_adobe_s3.formats.dialect import CsvDialect
from target_adobe_s3.jsontypes import declared_types, property_schema

if TYPE_CHECKING:
    from target_adobe_s3.rows.columns import Column

"""One row's field texts (``None`` for a null) to its line, as text."""
CsvEncoder: TypeAlias = Callable[[Sequence[str | None]], bytes]
"""One row's field texts (``None`` for a null) to its line, UTF-8 encoded."""


def _char_class(*chars: str) -> re.Pattern[str]:
    return re.compile("[" + "".join(re.escape(char) for char in chars) + "]")


def _holds_any(chars: tuple[str, ...]) -> Callable[[str], bool]:
    """Whether a line holds one of `chars`.

    One `in` test each, which scans at C speed; a regex character class steps through the
    line a character at a time (1.4 us for a 240-character row, against 0.16).
    """
    if len(chars) == 4:
        a, b, c, d = chars
        return lambda line: a in line or b in line or c in line or d in line
    a, b, c = chars  # the unquoted dialect's three

    return lambda line: a in line or b in line or c in line


def _fields_holding(line: str, delim: str, chars: tuple[str, ...]) -> set[int]:
    """The indexes of the fields of `line` that hold one of `chars` (none holds `delim`).

    Per character, the next place it occurs after the end of the last field found, and
    that field's index by the delimiters before it: a few C scans per field found.
    """
    found: set[int] = set()
    for char in chars:
        at = line.find(char)
        while at >= 0:
            found.add(line.count(delim, 0, at))
            end = line.find(delim, at)
            at = line.find(char, end) if end >= 0 else -1
    return found


def _joined_row(  # noqa: PLR0917 (compiled once per dialect, all of it positional)
    delim: str,
    null: str,
    empty: str,
    chars: tuple[str, ...],
    fix: Callable[[str, list[str]], str],
    per_field: CsvEncoder,
) -> CsvEncoder:
    """A row formatter that works on the row joined into one line, as far as it can.

    One join, one count and a few C scans of the joined line instead of a scan per field.
    When the line holds a special character (`chars`: a quote, the escape character, a line
    break), `fix(line, fields)` returns it as the dialect writes it. The row goes to
    `per_field` (the per-field rules) when a field holds the delimiter (it shows as one
    delimiter too many), an empty text is written otherwise than as nothing, or the null
    text is itself special. Lines are UTF-8 bytes.
    """
    empty_is_plain = empty == ""
    null_is_plain = not any(char in null for char in chars)
    special = _holds_any(chars)

    def joined(row: Sequence[str | None]) -> bytes:
        texts = row
        if None in row:  # the null text is written as it is, like any plain field
            if not null_is_plain:
                return per_field(row)
            texts = [null if value is None else value for value in row]
        if not empty_is_plain and "" in row:
            return per_field(row)
        line = delim.join(texts)  # type: ignore[arg-type]  # no None, replaced above
        if line.count(delim) != len(row) - 1:
            return per_field(row)
        if special(line):
            line = fix(line, texts)  # type: ignore[arg-type]  # no None
        return (line + "\n").encode()

    return joined


def _json_fields_apart(
    dialect: CsvDialect, joined: CsvEncoder, columns: Sequence[int], width: int
) -> CsvEncoder:
    """`joined` for rows whose `columns` hold JSON text, quoted field by field.

    JSON text of an object nearly always holds a quote, so the joined line would nearly
    always be mended field by field. Here the other fields are joined and checked as
    `joined` checks a line (any row they do not pass goes to `joined` itself), and each
    JSON field is quoted by the per-field rule. Only for a dialect with a quote character
    that quotes as needed; the output is `joined`'s, whatever the columns hold.
    """
    delim, q, esc, null = dialect.delimiter, dialect.quote, dialect.escape, dialect.null_value
    esc_esc, esc_q = esc + esc, esc + q
    others = [i for i in range(width) if i not in set(columns)]
    if len(others) < 2:
        return joined
    pick = itemgetter(*others)
    delimiters = len(others) - 1
    chars = (q, esc, "\r", "\n")
    special = _holds_any(chars)
    null_is_plain = not any(char in null for char in (*chars, delim))
    empty_is_plain = dialect.empty_value == ""

    def apart(row: Sequence[str | None]) -> bytes:
        if len(row) != width:
            return joined(row)
        texts: Any = row
        if None in row:
            if not null_is_plain:
                return joined(row)
            texts = [null if value is None else value for value in row]
        if not empty_is_plain and "" in row:
            return joined(row)
        rest = delim.join(pick(texts))
        if rest.count(delim) != delimiters:
            return joined(row)
        fields: list[str] = list(texts) if texts is row else texts  # type: ignore[arg-type]  # no None
        if special(rest):  # other fields to quote: found from their line
            for index in _fields_holding(rest, delim, chars):
                v = fields[others[index]]
                fields[others[index]] = q + v.replace(esc, esc_esc).replace(q, esc_q) + q
        for index in columns:
            v = fields[index]
            if v and (q in v or esc in v or delim in v or "\r" in v or "\n" in v):
                fields[index] = q + v.replace(esc, esc_esc).replace(q, esc_q) + q
        return (delim.join(fields) + "\n").encode()

    return apart


def _holds_json(spec: Mapping[str, Any]) -> bool:
    """Whether a property's values may be objects or arrays (written as JSON text)."""
    names = declared_types(spec)
    return names is not None and bool({"object", "array"} & set(names))


def compile_row_encoder(dialect: CsvDialect) -> CsvEncoder:
    r"""Compile the function that writes one row for `dialect` (the per-row hot path).

    Args:
        dialect: The CSV dialect.

    Returns:
        A function taking the row's field texts (``None`` for a null) and returning the line,
        ending in ``"\n"``, UTF-8 encoded. The header row is written by the same function.
    """
    delim = dialect.delimiter
    esc = dialect.escape
    null = dialect.null_value
    empty = dialect.empty_value
    esc_esc = esc + esc

    if dialect.quote:
        q = dialect.quote
        esc_q = esc + q
        if dialect.quote_all:
            needs_escape = _char_class(q, esc).search

            def format_row_quote_all(row: Sequence[str | None]) -> bytes:
                return (
                    delim.join(
                        [
                            (
                                q
                                + (
                                    v.replace(esc, esc_esc).replace(q, esc_q)
                                    if needs_escape(v)
                                    else v
                                )
                                + q
                            )
                            if v
                            else (empty if v is not None else null)
                            for v in row
                        ]
                    )
                    + "\n"
                ).encode()

            return format_row_quote_all

        needs_quotes = _char_class(delim, q, esc, "\r", "\n").search
        chars = (q, esc, "\r", "\n")

        def quote_fields(line: str, row: list[str]) -> str:
            """Quote the fields that hold a special character (no field holds the delimiter)."""
            fields = list(row)
            for index in _fields_holding(line, delim, chars):
                v = fields[index]
                fields[index] = q + v.replace(esc, esc_esc).replace(q, esc_q) + q
            return delim.join(fields)

        def format_row_quoted(row: Sequence[str | None]) -> bytes:
            return (
                delim.join(
                    [
                        (
                            q + v.replace(esc, esc_esc).replace(q, esc_q) + q
                            if needs_quotes(v)
                            else v
                        )
                        if v
                        else (empty if v is not None else null)
                        for v in row
                    ]
                )
                + "\n"
            ).encode()

        return _joined_row(delim, null, empty, chars, quote_fields, format_row_quoted)

    needs_escapes = _char_class(delim, esc, "\r", "\n").search
    esc_delim = esc + delim
    esc_cr = esc + "\r"
    esc_lf = esc + "\n"

    def escape_line(line: str, row: list[str]) -> str:
        """Escape the escape characters and line breaks (no field holds the delimiter)."""
        return line.replace(esc, esc_esc).replace("\r", esc_cr).replace("\n", esc_lf)

    def format_row_unquoted(row: Sequence[str | None]) -> bytes:
        return (
            delim.join(
                [
                    (
                        v.replace(esc, esc_esc)
                        .replace(delim, esc_delim)
                        .replace("\r", esc_cr)
                        .replace("\n", esc_lf)
                        if needs_escapes(v)
                        else v
                    )
                    if v
                    else (empty if v is not None else null)
                    for v in row
                ]
            )
            + "\n"
        ).encode()

    return _joined_row(delim, null, empty, (esc, "\r", "\n"), escape_line, format_row_unquoted)


class CsvFormat(FileFormat):
    """AEP's CSV: the dialect's rows of field texts, a header row unless `csv_header` is off."""

    file_type = "csv"
    extension = ".csv"
    content_type = "text/csv; charset=utf-8"
    text_fields = True

    def __init__(self, dialect: CsvDialect) -> None:
        self.dialect = dialect
        self.field_separator = dialect.delimiter.encode()  # each field is written by itself
        self._encode = compile_row_encoder(dialect)

    @classmethod
    def from_options(cls, options: FormatOptions) -> CsvFormat:
        """The format of the `csv_*` settings."""
        return cls(options.dialect)

    def header_bytes(self, header: Sequence[str]) -> bytes:
        """The header row (formatted as any row), or b"" with `csv_header` off."""
        return self._encode(list(header)) if self.dialect.header else b""

    def row_encoder(self, header: Sequence[str]) -> RowEncoder:
        """The dialect's row encoder (the same for every header)."""
        return self._encode

    def stream_encoder(
        self, stream: str, columns: Sequence[Column], schema: Mapping[str, Any]
    ) -> RowEncoder:
        """The dialect's row encoder, with JSON columns quoted apart.

        The columns the schema declares as objects or arrays go through
        `_json_fields_apart`: the same bytes, in fewer steps.
        """
        dialect = self.dialect
        json_columns = [
            index
            for index, column in enumerate(columns)
            if _holds_json(property_schema(column.path, schema))
        ]
        if not json_columns or not dialect.quote or dialect.quote_all:
            return self._encode
        return _json_fields_apart(dialect, self._encode, json_columns, len(columns))
