"""Rows: which segments a record is in, its columns, and its values as text."""
