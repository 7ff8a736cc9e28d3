"""Singer message reader: msgspec on bytes, line numbers for errors, no data in logs.

RECORD lines of a stream on the fast path skip the SDK's record path. A line of the last
such stream is first offered whole to that stream's one-pass decoder; any other line has
its envelope decoded here and, when it is a RECORD of a fast stream, the record's bytes go
to that stream's typed decoder (`decoder.RecordDecoder`, through `fast.FastRecords`). The
reader keeps the registry of fast streams: sinks `register` theirs as they are made.
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Callable, Iterable
from typing import IO, Any, Protocol

import msgspec
from singer_sdk.contrib.msgspec import MsgSpecReader, decoder

from target_adobe_s3.errors import InputError
from target_adobe_s3.intake.decoder import (
    DECODE_FAILURES,
    LineHandler,
    decode_problem,
)
from target_adobe_s3.jsontypes import json_type_name

_TYPES = ("SCHEMA", "RECORD", "STATE", "ACTIVATE_VERSION", "BATCH")


_BOM = b"\xef\xbb\xbf"
_TELL_EVERY = 1024
"""Records the reader takes on the one-pass path before it counts them to their stream,
when nothing reports progress."""


def check_body(message: dict) -> None:
    """A RECORD's record and a SCHEMA's schema must be objects, a schema with properties.

    Raises:
        InputError: naming the message type, the stream and the key.
    """
    kind = message["type"]
    key = {"RECORD": "record", "SCHEMA": "schema"}.get(kind)
    if key is None or key not in message:
        return
    body = message[key]
    where = f"{kind} message for stream '{message.get('stream')}'"
    if not isinstance(body, dict):
        raise InputError(f"{where}: '{key}' must be a JSON object, got {json_type_name(body)}")
    if kind == "SCHEMA" and "properties" not in body:
        raise InputError(f"{where}: the schema is missing required key(s): properties")


class FastStream(Protocol):
    """A stream's fast path: its record handler, its whole-line handler and its count."""

    decode_line: LineHandler

    def handle(self, data: bytes) -> None:
        """Write the rows of one record's JSON bytes."""

    def add(self, count: int) -> None:
        """Count `count` more records of the stream (those `decode_line` took)."""

    def flush(self) -> None:
        """Pass on the records counted so far (the SDK's counts, progress)."""


class Pace(Protocol):
    """Progress while input is read: a ticker, and how many records to take between counts."""

    batch: int
    """Records the fast path may take before it counts them (1: count each at once)."""

    def start(self) -> None:
        """Input starts: report progress until `stop`."""

    def stop(self) -> None:
        """Input ended or failed."""


class _Unreported:
    """No progress reporting: records are counted every `_TELL_EVERY`."""

    batch = _TELL_EVERY

    def start(self) -> None:
        """Nothing to start."""

    def stop(self) -> None:
        """Nothing to stop."""


class _Envelope(msgspec.Struct):
    """What the fast path needs of a message: its type, stream and record bytes."""

    type: Any = None
    stream: Any = None
    record: msgspec.Raw = msgspec.Raw(b"")


_ENVELOPE = msgspec.json.Decoder(_Envelope)


