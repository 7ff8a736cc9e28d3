"""Object keys of a run's files: extensions, part names, and the run's book of keys.

A file is named by expanding `file_name_template` for its segment; part 2 on gets `_<n>`;
then comes the extension (`.csv`/`.json`, `.gz`, `.gpg`). The settings require
`%SEGMENT_ID%` in every key and `safe_segment_id` keeps distinct ids distinct, so a part's
key is a pure function of its segment, its number and the run, known when its first row
arrives; `KeyBook` refuses the rare key that other macros make two parts share.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from target_adobe_s3.errors import DeliveryError
from target_adobe_s3.naming.safety import MacroError, join_key

if TYPE_CHECKING:
    from target_adobe_s3.naming.macros import RunContext, SegmentValues, Template


def extension(format_extension: str, compression: str, encrypted: bool) -> str:
    """The format's extension (`.csv`, `.json`), then `.gz` with gzip, then `.gpg`."""
    ext = format_extension
    if compression == "gzip":
        ext += ".gz"
    if encrypted:
        ext += ".gpg"
    return ext


def part_file_name(name: str, number: int, ext: str) -> str:
    """A part's file name: the expanded template, `_<number>` after part 1, the extension."""
    return name + (f"_{number}" if number > 1 else "") + ext


@dataclass(frozen=True)
class Naming:
    """How the run names its files: the two templates, the run's values, the extension."""

    folder: Template
    file_name: Template
    run: RunContext
    ext: str

    def name(self, values: SegmentValues, number: int, ext: str | None = None) -> str:
        """The file name of part `number` of a segment's file (`ext`: another extension)."""
        expanded = self.file_name.expand(self.run, values)
        return part_file_name(expanded, number, self.ext if ext is None else ext)

    def key(self, values: SegmentValues, number: int) -> str:
        """The object key of part `number` of a segment's file: folder, then file name.

        A pure function of the segment's values, the part number and the run: the same
        whatever order segments arrive in.

        Raises:
            DeliveryError: the folder path cannot hold this segment's values (named).
        """
        name = self.name(values, number)
        try:
            return join_key(self.folder.expand(self.run, values), name)
        except MacroError as exc:
            raise DeliveryError(f"segment {values.segment_id!r}: {exc}") from None


class KeyBook:
    """The keys given out in one run, so that no two parts of it ever share one.

    Each key is `Naming.key`'s, known when a part opens. `%SEGMENT_ID%` is in every key
    and a changed id carries its own hash, yet other macros can still make two keys meet
    (`%SEGMENT_ID%_%SEGMENT_NAME%` with id `a_b`, name `c` and id `a`, name `b_c`; part 2
    of `seg` and part 1 of `seg_2` under `%SEGMENT_ID%`): the second to ask is refused,
    and the message names both parts in the same order whichever came first.
    """

    def __init__(self, naming: Naming) -> None:
        self.naming = naming
        self._owners: dict[str, tuple[str, int]] = {}

    def key(self, values: SegmentValues, number: int) -> str:
        """The key of part `number` of a segment's file; the same each time it is asked.

        Raises:
            DeliveryError: another part of the run has this key, or the folder path cannot
                hold the segment's values.
        """
        key = self.naming.key(values, number)
        part = (values.segment_id, number)
        owner = self._owners.setdefault(key, part)
        if owner != part:
            first, second = sorted((owner, part))
            raise DeliveryError(
                f"segment {first[0]!r} part {first[1]} and segment {second[0]!r} part "
                f"{second[1]} would both be written to {key!r}; give %SEGMENT_ID% a folder "
                "of its own (e.g. folder_path 'exports/%SEGMENT_ID%'), where no other text "
                "runs into it"
            )
        return key
