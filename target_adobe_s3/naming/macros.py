"""Folder and file-name macros as AEP expands them: the one list of macros, templates.

A template is compiled once (`Template.parse`) and expanded per segment; what record values
may put into a key, and how long a segment may be, is `safety`'s. Pure functions: no I/O and
no clock reads; the export time comes in through `RunContext`.
"""

from __future__ import annotations

import difflib
import math
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from target_adobe_s3.naming.safety import (
    MACRO_SHAPE,
    MacroError,
    fit_segment,
    safe_path_value,
    safe_segment_id,
)

MACROS: dict[str, str] = {
    "SEGMENT_ID": "segment",
    "SEGMENT_NAME": "segment",
    "DESTINATION_NAME": "run",
    "STREAM_NAME": "segment",
    "DATETIME": "time",
    "TIMESTAMP": "time",
    "RUN_ID": "run",
    "CUSTOM_TEXT": "run",
    "ORGANIZATION_NAME": "run",
    "SANDBOX_NAME": "run",
}
"""Every macro, in the order the documentation lists them, and where its value comes from: a
`SegmentValues` or `RunContext` field of the same name in lower case, or the export time."""
MACRO_NAMES = tuple(MACROS)
SEGMENT_MACROS = frozenset(name for name, source in MACROS.items() if source == "segment")
RUN_MACROS = {name: name.lower() for name, source in MACROS.items() if source == "run"}
DEFAULT_DATETIME_PATTERN = "YYYYMMdd_HHmmss"
DATETIME_TOKEN_ORDER = ("YYYY", "MM", "dd", "HH", "mm", "ss", "SSS")
DATETIME_TOKENS = tuple(sorted(DATETIME_TOKEN_ORDER, key=len, reverse=True))  # longest first


def known_macros(*, tokens: bool = False) -> str:
    """Every macro as a list for messages and descriptions (with the DATETIME tokens)."""
    pattern = f" ({' '.join(DATETIME_TOKEN_ORDER)})" if tokens else ""
    listed = []
    for name in MACRO_NAMES:
        listed.append(f"%{name}%")
        if name == "DATETIME":
            listed.append(f"%DATETIME(pattern)%{pattern}")
    return ", ".join(listed)


KNOWN_MACROS = known_macros()
_OPEN_RE = re.compile(r"%([A-Za-z][A-Za-z0-9_]*)\(")
_UPPER_NAME_RE = re.compile(r"[A-Z][A-Z0-9_]*")
_TIME_RE = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[T ]([0-9]{2}):([0-9]{2})"
    r"(?::([0-9]{2})(?:[.,]([0-9]+))?)?(Z|[+-][0-9]{2}(?::?[0-9]{2})?)?",
    re.IGNORECASE,
)

# (kind, literal, DATETIME tokens): kind is "" for literal text, else the macro name.
_Part = tuple[str, str, tuple[str, ...]]


@dataclass(frozen=True)
class RunContext:
    """Values shared by every file of one run.

    A naive `export_time` is taken as UTC, so expansion never depends on the local zone.
    """

    export_time: datetime
    run_id: str
    destination_name: str
    custom_text: str = ""
    organization_name: str = ""
    sandbox_name: str = ""


@dataclass(frozen=True)
class SegmentValues:
    """Per-segment values; untrusted (they come from records)."""

    segment_id: str
    segment_name: str
    stream_name: str


