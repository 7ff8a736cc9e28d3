"""Errors the user sees as one clear line, never as a traceback."""

from __future__ import annotations


class TargetError(Exception):
    """A failure caused by input, settings or the destination, reported in one line."""


class InputError(TargetError):
    """A Singer message the target cannot accept (the reader adds the line number)."""


class DeliveryError(TargetError):
    """S3 refused or failed an operation; nothing was published for the affected file."""
