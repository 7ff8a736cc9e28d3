"""Segment files: one header per file, the rollover rule, dedup drained into parts, empty files."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from target_adobe_s3.errors import InputError
from target_adobe_s3.files.segment_files import SegmentFile, SegmentFiles, dedup_store
from target_adobe_s3.files.spool import Spool
from target_adobe_s3.formats.csv import CsvFormat
from target_adobe_s3.formats.dialect import CsvDialect
from target_adobe_s3.formats.ndjson import NdjsonFormat

HEADER = ("email", "name")


@pytest.fixture
def spool(tmp_path: Path) -> Iterator[Spool]:
    made = Spool(str(tmp_path))
    yield made
    made.remove()


def part_name(file: SegmentFile, number: int) -> str:
    return f"{file.segment_id}-{number}.csv"


def files_of(spool: Spool, max_rows: int = 2, *, dedup: bool = False) -> SegmentFiles:
    store = dedup_store(spool, 1 << 20, encrypt_spill=False) if dedup else None
    return SegmentFiles(spool, CsvFormat(CsvDialect()), max_rows, part_name, store)


def contents(files: SegmentFiles) -> list[tuple[str, int, int, bytes]]:
    return [(p.segment_id, p.number, p.rows, p.path.read_bytes()) for p in files.finish()]


def test_rows_roll_over_to_the_next_part_at_max_rows(spool: Spool) -> None:
    files = files_of(spool, max_rows=2)
    files.register("s1", "One", "m", HEADER)
    assert spool.get("s1") is None  # no part until the first row
    for n in range(5):
        files.write_row("s1", b"r%d\n" % n)
    third = spool.get("s1")
    assert third is not None
    assert (third.number, third.rows) == (3, 1)  # room for one more
    files.write_row("s1", b"r5\n")
    assert spool.get("s1") is third  # full now, still the segment's part
    assert contents(files) == [
        ("s1", 1, 2, b"email\tname\nr0\nr1\n"),
        ("s1", 2, 2, b"email\tname\nr2\nr3\n"),
        ("s1", 3, 2, b"email\tname\nr4\nr5\n"),
    ]


def test_a_full_part_is_closed_when_the_next_row_comes(spool: Spool) -> None:
    files = files_of(spool, max_rows=1)
    files.register("s1", "One", "m", HEADER)
    files.write_row("s1", b"a\n")
    first = spool.get("s1")
    assert first is not None
    assert first.is_open  # full, but no row asked for a next part yet
    files.write_row("s1", b"b\n")
    assert not first.is_open
    assert spool.get("s1") is not first


def test_each_part_is_opened_under_its_own_name(spool: Spool) -> None:
    named: list[tuple[str, int]] = []

    def record_name(file: SegmentFile, number: int) -> str:
        named.append((file.segment_id, number))
        return part_name(file, number)

    files = SegmentFiles(spool, CsvFormat(CsvDialect()), 1, record_name)
    files.register("s1", "One", "m", HEADER)
    for _ in range(3):
        files.write_row("s1", b"r\n")
    assert named == [("s1", 1), ("s1", 2), ("s1", 3)]


def test_the_format_decides_the_header(spool: Spool) -> None:
    no_header = SegmentFiles(spool, CsvFormat(CsvDialect(header=False)), 10, part_name)
    no_header.register("a", "A", "m", HEADER)
    no_header.write_row("a", b"x\n")
    ndjson = SegmentFiles(spool, NdjsonFormat(), 10, part_name)
    ndjson.register("b", "B", "m", HEADER)
    ndjson.write_row("b", b'{"email":"x"}\n')
    assert [p.path.read_bytes() for p in spool.finish()] == [b"x\n", b'{"email":"x"}\n']


def test_another_header_from_the_same_stream_is_an_input_error(spool: Spool) -> None:
    files = files_of(spool)
    files.register("s1", "One", "m", HEADER)
    files.register("s1", "One", "m", HEADER)  # the same columns again: fine
    with pytest.raises(InputError) as caught:
        files.register("s1", "One", "m", ("email",))
    assert str(caught.value) == (
        "stream 'm' changed its columns while the file of segment 's1' is open: "
        "['email', 'name'] became ['email']; a file has one header, so keep the stream's "
        "columns the same (the `fields` setting fixes them)"
    )


def test_another_header_from_another_stream_is_an_input_error(spool: Spool) -> None:
    files = files_of(spool)
    files.register("s1", "One", "m", HEADER)
    with pytest.raises(InputError) as caught:
        files.register("s1", "One", "other", ("email",))
    assert str(caught.value) == (
        "stream 'other' sends rows to segment 's1', whose file already has other columns "
        "(from stream 'm'): ['email', 'name'] vs ['email']; give both streams the same "
        "columns with the `fields` setting"
    )


def test_dedup_winners_are_drained_into_parts_with_the_rollover(spool: Spool) -> None:
    files = files_of(spool, max_rows=2, dedup=True)
    files.register("s1", "One", "m", HEADER)
    files.register("s2", "Two", "m", HEADER)
    for key, time, line in [("a", 1, b"a-old\n"), ("a", 2, b"a-new\n"), ("b", 1, b"b\n")]:
        files.dedup_row("s1", (key,), time, (line.decode(),), line)
    files.dedup_row("s1", ("c",), 1, ("c",), b"c\n")
    files.dedup_row("s2", ("a",), 1, ("a",), b"only\n")
    dropped = files.drain_dedup()
    assert dropped == [(SegmentFile("s1", "One", "m", HEADER), 1)]
    assert contents(files) == [
        ("s1", 1, 2, b"email\tname\na-new\nb\n"),
        ("s1", 2, 1, b"email\tname\nc\n"),
        ("s2", 1, 1, b"email\tname\nonly\n"),
    ]
    files.close()
    assert list((spool.directory / "dedup").iterdir()) == []


def test_without_dedup_there_is_nothing_to_drain(spool: Spool) -> None:
    assert files_of(spool).drain_dedup() == []


def test_empty_files_only_for_segments_without_one(spool: Spool) -> None:
    files = files_of(spool)
    files.register("s1", "One", "m", HEADER)
    files.write_row("s1", b"r\n")
    assert files.add_empty(SegmentFile("s1", "One", "m", HEADER)) is False
    assert files.add_empty(SegmentFile("s0", "Zero", "", HEADER)) is True
    assert contents(files) == [
        ("s0", 1, 0, b"email\tname\n"),
        ("s1", 1, 1, b"email\tname\nr\n"),
    ]


@pytest.mark.parametrize("memory", [0, 1 << 20])
def test_winners_drained_in_blocks_make_the_parts_rows_one_by_one_make(
    tmp_path: Path, memory: int
) -> None:
    """Winners are written a block at a time; the parts hold what row-by-row writes make."""
    lines = [b"k%02d\n" % n for n in range(23)]
    made = []
    for by_blocks in (True, False):
        (tmp_path / str(by_blocks)).mkdir()
        spool = Spool(str(tmp_path / str(by_blocks)))
        store = dedup_store(spool, memory, encrypt_spill=False)  # 0: every row spills
        files = SegmentFiles(spool, CsvFormat(CsvDialect()), 4, part_name, store)
        files.register("s1", "One", "m", HEADER)
        for line in reversed(lines):
            files.dedup_row("s1", (line.decode(),), None, (line.decode(),), line)
        if by_blocks:
            files.drain_dedup()
        else:
            for line in store.winners("s1"):
                files.write_row("s1", line)
        made.append(contents(files))
        files.close()
        spool.remove()
    assert made[0] == made[1]
    assert [rows for _, _, rows, _ in made[0]] == [4, 4, 4, 4, 4, 3]
    assert b"".join(data.removeprefix(b"email\tname\n") for *_, data in made[0]) == b"".join(lines)
