r"""CSV dialects and field formatting the way AEP writes its S3 export files.

Pure functions, no I/O. `compile_row_formatter` is on the per-row hot path: everything that
depends on the dialect is decided once when the formatter is compiled, so formatting a field
costs a truth test, one precompiled regex ``search`` and, only for the rare field that needs
it, a few ``str.replace`` calls.

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

import csv
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

RowFormatter: TypeAlias = Callable[[Sequence[str | None]], str]

#: Accepted ``csv_delimiter`` values and the character each one means. Besides the characters
#: themselves, the words ``tab``, ``comma``, ``pipe``, ``semicolon`` and ``colon`` are accepted
#: (in any letter case, as AEP's UI names them), and so is the two-character text ``\t``, which
#: is what a tab typed as ``'\t'`` in a single-quoted YAML string turns into.
DELIMITERS: dict[str, str] = {
    "\t": "\t",
    "\\t": "\t",
    "tab": "\t",
    ",": ",",
    "comma": ",",
    "|": "|",
    "pipe": "|",
    ";": ";",
    "semicolon": ";",
    ":": ":",
    "colon": ":",
}

#: Accepted ``csv_null_value`` and ``csv_empty_value`` values: the four letters ``null``, two
#: double-quote characters, or nothing.
NULL_CHOICES = ("null", '""', "")

QUOTE_CHOICES = ('"', "")
ESCAPE_CHOICES = ("\\", "'")

_DELIMITER_CHARS = frozenset(DELIMITERS.values())
_DELIMITER_LIST = "tab, ',', '|', ';', ':'"


class DialectError(ValueError):
    """A CSV formatting setting has a value that is not one of its choices."""


def _choices(values: Sequence[str]) -> str:
    return ", ".join(repr(value) for value in values)


def _text(name: str, value: object) -> str:
    if not isinstance(value, str):
        raise DialectError(f"{name} must be text; got {value!r}")
    return value


def _flag(name: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise DialectError(f"{name} must be true or false; got {value!r}")
    return value


@dataclass(frozen=True)
class CsvDialect:
    r"""How rows are written: AEP's CSV formatting options.

    Attributes:
        delimiter: The field separator, one character (a value of `DELIMITERS`).
        quote: ``'"'``, or ``""`` for no quoting.
        escape: ``"\\"`` or ``"'"``.
        null_value: Text written for a null field, one of `NULL_CHOICES`.
        empty_value: Text written for an empty string, one of `NULL_CHOICES`.
        header: Whether files start with a header row.
        quote_all: Quote every value (other than the null and empty texts); needs a quote.
    """

    delimiter: str = "\t"
    quote: str = '"'
    escape: str = "\\"
    null_value: str = ""
    empty_value: str = ""
    header: bool = True
    quote_all: bool = False

    def __post_init__(self) -> None:
        """Check every field, so that a dialect built directly is as safe as one from settings.

        Raises:
            DialectError: A field is not one of its choices.
        """
        if self.delimiter not in _DELIMITER_CHARS:
            raise DialectError(
                f"csv_delimiter must be one of {_DELIMITER_LIST}; got {self.delimiter!r}"
            )
        if self.quote not in QUOTE_CHOICES:
            raise DialectError(f'csv_quote must be \'"\' or "" (no quoting); got {self.quote!r}')
        if self.escape not in ESCAPE_CHOICES:
            raise DialectError(
                f"csv_escape must be one of {_choices(ESCAPE_CHOICES)}; got {self.escape!r}"
            )
        if self.null_value not in NULL_CHOICES:
            raise DialectError(
                f"csv_null_value must be one of {_choices(NULL_CHOICES)}; got {self.null_value!r}"
            )
        if self.empty_value not in NULL_CHOICES:
            raise DialectError(
                f"csv_empty_value must be one of {_choices(NULL_CHOICES)}; got {self.empty_value!r}"
            )
        _flag("csv_header", self.header)
        _flag("csv_quote_all", self.quote_all)
        if self.quote_all and not self.quote:
            raise DialectError('csv_quote_all needs a quote character, but csv_quote is ""')

    @classmethod
    def from_settings(  # noqa: PLR0917  # positional order is the documented contract
        cls,
        delimiter: object = "\t",
        quote: object = '"',
        escape: object = "\\",
        null_value: object = "",
        empty_value: object = "",
        header: object = True,
        quote_all: object = False,
    ) -> CsvDialect:
        r"""Build a dialect from the ``csv_*`` settings, checking each one.

        Args:
            delimiter: ``csv_delimiter``: a key of `DELIMITERS`.
            quote: ``csv_quote``: ``'"'`` or ``""``.
            escape: ``csv_escape``: ``"\\"`` or ``"'"``.
            null_value: ``csv_null_value``: one of `NULL_CHOICES`.
            empty_value: ``csv_empty_value``: one of `NULL_CHOICES`.
            header: ``csv_header``: a boolean.
            quote_all: ``csv_quote_all``: a boolean; true needs a quote character.

        Returns:
            The dialect.

        Raises:
            DialectError: A setting is not one of its choices; the message names it.
        """
        char = None
        if isinstance(delimiter, str):
            char = DELIMITERS.get(delimiter) or DELIMITERS.get(delimiter.lower())
        if char is None:
            raise DialectError(f"csv_delimiter must be one of {_DELIMITER_LIST}; got {delimiter!r}")
        return cls(
            delimiter=char,
            quote=_text("csv_quote", quote),
            escape=_text("csv_escape", escape),
            null_value=_text("csv_null_value", null_value),
            empty_value=_text("csv_empty_value", empty_value),
            header=_flag("csv_header", header),
            quote_all=_flag("csv_quote_all", quote_all),
        )

    def reader_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for `csv.reader` that read this dialect's output back.

        ``strict`` makes a truncated quoted field or a stray quote an error instead of text.

        Returns:
            The keyword arguments.
        """
        kwargs: dict[str, Any] = {
            "delimiter": self.delimiter,
            "escapechar": self.escape,
            "doublequote": False,
            "skipinitialspace": False,
            "strict": True,
        }
        if self.quote:
            kwargs["quotechar"] = self.quote
            kwargs["quoting"] = csv.QUOTE_MINIMAL
        else:
            kwargs["quotechar"] = None
            kwargs["quoting"] = csv.QUOTE_NONE
        return kwargs


