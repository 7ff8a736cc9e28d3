r"""What may go into an S3 object key: AEP's rules for record values, typed text and lengths.

A record value (segment id or name) fills exactly one path segment: `/`, `\` and control
characters are replaced, `.` and `..` too, and an over-long value is cut with a stable hash
suffix; letters of any script, digits, spaces and ordinary punctuation stay. A segment id
that had to change gets the hash suffix whatever its length (`safe_segment_id`), so distinct
ids always give distinct texts and a key is known from the id alone. An expanded path
segment is at most MAX_SEGMENT_BYTES, so a file name with its extensions fits in 255 bytes;
a key at most S3's MAX_KEY_BYTES. A folder path typed in the settings uses AEP's allowed
characters. Pure functions; `MacroError` is the one error of naming (macros raise it too).
"""

from __future__ import annotations

import hashlib
import re

FOLDER_ALLOWED_TEXT = "A-Z a-z 0-9 and / ! - _ . ' ( ) \" ^ [ ] + $ % *"
MAX_VALUE_BYTES = 160  # one record value in a key
MAX_SEGMENT_BYTES = 200  # one expanded path segment: a file name stays under 255 bytes
MAX_KEY_BYTES = 1024  # S3's limit on an object key

# Shaped like a macro: `%`, a letter, letters, digits or `_`, an optional `(argument)`, `%`.
# Any other `%` is literal text. Macros take no room in a typed path segment.
MACRO_SHAPE = re.compile(r"%([A-Za-z][A-Za-z0-9_]*)(?:\(([^()%]*)\))?%")
# `/` and `\`, C0/DEL/C1 controls, line/paragraph separators, the bidi embedding, override and
# isolate controls (they reorder how a key is displayed, so one name could pose as another)
# and lone surrogates (not UTF-8).
_UNSAFE_RE = re.compile(
    "[/\\\\\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)
_FOLDER_RE = re.compile(r"[A-Za-z0-9/!\-_.'()\"^\[\]+$%*]")
_HASH_LEN = 12
# How a changed value ends: `~` and the first _HASH_LEN hex digits of its SHA-256.
HASH_SUFFIX_RE = re.compile(rf"~[0-9a-f]{{{_HASH_LEN}}}\Z")


class MacroError(ValueError):
    """A bad template, pattern or value; the message is one sentence naming the problem."""


def safe_path_value(value: str, max_bytes: int = MAX_VALUE_BYTES) -> str:
    r"""Make a record value fill exactly one S3 key path segment.

    `/`, `\`, control characters (C0, DEL, C1), U+2028/U+2029, the bidi embedding, override
    and isolate controls (U+202A-U+202E, U+2066-U+2069) and lone surrogates become `_`;
    `.`, `..` and the empty string become underscores; a value longer than `max_bytes` in
    UTF-8 is cut on a character boundary and gets `~` + 12 hex chars of the SHA-256 of the
    original value.
    """
    _check_room(max_bytes)
    cleaned = _clean(value)
    if len(cleaned.encode("utf-8")) <= max_bytes:
        return cleaned
    return _cut_with_hash(cleaned, value, max_bytes)


def safe_segment_id(value: str, max_bytes: int = MAX_VALUE_BYTES) -> str:
    """A segment id as it goes into a key: as it is, or made safe and unique by itself.

    An id that fills one path segment as it is, and does not end like a changed id does
    (`~` + 12 lowercase hex digits), is kept exactly (AEP's own ids, UUIDs, always are).
    Any other id is cleaned as `safe_path_value` cleans, cut to fit `max_bytes`, and ends
    in `~` + 12 hex digits of the SHA-256 of the original id, even when nothing was cut.
    So two distinct ids never give the same text: unchanged ids are distinct as they are,
    changed ones by their hashes, and no unchanged id ends the way a changed one does.
    """
    _check_room(max_bytes)
    fits = len(value.encode("utf-8", "surrogatepass")) <= max_bytes
    if fits and _clean(value) == value and not HASH_SUFFIX_RE.search(value):
        return value
    return _cut_with_hash(_clean(value), value, max_bytes)


def _check_room(max_bytes: int) -> None:
    suffix_len = 1 + _HASH_LEN
    if max_bytes <= suffix_len:
        raise ValueError(f"max_bytes must be more than {suffix_len}, got {max_bytes}")


def _clean(value: str) -> str:
    """`value` with unsafe characters as `_`, and `.`, `..` or nothing as underscores."""
    cleaned = _UNSAFE_RE.sub("_", value)
    if cleaned in ("", ".", ".."):
        cleaned = "_" * max(1, len(cleaned))
    return cleaned


def fit_segment(pieces: list[tuple[str, str | None]]) -> str:
    """One path segment, at most MAX_SEGMENT_BYTES: its record values share what is left.

    Each piece is (text, the record value it was made from, or None for text from the
    settings). Text from the settings (literals, dates, run values) is kept whole; the record
    values share the bytes left (shorter ones kept whole first), a value cut to its share
    getting its stable hash suffix. Only when the settings' text alone is too long is the
    whole segment cut the same way.
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
        _cut_with_hash(_clean(value), value, limits[i])
        if value is not None and i in limits
        else piece
        for i, (piece, value) in enumerate(pieces)
    )
    if len(text.encode("utf-8")) <= MAX_SEGMENT_BYTES:
        return text
    return _cut_with_hash(text, text, MAX_SEGMENT_BYTES)


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
    size = len(MACRO_SHAPE.sub("", text).encode("utf-8", "surrogatepass"))
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
