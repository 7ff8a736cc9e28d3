"""StreamWriter: records become rows in a RowSink, as bytes its format makes (no files, no S3)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from target_adobe_s3.formats.csv import CsvFormat
from target_adobe_s3.formats.dialect import CsvDialect
from target_adobe_s3.formats.ndjson import NdjsonFormat
from target_adobe_s3.rows.tally import SKIP_EXITED, Tally, skip_missing
from target_adobe_s3.rows.writer import StreamWriter

SCHEMA = {
    "properties": {
        "segment_id": {"type": ["string"]},
        "segment_status": {"type": ["string", "null"]},
        "email": {"type": ["string", "null"]},
        "n": {"type": ["integer", "null"]},
        "last_qualification_time": {"type": ["string", "integer", "null"]},
    }
}


@dataclass(frozen=True)
class RowSettings:
    fields: Sequence[tuple[str, str | None]] = (("email", None), ("n", "N"))
    segment_id_field: str = "segment_id"
    segment_name_field: str = "segment_name"
    segment_status_field: str = "segment_status"
    qualification_time_field: str = "last_qualification_time"
    membership_field: str = "segmentMembership"
    segment_names: Mapping[str, str] = field(default_factory=lambda: {"s1": "One"})
    export_mode: str = "full"
    mandatory_fields: Sequence[str] = ()
    dedup_keys: Sequence[str] = ()
    formula_escape: bool = False


class Sink:
    """A RowSink that keeps what it is given."""

    def __init__(self) -> None:
        self.registered: list[tuple[str, str, str, tuple[str, ...]]] = []
        self.rows: dict[str, list[bytes]] = {}
        self.deduped: list[tuple[str, tuple[str, ...], Any, tuple[str, ...], bytes]] = []

    def register(
        self, segment_id: str, segment_name: str, stream_name: str, header: tuple[str, ...]
    ) -> None:
        self.registered.append((segment_id, segment_name, stream_name, header))

    def write_row(self, segment_id: str, line: bytes) -> None:
        self.rows.setdefault(segment_id, []).append(line)

    def dedup_row(
        self,
        segment_id: str,
        key: tuple[str, ...],
        time: Any,
        compare: tuple[str, ...],
        line: bytes,
    ) -> None:
        self.deduped.append((segment_id, key, time, compare, line))


def writer(settings: RowSettings, sink: Sink, tally: Tally, *, json: bool = False) -> StreamWriter:
    fmt = NdjsonFormat() if json else CsvFormat(CsvDialect(delimiter=","))
    counted: list[int] = []
    return StreamWriter(
        "m",
        SCHEMA,
        settings=settings,
        sink=sink,
        file_format=fmt,
        tally=tally,
        progress=counted.append,
        typed=True,
    )


RECORDS = [
    {"segment_id": "s1", "email": "a@x.com", "n": 1},
    {"segment_id": "s2", "email": "b@x.com", "n": 2, "segment_status": "exited"},
    {"segment_id": "s1", "email": None, "n": 3},
    {"segment_id": "s2", "email": "c@x.com", "n": 4},
]


def test_the_fast_path_writes_csv_rows_into_the_sink() -> None:
    sink, tally = Sink(), Tally()
    write = writer(RowSettings(), sink, tally)
    for record in RECORDS:
        write.write(record)
    assert sink.registered == [
        ("s1", "One", "m", ("email", "N")),
        ("s2", "s2", "m", ("email", "N")),
    ]
    assert sink.rows == {"s1": [b"a@x.com,1\n", b",3\n"], "s2": [b"c@x.com,4\n"]}
    assert dict(tally.segments["s2"].skipped) == {SKIP_EXITED: 1}


def test_mandatory_fields_skip_and_count() -> None:
    sink, tally = Sink(), Tally()
    write = writer(RowSettings(mandatory_fields=("email",)), sink, tally)
    for record in RECORDS:
        write.write(record)
    assert sink.rows == {"s1": [b"a@x.com,1\n"], "s2": [b"c@x.com,4\n"]}
    assert dict(tally.segments["s1"].skipped) == {skip_missing("email"): 1}


def test_ndjson_rows_keep_their_types() -> None:
    sink, tally = Sink(), Tally()
    write = writer(RowSettings(), sink, tally, json=True)
    write.write(RECORDS[0])
    assert sink.rows == {"s1": [b'{"email":"a@x.com","N":1}\n']}


def test_dedup_rows_go_to_the_dedup_store_with_their_texts() -> None:
    sink, tally = Sink(), Tally()
    write = writer(RowSettings(dedup_keys=("email",)), sink, tally)
    write.write(RECORDS[0])
    assert sink.rows == {}
    assert sink.deduped == [("s1", ("a@x.com",), None, ("a@x.com", "1"), b"a@x.com,1\n")]


def test_flat_dedup_rows_are_those_of_the_general_path() -> None:
    """Flat records with dedup keys take the one-segment path: the same keys (typed values
    as text, null as empty), times, compare texts and lines as the general `write`."""
    settings = RowSettings(
        fields=(("email", None), ("n", "N"), ("last_qualification_time", "T")),
        dedup_keys=("n", "email"),
        mandatory_fields=("n",),
        formula_escape=True,
    )
    records = [
        {"segment_id": "s1", "email": "a@x", "n": 1, "last_qualification_time": "2024-01-02"},
        {"segment_id": "s1", "email": None, "n": 2, "last_qualification_time": 1700000000},
        {"segment_id": "s2", "email": "=b", "n": 3, "segment_status": "Exited"},
        {"segment_id": "s2", "email": "c@x", "n": None},
        {"segment_id": "s2", "email": "=c", "n": 4, "segment_status": "realized"},
    ]
    fast, general = Sink(), Sink()
    fast_tally, general_tally = Tally(), Tally()
    fast_writer = writer(settings, fast, fast_tally)
    general_writer = writer(settings, general, general_tally)
    for record in records:
        fast_writer.write(record)
        StreamWriter.write(general_writer, record)  # the class's write: the general path
    assert fast.deduped == [
        ("s1", ("1", "a@x"), "2024-01-02", ("a@x", "1", "2024-01-02"), b"a@x,1,2024-01-02\n"),
        ("s1", ("2", ""), 1700000000, ("", "2", "1700000000"), b",2,1700000000\n"),
        ("s2", ("4", "=c"), None, ("'=c", "4", ""), b"'=c,4,\n"),
    ]
    assert fast.deduped == general.deduped
    assert fast.registered == general.registered
    assert fast.rows == general.rows == {}
    assert dict(fast_tally.segments["s2"].skipped) == {SKIP_EXITED: 1, skip_missing("n"): 1}
    assert fast_tally.segments == general_tally.segments


def test_flat_rows_of_records_that_leave_columns_out_write_them_empty() -> None:
    """Columns are read in one call when every one is present; a record without one still
    writes it as null (an empty field), typed values as their text."""
    sink, tally = Sink(), Tally()
    settings = RowSettings(fields=(("email", None), ("n", "N"), ("segment_status", None)))
    w = writer(settings, sink, tally)
    w.write({"segment_id": "s1", "segment_status": "realized", "email": "a@x", "n": 10})
    w.write({"segment_id": "s1", "email": "b@x"})
    w.write({"segment_id": "s1", "segment_status": None, "n": 12345678901234567890})
    w.write({"segment_id": "s1", "segment_status": "existing", "email": None, "n": None})
    assert sink.rows["s1"] == [
        b"a@x,10,realized\n",
        b"b@x,,\n",
        b",12345678901234567890,\n",
        b",,existing\n",
    ]


def test_fanned_out_rows_convert_the_record_once_and_each_member_segment() -> None:
    """A record's typed values are field texts in every one of its rows; with the formula
    escape on, a text formula is escaped but a negative number is not, in the record's
    columns and in the member's segment columns alike."""
    schema = {
        "properties": {
            "email": {"type": ["string", "null"]},
            "n": {"type": ["integer", "null"]},
            "vip": {"type": ["boolean", "null"]},
            "segmentMembership": {"type": ["object", "null"]},
        }
    }
    fields = (("email", None), ("n", None), ("vip", None), ("segment_id", None),
              ("segment_name", None), ("segment_status", None))  # fmt: skip
    sink = Sink()
    settings = RowSettings(fields=fields, formula_escape=True, segment_names={"s2": "=Two"})
    w = StreamWriter("m", schema, settings=settings, sink=sink,
                     file_format=CsvFormat(CsvDialect(delimiter=",")), tally=Tally(),
                     progress=lambda _: None, typed=True)  # fmt: skip
    ups = {"s1": {"status": "realized"}, "s2": {"status": "existing"}, "-3": {"status": "x"}}
    w.write({"email": "=cmd", "n": -5, "vip": True, "segmentMembership": {"ups": ups}})
    assert sink.rows == {
        "s1": [b"'=cmd,-5,true,s1,s1,realized\n"],
        "s2": [b"'=cmd,-5,true,s2,'=Two,existing\n"],
        "-3": [b"'=cmd,-5,true,'-3,'-3,x\n"],
    }