def _compile_pattern(pattern: str) -> tuple[str, ...]:
    """Split a DATETIME pattern into tokens and literal characters."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        token = next((t for t in DATETIME_TOKENS if pattern.startswith(t, i)), None)
        if token is None and pattern[i].isalpha():
            raise MacroError(
                f"bad %DATETIME% pattern {pattern!r}: letter {pattern[i]!r} at position {i} "
                f"is not a token; use {', '.join(DATETIME_TOKEN_ORDER)} "
                "and non-letter separators"
            )
        out.append(token or pattern[i])
        i += len(token or pattern[i])
    return tuple(out)


def _format_time(tokens: tuple[str, ...], t: datetime) -> str:
    values = {"YYYY": f"{t.year:04d}", "SSS": f"{t.microsecond // 1000:03d}"}
    values.update(zip(("MM", "dd", "HH", "mm", "ss"), f"{t:%m %d %H %M %S}".split(), strict=True))
    return "".join(values.get(tok, tok) for tok in tokens)


def _literal(text: str) -> _Part:
    for opened in _OPEN_RE.finditer(text):
        name = opened.group(1)
        if _UPPER_NAME_RE.fullmatch(name) or name.upper() in MACRO_NAMES:
            raise MacroError(
                f"macro {opened.group(0)} is not closed; write %NAME(argument)% "
                "with no '(', ')' or '%' inside the argument"
            )
    return ("", text, ())


def unknown_macro(text: str, name: str, arg: str | None) -> str:
    """Why `text` (shaped like a macro, named `name`) is not one, naming the closest macro."""
    if name.upper() in MACRO_NAMES:
        closest, rest = name.upper(), " (macro names are upper case)"
    else:
        found = difflib.get_close_matches(name.upper(), MACRO_NAMES, n=1)
        closest, rest = (found or [""])[0], f" Known macros: {KNOWN_MACROS}"
    if not closest:
        return f"unknown macro {text}; known macros: {KNOWN_MACROS}"
    suggestion = f"%{closest}({arg})%" if closest == "DATETIME" and arg else f"%{closest}%"
    return f"unknown macro {text}; did you mean {suggestion}?{rest}"


def _parse_parts(text: str) -> tuple[_Part, ...]:
    parts: list[_Part] = []
    pos = 0
    for match in MACRO_SHAPE.finditer(text):
        name, arg = match.group(1), match.group(2)
        if match.start() > pos:
            parts.append(_literal(text[pos : match.start()]))
        pos = match.end()
        if name == "DATETIME":
            if arg == "":
                raise MacroError("%DATETIME()% has an empty pattern; e.g. %DATETIME(YYYYMMdd)%")
            tokens = _compile_pattern(DEFAULT_DATETIME_PATTERN if arg is None else arg)
            parts.append((name, "", tokens))
        elif name in MACRO_NAMES:
            if arg is not None:
                raise MacroError(f"macro %{name}% takes no argument, got {match.group(0)}")
            parts.append((name, "", ()))
        else:
            raise MacroError(unknown_macro(match.group(0), name, arg))
    if pos < len(text):
        parts.append(_literal(text[pos:]))
    return tuple(parts)


def _expand(parts: tuple[_Part, ...], run: RunContext, segment: SegmentValues) -> str:
    t = run.export_time
    t = t.replace(tzinfo=timezone.utc) if t.tzinfo is None else t.astimezone(timezone.utc)
    # Path segments of (text, record value or None): record values are cut to fit later.
    segments: list[list[tuple[str, str | None]]] = [[]]
    for name, literal, tokens in parts:
        if name in SEGMENT_MACROS:
            value = getattr(segment, name.lower())
            safe = safe_segment_id if name == "SEGMENT_ID" else safe_path_value
            segments[-1].append((safe(value), value))
            continue
        if name == "":
            text = literal
        elif name == "DATETIME":
            text = _format_time(tokens, t)
        elif name == "TIMESTAMP":
            text = str(math.floor(t.timestamp()))
        else:
            text = getattr(run, RUN_MACROS[name])
        first, *rest = text.split("/")
        segments[-1].append((first, None))
        segments.extend([(piece, None)] for piece in rest)
    return "/".join(fit_segment(pieces) for pieces in segments)


@dataclass(frozen=True)
class Template:
    """A folder path or file name with macros, compiled once."""

    text: str
    _parts: tuple[_Part, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        """Compile the text (raises MacroError)."""
        object.__setattr__(self, "_parts", _parse_parts(self.text))

    @classmethod
    def parse(cls, text: str) -> Template:
        """Compile `text`.

        A `%` is literal unless it begins something shaped like a macro (`%NAME%` or
        `%NAME(argument)%`, NAME a letter then letters, digits or `_`); that must be one of
        MACRO_NAMES, in upper case.

        Raises:
            MacroError: an unknown macro (or one in the wrong case), a bad DATETIME pattern.
        """
        return cls(text)

    def expand(self, run: RunContext, segment: SegmentValues) -> str:
        """Fill in the macros; record values are made safe for a key.

        The segment id passes through `safe_segment_id`, names through `safe_path_value`.
        Each `/`-separated segment of the result is at most MAX_SEGMENT_BYTES (200) bytes, so
        a file name with its suffixes stays within the 255 bytes file systems allow: record
        values in a longer segment are cut further (each with its stable hash suffix).
        """
        return _expand(self._parts, run, segment)

    def run_folder(self, run: RunContext) -> str:
        """The folder shared by the whole run: expanded up to the first segment macro.

        A partly written path segment before that macro is cut off, so
        `acme/seg-%SEGMENT_ID%/x` gives `acme/`; a path without segment macros is
        expanded whole.
        """
        cut = next(
            (i for i, (name, _, _) in enumerate(self._parts) if name in SEGMENT_MACROS), None
        )
        if cut is None:
            return self.expand(run, SegmentValues("", "", ""))
        text = _expand(self._parts[:cut], run, SegmentValues("", "", ""))
        return text[: text.rfind("/") + 1]

    def uses(self, macro: str) -> bool:
        """True if the macro of that name (e.g. `SEGMENT_ID`) appears."""
        return any(name == macro for name, _, _ in self._parts)

    def uses_segment(self) -> bool:
        """True if %SEGMENT_ID%, %SEGMENT_NAME% or %STREAM_NAME% appear."""
        return any(name in SEGMENT_MACROS for name, _, _ in self._parts)

    @property
    def static_prefix(self) -> str:
        """The literal text before the first macro (the whole text if there is none)."""
        prefix = ""
        for name, literal, _ in self._parts:
            if name:
                break
            prefix += literal
        return prefix


def parse_export_time(text: str) -> datetime:
    """Parse an ISO-8601 instant (naive means UTC) into an aware UTC datetime."""
    example = "e.g. 2024-05-01T06:18:04Z or 2024-05-01T08:18:04.250+02:00"
    match = _TIME_RE.fullmatch(text.strip())
    if not match:
        raise MacroError(f"export time {text!r} is not an ISO-8601 instant; {example}")
    year, month, day, hour, minute, second, frac, zone = match.groups()
    try:
        offset = timedelta(0)
        if zone and zone.upper() != "Z":
            digits = zone[1:].replace(":", "")
            offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:] or 0))
            offset = -offset if zone[0] == "-" else offset
        micro = int((frac or "0")[:6].ljust(6, "0"))
        y, mo, d, h, mi, s = (int(v or 0) for v in (year, month, day, hour, minute, second))
        parsed = datetime(y, mo, d, h, mi, s, micro, tzinfo=timezone(offset))
        return parsed.astimezone(timezone.utc)
    except (ValueError, OverflowError) as exc:
        raise MacroError(f"export time {text!r} is out of range ({exc}); {example}") from None
