"""Formats: one FileFormat per file type turns rows into bytes.

Each file type is one module and one registration line below (Parquet: `parquet.py` and
`register_format("parquet", ParquetFormat.from_options)`).
"""

from target_adobe_s3.formats.base import FileFormat, build_format, get_format, register_format
from target_adobe_s3.formats.csv import CsvFormat
from target_adobe_s3.formats.ndjson import NdjsonFormat

register_format(CsvFormat.file_type, CsvFormat.from_options)
register_format(NdjsonFormat.file_type, NdjsonFormat.from_options)

__all__ = [
    "CsvFormat",
    "FileFormat",
    "NdjsonFormat",
    "build_format",
    "get_format",
    "register_format",
]