def test_fanned_out_rows_are_those_of_the_general_path() -> None:
    """Membership maps into CSV take their own writer: the same rows, registrations and
    skips as the general `write`, exited members left out, typed times as text."""
    schema = {
        "properties": {
            "email": {"type": ["string", "null"]},
            "n": {"type": ["integer", "null"]},
            "segmentMembership": {"type": ["object", "null"]},
        }
    }
    fields = (("email", None), ("segment_id", None), ("n", None),
              ("last_qualification_time", "T"), ("segment_status", None))  # fmt: skip
    settings = RowSettings(fields=fields, formula_escape=True)
    records: list[dict[str, Any]] = [
        {"email": "a@x", "n": 1, "segmentMembership": {"ups": {
            "s1": {"status": "realized", "lastQualificationTime": "2024-01-02T03:04:05Z"},
            "s2": {"status": "Exited"},
            "=s3": {"status": "existing", "lastQualificationTime": 1700000000},
        }}},
        {"email": "=b", "n": None, "segmentMembership": None},
        {"email": None, "n": 2, "segmentMembership": {"ups": {"s1": None}, "other": None}},
    ]  # fmt: skip
    sinks, tallies = (Sink(), Sink()), (Tally(), Tally())
    writers = [
        StreamWriter(
            "m",
            schema,
            settings=settings,
            sink=sink,
            tally=tally,
            file_format=CsvFormat(CsvDialect(delimiter=",")),
            progress=lambda _: None,
            typed=True,
        )
        for sink, tally in zip(sinks, tallies, strict=True)
    ]
    assert "write" in vars(writers[0])  # the fanned-out writer, not the class's
    for record in records:
        writers[0].write(record)
        StreamWriter.write(writers[1], record)
    fast, general = sinks
    assert fast.rows == {
        "s1": [b"a@x,s1,1,2024-01-02T03:04:05Z,realized\n", b",s1,2,,\n"],
        "=s3": [b"a@x,'=s3,1,1700000000,existing\n"],
    }
    assert fast.rows == general.rows
    assert fast.registered == general.registered
    assert dict(tallies[0].segments["s2"].skipped) == {SKIP_EXITED: 1}
    assert tallies[0].segments == tallies[1].segments
    assert tallies[0].without_membership == tallies[1].without_membership == 1
