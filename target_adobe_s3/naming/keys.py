"""Object keys of a run's files: extensions, part names, keys unique by construction (pure).

A file is named by expanding `file_name_template` for its segment; part 2 on gets `_<n>`;
then comes the extension (`.csv`/`.json`, `.gz`, `.gpg`). When two segments' names come out
the same (a template without `%SEGMENT_ID%` in the file name), each of them gets a suffix
from its segment id, so every key is unique without reading what S3 already holds.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from target_adobe_s3.errors import DeliveryError
from target_adobe_s3.naming.macros import SegmentValues
from target_adobe_s3.naming.safety import MacroError, join_key

if TYPE_CHECKING:
    from target_adobe_s3.naming.macros import RunContext, Template


def extension(format_extension: str, compression: str, encrypted: bool) -> str:
    """The format's extension (`.csv`, `.json`), then `.gz` with gzip, then `.gpg`."""
    ext = format_extension
    if compression == "gzip":
        ext += ".gz"
    if encrypted:
        ext += ".gpg"
    return ext


def part_file_name(name: str, number: int, ext: str, suffix: str = "") -> str:
    """A part's file name: the expanded template, clash suffix, `_<number>` after part 1, ext."""
    return name + suffix + (f"_{number}" if number > 1 else "") + ext


def clash_suffix(segment_id: str) -> str:
    """`_<first 8 hex digits of SHA-256(segment id)>`: told apart, stable across runs."""
    return "_" + hashlib.sha256(segment_id.encode()).hexdigest()[:8]


class PartLike(Protocol):
    """What naming needs of a part: its segment, the stream that opened it, its number."""

    @property
    def segment_id(self) -> str:
        """The segment's id."""
        ...

    @property
    def segment_name(self) -> str:
        """The segment's name."""
        ...

    @property
    def stream_name(self) -> str:
        """The stream whose rows opened the file."""
        ...

    @property
    def number(self) -> int:
        """1 for the first part of a file, then 2, 3, ..."""
        ...


@dataclass(frozen=True)
class Naming:
    """How the run names its files: the two templates, the run's values, the extension."""

    folder: Template
    file_name: Template
    run: RunContext
    ext: str

    def name(
        self, values: SegmentValues, number: int, suffix: str = "", ext: str | None = None
    ) -> str:
        """The file name of part `number` of a segment's file (`ext`: another extension)."""
        expanded = self.file_name.expand(self.run, values)
        return part_file_name(expanded, number, self.ext if ext is None else ext, suffix)

    def key(self, values: SegmentValues, number: int, suffix: str = "") -> str:
        """The object key of part `number` of a segment's file: folder, then file name.

        Raises:
            DeliveryError: the folder path cannot hold this segment's values (named).
        """
        name = self.name(values, number, suffix)
        try:
            return join_key(self.folder.expand(self.run, values), name)
        except MacroError as exc:
            raise DeliveryError(f"segment '{values.segment_id}': {exc}") from None


def _values(part: PartLike) -> SegmentValues:
    return SegmentValues(part.segment_id, part.segment_name, part.stream_name)


@dataclass(frozen=True)
class KeyPlan:
    """The key of every part (in the order given) and the warnings to log about them."""

    keys: list[str]
    warnings: list[str]


def plan_keys(parts: Sequence[PartLike], naming: Naming) -> KeyPlan:
    """The object key of every part; segments whose keys clash get a `clash_suffix`.

    Each segment's first part decides: segments whose first parts would share a key each
    get the suffix of their own id on every part, and one warning per shared key says so.

    Raises:
        DeliveryError: a folder cannot be expanded for a segment, or two keys are still
            the same after the suffixes.
    """
    base = {part.segment_id: naming.key(_values(part), 1) for part in parts if part.number == 1}
    suffixes = dict.fromkeys(base, "")
    groups: dict[str, list[str]] = defaultdict(list)
    for segment_id, key in base.items():
        groups[key].append(segment_id)
    warnings = []
    for key, group in groups.items():
        if len(group) > 1:
            warnings.append(
                f"{len(group)} segments would share the key {key}; each gets a suffix from "
                "its segment id (add %SEGMENT_ID% to file_name_template to avoid this)"
            )
            for segment_id in group:
                suffixes[segment_id] = clash_suffix(segment_id)
    keys = [naming.key(_values(p), p.number, suffixes[p.segment_id]) for p in parts]
    if len(set(keys)) != len(keys):
        raise DeliveryError("two files map to the same object key even after suffixing")
    return KeyPlan(keys, warnings)
