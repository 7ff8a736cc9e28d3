"""What the rows layer needs from the layers after it, declared here so it imports none of them.

`StreamWriter` turns records into rows; it writes them to a `RowSink` (the files layer's
`SegmentFiles`), as bytes a `RowFormat` makes (a `formats` FileFormat), under the settings
of a `RowSettings` (the run's `Settings`). Each is a Protocol: the implementations satisfy
it by shape, and the import graph keeps pointing one way.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from target_adobe_s3.rows.columns import Column


class RowSink(Protocol):
    """Where rows go: one file per segment (see `files.segment_files.SegmentFiles`)."""

    def register(
        self, segment_id: str, segment_name: str, stream_name: str, header: tuple[str, ...]
    ) -> None:
        """Note that a stream writes to a segment (raises InputError on other columns)."""
        ...

    def write_row(self, segment_id: str, line: bytes) -> None:
        """Append one row, opening the segment's first or next part as needed (per row)."""
        ...

    def dedup_row(
        self,
        segment_id: str,
        key: tuple[str, ...],
        time: Any,
        compare: tuple[str, ...],
        line: bytes,
    ) -> None:
        """Offer one row to deduplication (the winners are written at end of input)."""
        ...


class RowFormat(Protocol):
    """How a row's values become bytes (see `formats.base.FileFormat`)."""

    @property
    def text_fields(self) -> bool:
        """Whether rows are field texts (CSV) rather than typed values (NDJSON)."""
        ...

    @property
    def field_separator(self) -> bytes | None:
        """What joins a row's fields when each field's bytes stand alone (CSV), else None."""
        ...

    def stream_encoder(
        self, stream: str, columns: Sequence[Column], schema: Mapping[str, Any]
    ) -> Callable[[list[Any]], bytes]:
        """The per-row function for a stream's columns (`schema`: its rows' JSON Schema)."""
        ...


class RowSettings(Protocol):
    """The settings that decide rows (see `settings.Settings`)."""

    @property
    def fields(self) -> Sequence[tuple[str, str | None]]:
        """Selected columns: (source path, header or None)."""
        ...

    @property
    def segment_id_field(self) -> str:
        """Field holding a flat record's segment id."""
        ...

    @property
    def segment_name_field(self) -> str:
        """Field holding a flat record's segment name."""
        ...

    @property
    def segment_status_field(self) -> str:
        """Field holding a flat record's membership status."""
        ...

    @property
    def qualification_time_field(self) -> str:
        """Field holding the time that decides which duplicate wins."""
        ...

    @property
    def membership_field(self) -> str:
        """Field holding the AEP segmentMembership map."""
        ...

    @property
    def segment_names(self) -> Mapping[str, str]:
        """Segment id → name, for streams that carry only ids."""
        ...

    @property
    def export_mode(self) -> str:
        """`full` (exited members left out) or `incremental`."""
        ...

    @property
    def mandatory_fields(self) -> Sequence[str]:
        """Source paths a row must have (absent, null or empty: skipped)."""
        ...

    @property
    def dedup_keys(self) -> Sequence[str]:
        """Source paths that make a row's deduplication key."""
        ...

    @property
    def formula_escape(self) -> bool:
        """Whether text fields that start a formula are prefixed with `'`."""
        ...