def _char_class(*chars: str) -> re.Pattern[str]:
    return re.compile("[" + "".join(re.escape(char) for char in chars) + "]")


def _plain_row(
    delim: str, null: str, empty: str, special: Callable[[str], object]
) -> Callable[[Sequence[str | None]], str]:
    """The fast case of a row formatter: every field non-null and free of special characters.

    One join and one scan of the joined line instead of a scan per field; a field holding
    the delimiter shows as one delimiter too many. Returns "" when the row needs the
    per-field rules (an empty text written otherwise than as nothing, a special character
    in a field or in the null text), which the caller then applies.
    """
    empty_is_plain = empty == ""

    def plain(row: Sequence[str | None]) -> str:
        if None in row:  # the null text is written as it is, like any plain field
            row = [null if value is None else value for value in row]
        if not empty_is_plain and "" in row:
            return ""
        line = delim.join(row)  # type: ignore[arg-type]  # no None, checked above
        if line.count(delim) != len(row) - 1 or special(line):
            return ""
        return line + "\n"

    return plain


def compile_row_formatter(dialect: CsvDialect) -> RowFormatter:
    r"""Compile the function that formats one row for `dialect`.

    Args:
        dialect: The CSV dialect.

    Returns:
        A function taking the row's field texts (``None`` for a null) and returning the line,
        ending in ``"\n"``. The header row is formatted by the same function.
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

            def format_row_quote_all(row: Sequence[str | None]) -> str:
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
                )

            return format_row_quote_all

        needs_quotes = _char_class(delim, q, esc, "\r", "\n").search
        plain = _plain_row(delim, null, empty, _char_class(q, esc, "\r", "\n").search)

        def format_row_quoted(row: Sequence[str | None]) -> str:
            if line := plain(row):
                return line
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
            )

        return format_row_quoted

    needs_escapes = _char_class(delim, esc, "\r", "\n").search
    esc_delim = esc + delim
    esc_cr = esc + "\r"
    esc_lf = esc + "\n"
    plain = _plain_row(delim, null, empty, _char_class(esc, "\r", "\n").search)

    def format_row_unquoted(row: Sequence[str | None]) -> str:
        if line := plain(row):
            return line
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
        )

    return format_row_unquoted
