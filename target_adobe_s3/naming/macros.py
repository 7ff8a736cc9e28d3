"""Folder and file-name macros as AEP expands them, and the S3 key-safety rules.

Pure functions: no I/O and no clock reads; the export time comes in through `RunContext`.
"""

from __future__ import annotations

import difflib
import hashlib
import math
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

MACRO_NAMES = (
    "SEGMENT_ID",
    "SEGMENT_NAME",
    "DESTINATION_NAME",
    "STREAM_NAME",
    "DATETIME",
    "TIMESTAMP",
    "RUN_ID",
    "CUSTOM_TEXT",
    "ORGANIZATION_NAME",
    "SANDBOX_NAME",
)
"""Every macro, in the order the documentation lists them."""
SEGMENT_MACROS = frozenset({"SEGMENT_ID", "SEGMENT_NAME", "STREAM_NAME"})
RUN_MACROS = {
    "DESTINATION_NAME": "destination_name",
    "RUN_ID": "run_id",
    "CUSTOM_TEXT": "custom_text",
    "ORGANIZATION_NAME": "organization_name",
    "SANDBOX_NAME": "sandbox_name",
}
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
FOLDER_ALLOWED_TEXT = "A-Z a-z 0-9 and / ! - _ . ' ( ) \" ^ [ ] + $ % *"

# Shaped like a macro: `%`, a letter, letters, digits or `_`, an optional `(argument)`, `%`.
# Any other `%` is literal text.
_MACRO_RE = re.compile(r"%([A-Za-z][A-Za-z0-9_]*)(?:\(([^()%]*)\))?%")
_OPEN_RE = re.compile(r"%([A-Za-z][A-Za-z0-9_]*)\(")
_UPPER_NAME_RE = re.compile(r"[A-Z][A-Z0-9_]*")
# `/` and `\`, C0/DEL/C1 controls, line/paragraph separators, the bidi embedding, override and
# isolate controls (they reorder how a key is displayed, so one name could pose as another)
# and lone surrogates (not UTF-8).
_UNSAFE_RE = re.compile(
    "[/\\\\\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)
_FOLDER_RE = re.compile(r"[A-Za-z0-9/!\-_.'()\"^\[\]+$%*]")
_HASH_LEN = 12
MAX_VALUE_BYTES = 160  # one record value in a key
MAX_SEGMENT_BYTES = 200  # one expanded path segment: a file name stays under 255 bytes
MAX_KEY_BYTES = 1024  # S3's limit on an object key
_TIME_RE = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[T ]([0-9]{2}):([0-9]{2})"
    r"(?::([0-9]{2})(?:[.,]([0-9]+))?)?(Z|[+-][0-9]{2}(?::?[0-9]{2})?)?",
    re.IGNORECASE,
)

# (kind, literal, DATETIME tokens): kind is "" for literal text, else the macro name.
_Part = tuple[str, str, tuple[str, ...]]


class MacroError(ValueError):
    """A bad template, pattern or value; the message is one sentence naming the problem."""


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
    for match in _MACRO_RE.finditer(text):
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
            segments[-1].append((safe_path_value(value), value))
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
    return "/".join(_fit_segment(pieces) for pieces in segments)


