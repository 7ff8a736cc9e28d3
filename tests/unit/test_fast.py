"""The fast path of a stream (target_adobe_s3.intake.fast) and the reader's registry of them."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from target_adobe_s3.errors import InputError
from target_adobe_s3.intake.decoder import RecordDecoder
from target_adobe_s3.intake.fast import FastRecords
from target_adobe_s3.intake.reader import LineReader

SCHEMA = {"properties": {"segment_id": {"type": "string"}, "n": {"type": ["integer", "null"]}}}


class Pace:
    """A fixed batch size; progress reporting is not started here."""

    def __init__(self, batch: int) -> None:
        self.batch = batch
        self.started = self.stopped = 0

    def start(self) -> None:
        self.started += 1

    def stop(self) -> None:
        self.stopped += 1


def fast_records(batch: int) -> tuple[FastRecords, list[dict[str, Any]], list[int]]:
    written: list[dict[str, Any]] = []
    counted: list[int] = []
    fast = FastRecords(
        RecordDecoder("members", SCHEMA), written.append, counted.append, Pace(batch)
    )
    return fast, written, counted


def test_records_are_written_at_once_and_counted_in_batches() -> None:
    fast, written, counted = fast_records(batch=3)
    for number in range(7):
        fast.handle(json.dumps({"segment_id": "s1", "n": number}).encode())
    assert [record["n"] for record in written] == list(range(7))
    assert counted == [3, 3]
    assert fast.pending == 1
    fast.flush()
    assert counted == [3, 3, 1]
    fast.flush()  # nothing pending: nothing passed on
    assert counted == [3, 3, 1]


def test_a_batch_of_one_counts_each_record() -> None:
    fast, _, counted = fast_records(batch=1)
    fast.handle(b'{"segment_id": "s1"}')
    fast.add(2)
    assert counted == [1, 2]


def test_a_record_of_the_wrong_type_is_refused_and_not_counted() -> None:
    fast, written, counted = fast_records(batch=1)
    with pytest.raises(InputError, match="field 'n' should be of type"):
        fast.handle(b'{"segment_id": "s1", "n": "seven"}')
    assert (written, counted, fast.pending) == ([], [], 0)


def test_the_line_handler_takes_only_its_streams_records() -> None:
    fast, written, _ = fast_records(batch=10)
    line = {"type": "RECORD", "stream": "members", "record": {"segment_id": "s1"}}
    assert fast.decode_line(json.dumps(line).encode()) is True
    assert fast.decode_line(json.dumps({**line, "stream": "other"}).encode()) is False
    assert fast.decode_line(b'{"type": "STATE", "value": {}}') is False
    assert written == [{"segment_id": "s1"}]


# --- the reader's registry ------------------------------------------------------------------------


def test_a_newer_sink_replaces_a_stream_and_the_old_one_passes_its_count_on() -> None:
    reader = LineReader()
    old, _, old_counted = fast_records(batch=100)
    new, _, new_counted = fast_records(batch=100)
    reader.register("members", old)
    old.add(5)
    reader.register("members", new)
    assert old_counted == [5]
    assert reader.fast == {"members": new}
    new.add(2)
    reader.flush_counts()
    assert new_counted == [2]


def test_the_reader_hands_a_fast_streams_records_to_it() -> None:
    reader = LineReader()
    reader.progress = pace = Pace(batch=2)
    fast, written, counted = fast_records(batch=2)
    reader.register("members", fast)
    seen: list[dict[str, Any]] = []
    callbacks: Any = {kind: seen.append for kind in ("SCHEMA", "RECORD", "STATE")}
    lines = [
        {"type": "RECORD", "stream": "members", "record": {"segment_id": "s1", "n": 1}},
        {"type": "RECORD", "stream": "members", "record": {"segment_id": "s2", "n": 2}},
        {"type": "RECORD", "stream": "members", "record": {"segment_id": "s3", "n": 3}},
        {"type": "STATE", "value": {"done": True}},
    ]
    text = "".join(json.dumps(line) + "\n" for line in lines)
    stats = reader.process_lines(io.BytesIO(text.encode()), callbacks)
    assert [record["segment_id"] for record in written] == ["s1", "s2", "s3"]
    assert seen == [lines[3]]  # only the STATE took the SDK's path
    assert (stats["RECORD"], stats["STATE"]) == (3, 1)
    assert sum(counted) + fast.pending == 3
    assert (pace.started, pace.stopped) == (1, 1)
    assert reader.line_number == 4


NUMBERS = {
    "properties": {
        "segment_id": {"type": "string"},
        "amount": {"type": ["number", "null"]},
        "strict": {"type": "number"},
        "either": {"type": ["number", "boolean"]},
    }
}


def decoded(line: bytes) -> dict[str, Any]:
    written: list[dict[str, Any]] = []
    RecordDecoder("members", NUMBERS).compile(written.append)(line)
    return written[0]


@pytest.mark.parametrize(
    ("line", "amount"),
    [
        (b'{"segment_id": "s", "amount": 10.50}', "10.50"),
        (b'{"segment_id": "s", "amount": -3}', "-3"),
        (b'{"segment_id": "s", "amount": 1E+21}', "1E+21"),
        (b'{"segment_id": "s", "amount": null}', "None"),
        (b'{"segment_id": "s"}', "None"),  # absent: not required
        (b'{"segment_id": "s", "strict": 0.0, "either": true}', "None"),
    ],
)
def test_numbers_are_checked_and_keep_their_digits(line: bytes, amount: str) -> None:
    record = decoded(line)
    assert str(record.get("amount")) == amount


NUMBER_NULL = "should be of type ['number', 'null']"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (b'{"segment_id": "s", "amount": "12"}', f"'amount' {NUMBER_NULL}, got string"),
        (b'{"segment_id": "s", "amount": true}', f"'amount' {NUMBER_NULL}, got boolean"),
        (b'{"segment_id": "s", "amount": {}}', f"'amount' {NUMBER_NULL}, got object"),
        (b'{"segment_id": "s", "strict": null}', "'strict' should be of type number, got null"),
        (
            b'{"segment_id": "s", "amount": 1, "either": "x"}',
            "'either' should be of type ['number', 'boolean'], got string",
        ),
    ],
)
def test_a_number_of_the_wrong_type_is_named(line: bytes, message: str) -> None:
    with pytest.raises(InputError) as caught:
        decoded(line)
    assert str(caught.value) == f"stream 'members': field {message}"