class LineReader(MsgSpecReader):
    """The SDK's msgspec reader, reading bytes and counting lines.

    The SDK's own reader logs a line it cannot parse; that line may hold personal
    data, so this one reports only the line number and what is wrong with it.
    """

    def __init__(self) -> None:
        super().__init__()
        self.line_number = 0
        self.fast: dict[str, FastStream] = {}
        """Fast streams by name (filled by `register` as sinks are made)."""
        self.progress: Pace = _Unreported()
        """Progress reporting (the export's), started and stopped around the input."""
        self.counts: Counter[str] = Counter()
        """Messages read by type, once `process_lines` has returned."""

    def register(self, stream_name: str, fast: FastStream) -> None:
        """Send the stream's RECORD lines to `fast` (replacing a sink of an older schema)."""
        if (old := self.fast.get(stream_name)) is not None:
            old.flush()
        self.fast[stream_name] = fast

    def flush_counts(self) -> None:
        """Pass on every fast stream's pending count (the SDK drains only sinks that counted)."""
        for fast in self.fast.values():
            fast.flush()

    def deserialize_json(self, line: str | bytes) -> dict:
        """Decode one line into a message dict.

        Raises:
            InputError: the line is not a JSON object in UTF-8, or not a Singer message
                whose record or schema is an object.
        """
        try:
            message = decoder.decode(line)
        except DECODE_FAILURES as exc:
            bom = _BOM if isinstance(line, bytes) else _BOM.decode()
            if line.startswith(bom):  # type: ignore[arg-type]  # bytes with bytes, str with str
                raise InputError(
                    "not valid JSON (the line starts with a UTF-8 byte order mark; "
                    "send UTF-8 without one)"
                ) from None
            raise InputError(decode_problem(exc)) from None
        if not isinstance(message, dict):
            raise InputError("a Singer message must be a JSON object")
        kind = message.get("type")
        if kind not in _TYPES:
            raise InputError(f"unknown message type {kind!r}; expected one of {', '.join(_TYPES)}")
        check_body(message)
        return message

    @staticmethod
    def assert_line_requires(line_dict: dict, requires: set[str]) -> None:
        """Name the missing keys of a message without echoing the message itself.

        Raises:
            InputError: a required key is missing.
        """
        if missing := requires - set(line_dict):
            kind = line_dict.get("type", "message")
            keys = ", ".join(sorted(missing))
            raise InputError(f"{kind} message is missing required key(s): {keys}")

    def _dispatch(
        self, line: Any, callbacks: dict[str, Callable[[dict], None]], stats: Counter[str]
    ) -> None:
        """Decode a line the fast path did not take and hand it to its callback."""
        if not line.strip():
            return
        message = self.deserialize_json(line)
        kind = message["type"]
        callbacks[kind](message)
        stats[kind] += 1

    def process_lines(
        self,
        file_input: IO[Any] | None,
        callbacks: dict[str, Callable[[dict], None]],
    ) -> Counter[str]:
        """Hand each message to its fast handler or its callback; blank lines are ignored.

        Raises:
            InputError: there is no input to read (stdin is closed).
        """
        stats: Counter[str] = Counter()
        source = file_input if file_input is not None else sys.stdin
        if source is None:  # fd 0 was not open when Python started
            raise InputError(
                "stdin is closed, so there is no input to read; pipe Singer messages in "
                "(tap | target-adobe-s3 --config config.json) or give --input FILE"
            )
        lines: Iterable[Any] = getattr(source, "buffer", source)
        fast = self.fast
        envelope = _ENVELOPE.decode
        number = self.line_number
        records = 0
        last: FastStream | None = None  # the last fast stream: its lines are tried first
        last_line: LineHandler | None = None
        taken = 0  # records `last` took and has not yet been told of
        (pace := self.progress).start()  # progress lines until the input ends or fails
        try:
            for line in lines:
                number += 1
                if last_line is not None and last_line(line):
                    taken += 1
                    if taken >= pace.batch:
                        last.add(taken)  # type: ignore[union-attr]  # set with last_line
                        records += taken
                        taken = 0
                    continue
                if taken:
                    last.add(taken)  # type: ignore[union-attr]
                    records += taken
                    taken = 0
                try:
                    head = envelope(line)
                except (msgspec.DecodeError, UnicodeDecodeError, RecursionError, TypeError):
                    head = None
                if head is not None and head.type == "RECORD" and head.record:
                    stream = fast.get(head.stream) if type(head.stream) is str else None
                    if stream is not None:
                        stream.handle(head.record)
                        records += 1
                        last, last_line = stream, stream.decode_line
                        continue
                last = last_line = None  # a SCHEMA may replace the stream's sink
                self.line_number = number
                self._dispatch(line, callbacks, stats)
        finally:
            if taken and last is not None:
                last.add(taken)
                records += taken
            self.line_number = number
            stats["RECORD"] += records
            pace.stop()
            self.counts = stats
        return stats