def _fit_segment(pieces: list[tuple[str, str | None]]) -> str:
    """One path segment, at most MAX_SEGMENT_BYTES: its record values share what is left.

    Text from the settings (literals, dates, run values) is kept whole; the record values
    share the bytes left (shorter ones kept whole first), a value cut to its share getting
    its stable hash suffix. Only when the settings' text alone is too long is the whole
    segment cut the same way.
    """
    text = "".join(piece for piece, _ in pieces)
    if len(text.encode("utf-8")) <= MAX_SEGMENT_BYTES:
        return text
    sizes = {
        i: len(piece.encode("utf-8"))
        for i, (piece, value) in enumerate(pieces)
        if value is not None
    }
    left = MAX_SEGMENT_BYTES - sum(
        len(piece.encode("utf-8")) for piece, value in pieces if value is None
    )
    limits: dict[int, int] = {}  # the values that must be cut, and to how many bytes
    for count, i in enumerate(sorted(sizes, key=sizes.__getitem__)):
        share = max(_HASH_LEN + 2, left // (len(sizes) - count))  # shorter values first
        if sizes[i] > share:
            limits[i] = share
        left -= min(sizes[i], share)
    text = "".join(
        safe_path_value(value, limits[i]) if value is not None and i in limits else piece
        for i, (piece, value) in enumerate(pieces)
    )
    if len(text.encode("utf-8")) <= MAX_SEGMENT_BYTES:
        return text
    return _cut_with_hash(text, text, MAX_SEGMENT_BYTES)


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
        """Fill in the macros; segment values pass through `safe_path_value`.

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


def safe_path_value(value: str, max_bytes: int = MAX_VALUE_BYTES) -> str:
    r"""Make a record value fill exactly one S3 key path segment.

    `/`, `\`, control characters (C0, DEL, C1), U+2028/U+2029, the bidi embedding, override
    and isolate controls (U+202A-U+202E, U+2066-U+2069) and lone surrogates become `_`;
    `.`, `..` and the empty string become underscores; a value longer than `max_bytes` in
    UTF-8 is cut on a character boundary and gets `~` + 12 hex chars of the SHA-256 of the
    original value.
    """
    suffix_len = 1 + _HASH_LEN
    if max_bytes <= suffix_len:
        raise ValueError(f"max_bytes must be more than {suffix_len}, got {max_bytes}")
    cleaned = _UNSAFE_RE.sub("_", value)
    if cleaned in ("", ".", ".."):
        cleaned = "_" * max(1, len(cleaned))
    if len(cleaned.encode("utf-8")) <= max_bytes:
        return cleaned
    return _cut_with_hash(cleaned, value, max_bytes)


def _cut_with_hash(text: str, original: str, max_bytes: int) -> str:
    """`text` cut on a character boundary, then `~` + 12 hex chars of `original`'s SHA-256."""
    digest = hashlib.sha256(original.encode("utf-8", "surrogatepass")).hexdigest()[:_HASH_LEN]
    head = text.encode("utf-8")[: max_bytes - 1 - _HASH_LEN].decode("utf-8", "ignore")
    return f"{head}~{digest}"


def check_folder_path(text: str) -> None:
    """Check a user-typed folder path against AEP's allowed characters; raises MacroError."""
    for i, char in enumerate(text):
        if not _FOLDER_RE.fullmatch(char):
            raise MacroError(
                f"character {char!r} at position {i} is not allowed in a folder path; "
                f"allowed: {FOLDER_ALLOWED_TEXT}"
            )
    for segment in text.split("/"):
        if segment in (".", ".."):
            raise MacroError(f"folder path {text!r} has a {segment!r} segment; it is not allowed")
        check_segment_length(segment)


def check_segment_length(text: str) -> None:
    """A path segment typed in the settings fits in MAX_SEGMENT_BYTES (macros count as 0)."""
    size = len(_MACRO_RE.sub("", text).encode("utf-8", "surrogatepass"))
    if size > MAX_SEGMENT_BYTES:
        raise MacroError(
            f"{text[:40]!r}... is {size} bytes long; a folder or file name may have at most "
            f"{MAX_SEGMENT_BYTES} (before its extension), as file systems allow 255"
        )


def check_plain_value(text: str) -> None:
    """Check a config value used by a macro: one path segment, no control characters."""
    bad = _UNSAFE_RE.search(text)
    if bad:
        raise MacroError(
            f"value {text!r} contains {bad.group(0)!r} at position {bad.start()}; "
            "'/', '\\' and control characters are not allowed"
        )
    if text in (".", ".."):
        raise MacroError(f"value {text!r} is not allowed (it would be a relative path segment)")


def join_key(folder: str, file_name: str) -> str:
    """Join folder and file name into an S3 key: single slashes, no leading slash.

    Raises MacroError if the key would have a `.` or `..` segment or exceed 1,024 bytes.
    """
    key = re.sub(r"/+", "/", f"{folder}/{file_name}").lstrip("/")
    if any(segment in (".", "..") for segment in key.split("/")):
        raise MacroError(f"object key {key!r} has a '.' or '..' segment, which is not allowed")
    if len(key.encode("utf-8", "surrogatepass")) > MAX_KEY_BYTES:
        raise MacroError(f"object key {key[:60]!r}... is longer than S3's {MAX_KEY_BYTES} bytes")
    return key


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
