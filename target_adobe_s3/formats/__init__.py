"""Formats: one FileFormat per file type turns rows into bytes.

Each file type is one module and one registration line below. Parquet needs pyarrow (the
`parquet` extra): its module is imported only when `file_type` is parquet, and
`missing_dependency` says, before any input is read, when the extra is not installed.
"""

from __future__ import annotations

from target_adobe_s3.formats.base import (
    FileFormat,
    FormatOptions,
    build_format,
    get_format,
    register_format,
)
from target_adobe_s3.formats.csv import CsvFormat
from target_adobe_s3.formats.ndjson import NdjsonFormat

PARQUET_EXTRA = "pip install 'target-adobe-s3[parquet]'"


def _parquet(options: FormatOptions) -> FileFormat:
    """The Parquet format, imported only when chosen (pyarrow is an optional extra)."""
    from target_adobe_s3.formats.parquet import ParquetFormat  # noqa: PLC0415 (optional extra)

    return ParquetFormat.from_options(options)


def missing_dependency(file_type: str) -> str | None:
    """Why `file_type` cannot be written here (a package not installed), or None."""
    if file_type != "parquet":
        return None
    try:
        import pyarrow.parquet  # noqa: F401, PLC0415 (only when Parquet is chosen)
    except ImportError as exc:
        return (
            f"parquet needs pyarrow, which cannot be imported ({exc}); install the "
            f"extra: {PARQUET_EXTRA}"
        )
    return None


register_format(CsvFormat.file_type, CsvFormat.from_options)
register_format(NdjsonFormat.file_type, NdjsonFormat.from_options)
register_format("parquet", _parquet)

__all__ = [
    "PARQUET_EXTRA",
    "CsvFormat",
    "FileFormat",
    "NdjsonFormat",
    "build_format",
    "get_format",
    "missing_dependency",
    "register_format",
]
