"""Formats: one FileFormat per file type turns rows into bytes."""
