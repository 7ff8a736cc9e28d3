r"""CSV dialects and field formatting the way AEP writes its S3 export files.

Pure functions, no I/O. `compile_row_encoder` is on the per-row hot path: everything that
depends on the dialect is decided once when the formatter is compiled. A row is joined into
its line and the line scanned once for special characters; only the fields that hold one are
quoted or escaped, found from the line (a few ``str.replace`` calls each). A row with a field
holding the delimiter, or a null or empty text that is not plain, takes the per-field rules.

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
from collections.abc import Callable, Sequence
from typing import TypeAlias

from target_adobe_s3.formats.base import FileFormat, FormatOptions, RowEncoder
from target_adobe_s3.formats.dialect import CsvDialect

"""One row's field texts (``None`` for a null) to its line, as text."""
CsvEncoder: TypeAlias = Callable[[Sequence[str | None]], bytes]
"""One row's field texts (``None`` for a null) to its line, UTF-8 encoded."""


def _char_class(*chars: str) -> re.Pattern[str]:
    return re.compile("[" + "".join(re.escape(char) for char in chars) + "]")


def _joined_row(  # noqa: PLR0917 (compiled once per dialect, all of it positional)
    delim: str,
    null: str,
    empty: str,
    special: re.Pattern[str],
    fix: Callable[[str, list[str], re.Match[str]], str],
    per_field: CsvEncoder,
) -> CsvEncoder:
    """A row formatter that works on the row joined into one line, as far as it can.

    One join, one count and one scan of the joined line instead of a scan per field. When
    the line holds a special character (`special`: a quote, the escape character, a line
    break), `fix(line, fields, match)` returns it as the dialect writes it, told where the
    first one is. The row goes to `per_field` (the per-field rules) when a field holds the
    delimiter (it shows as one delimiter too many), an empty text is written otherwise than
    as nothing, or the null text is itself special. Lines are UTF-8 bytes.
    """
    empty_is_plain = empty == ""
    null_is_plain = special.search(null) is None
    search = special.search

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
        found = search(line)
        if found is not None:
            line = fix(line, texts, found)  # type: ignore[arg-type]  # no None
        return (line + "\n").encode()

    return joined


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
        special = _char_class(q, esc, "\r", "\n")
        search = special.search

        def quote_fields(line: str, row: list[str], found: re.Match[str]) -> str:
            """Quote the fields that hold a special character, found one after the other."""
            fields = list(row)
            index = start = 0
            match: re.Match[str] | None = found
            while match is not None:
                at = match.start()
                index += line.count(delim, start, at)  # no field holds the delimiter
                v = fields[index]
                fields[index] = q + v.replace(esc, esc_esc).replace(q, esc_q) + q
                start = line.find(delim, at)  # where the field ends
                match = search(line, start) if start >= 0 else None
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

        return _joined_row(delim, null, empty, special, quote_fields, format_row_quoted)

    needs_escapes = _char_class(delim, esc, "\r", "\n").search
    esc_delim = esc + delim
    esc_cr = esc + "\r"
    esc_lf = esc + "\n"

    def escape_line(line: str, row: list[str], found: re.Match[str]) -> str:
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

    special = _char_class(esc, "\r", "\n")
    return _joined_row(delim, null, empty, special, escape_line, format_row_unquoted)


class CsvFormat(FileFormat):
    """AEP's CSV: the dialect's rows of field texts, a header row unless `csv_header` is off."""

    file_type = "csv"
    extension = ".csv"
    content_type = "text/csv; charset=utf-8"
    text_fields = True

    def __init__(self, dialect: CsvDialect) -> None:
        self.dialect = dialect
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
