"""AEP's CSV formatting options: the dialect, its choices and their checks (no I/O)."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

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
