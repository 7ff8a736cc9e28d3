"""Object keys: extensions, part names, and the run's KeyBook (same keys in any order)."""

from __future__ import annotations

import hashlib
import random
from datetime import datetime, timezone

import pytest

from target_adobe_s3.errors import DeliveryError
from target_adobe_s3.naming.keys import KeyBook, Naming, extension, part_file_name
from target_adobe_s3.naming.macros import RunContext, SegmentValues, Template

RUN = RunContext(
    export_time=datetime(2024, 5, 1, 6, 18, 4, tzinfo=timezone.utc),
    run_id="run-1",
    destination_name="amazon_s3",
)


def sha12(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def naming(folder: str = "", name: str = "%SEGMENT_ID%", ext: str = ".csv") -> Naming:
    return Naming(Template.parse(folder), Template.parse(name), RUN, ext)


@pytest.mark.parametrize(
    ("fmt", "compression", "encrypted", "expected"),
    [
        (".csv", "none", False, ".csv"),
        (".json", "none", False, ".json"),
        (".csv", "gzip", False, ".csv.gz"),
        (".json", "none", True, ".json.gpg"),
        (".csv", "gzip", True, ".csv.gz.gpg"),
    ],
)
def test_extension_is_format_then_gzip_then_gpg(
    fmt: str, compression: str, encrypted: bool, expected: str
) -> None:
    assert extension(fmt, compression, encrypted) == expected


def test_part_file_name_numbers_parts_after_the_first() -> None:
    assert part_file_name("seg1", 1, ".csv") == "seg1.csv"
    assert part_file_name("seg1", 2, ".csv.gz") == "seg1_2.csv.gz"
    assert part_file_name("out", 3, ".json") == "out_3.json"


def test_naming_expands_the_templates_for_a_segment() -> None:
    names = naming("exports/%SEGMENT_NAME%", "%DESTINATION_NAME%_segment%SEGMENT_ID%_%DATETIME%")
    values = SegmentValues("s1", "Luxury Audience", "members")
    assert names.name(values, 2) == "amazon_s3_segments1_20240501_061804_2.csv"
    assert names.name(values, 1, ext=".csv") == "amazon_s3_segments1_20240501_061804.csv"
    assert names.key(values, 1) == (
        "exports/Luxury Audience/amazon_s3_segments1_20240501_061804.csv"
    )


def v(segment_id: str, name: str = "Name") -> SegmentValues:
    return SegmentValues(segment_id, name, "members")


def test_keybook_gives_each_part_its_key_and_the_same_key_when_asked_again() -> None:
    book = KeyBook(naming("f/%SEGMENT_NAME%", "seg_%SEGMENT_ID%"))
    assert book.key(v("s1"), 1) == "f/Name/seg_s1.csv"
    assert book.key(v("s1"), 2) == "f/Name/seg_s1_2.csv"
    assert book.key(v("s2", "Other"), 1) == "f/Other/seg_s2.csv"
    assert book.key(v("s1"), 1) == "f/Name/seg_s1.csv"


def test_ids_that_sanitise_alike_get_distinct_keys_from_their_hashes() -> None:
    book = KeyBook(naming("f", "%SEGMENT_ID%"))
    assert book.key(v("a/b"), 1) == f"f/a_b~{sha12('a/b')}.csv"
    assert book.key(v("a\\b"), 1) == "f/a_b~" + sha12("a\\b") + ".csv"
    assert book.key(v("a_b"), 1) == "f/a_b.csv"  # needs no change: kept as AEP has it


PARTS = [
    (v("a_b", "c"), 1),
    (v("a", "b_c"), 1),
    (v("x/y", "n"), 1),
    (v("x_y", "n"), 1),
    (v("x_y", "n"), 2),
    (v("x_y_2", "n"), 1),
    (v("long" * 60, "n"), 1),
    (v("long" * 60 + "!", "n"), 1),
]


@pytest.mark.parametrize("seed", range(6))
def test_keys_are_the_same_in_every_order_of_arrival(seed: int) -> None:
    names = naming("f/%SEGMENT_ID%", "%SEGMENT_NAME%_%SEGMENT_ID%")
    expected = {part: KeyBook(names).key(*part) for part in PARTS}
    order = list(PARTS)
    random.Random(seed).shuffle(order)
    book = KeyBook(names)
    assert {part: book.key(*part) for part in order} == expected
    assert len(set(expected.values())) == len(PARTS)


@pytest.mark.parametrize(
    ("template", "first", "second", "key"),
    [
        pytest.param(
            "%SEGMENT_ID%_%SEGMENT_NAME%",
            (v("a", "b_c"), 1),
            (v("a_b", "c"), 1),
            "a_b_c.csv",
            id="id-and-name-run-together",
        ),
        pytest.param("%SEGMENT_ID%", (v("seg"), 2), (v("seg_2"), 1), "seg_2.csv", id="part-and-id"),
    ],
)
@pytest.mark.parametrize("reverse", [False, True], ids=["in-order", "reversed"])
def test_two_parts_sharing_a_key_are_refused_naming_both_whichever_came_first(
    template: str,
    first: tuple[SegmentValues, int],
    second: tuple[SegmentValues, int],
    key: str,
    reverse: bool,
) -> None:
    book = KeyBook(naming("", template))
    asked = [second, first] if reverse else [first, second]
    assert book.key(*asked[0]) == key
    with pytest.raises(DeliveryError) as caught:
        book.key(*asked[1])
    assert str(caught.value) == (
        f"segment {first[0].segment_id!r} part {first[1]} and segment "
        f"{second[0].segment_id!r} part {second[1]} would both be written to {key!r}; "
        "give %SEGMENT_ID% a folder of its own (e.g. folder_path 'exports/%SEGMENT_ID%'), "
        "where no other text runs into it"
    )


def test_a_refused_key_stays_with_the_part_that_had_it() -> None:
    book = KeyBook(naming("", "%SEGMENT_ID%"))
    assert book.key(v("seg_2"), 1) == "seg_2.csv"
    with pytest.raises(DeliveryError):
        book.key(v("seg"), 2)
    assert book.key(v("seg_2"), 1) == "seg_2.csv"


def test_an_id_with_a_line_break_stays_on_one_line_in_the_message() -> None:
    book = KeyBook(naming("", "%SEGMENT_ID%"))
    changed = "x_y~" + sha12("x\ny")  # what the id 'x<line feed>y' becomes
    assert book.key(v("x\ny"), 2) == changed + "_2.csv"
    with pytest.raises(DeliveryError) as caught:
        book.key(v(changed + "_2"), 1)  # needs no change: kept as it is
    assert "\n" not in str(caught.value)
    assert "'x\\ny' part 2" in str(caught.value)


def test_a_folder_that_cannot_hold_a_segments_values_names_the_segment() -> None:
    folder = "/".join(["%SEGMENT_NAME%"] * 7)
    with pytest.raises(DeliveryError) as caught:
        KeyBook(naming(folder)).key(v("s1", "n" * 150), 1)
    assert str(caught.value).startswith("segment 's1': object key 'nnnn")
    assert str(caught.value).endswith("is longer than S3's 1024 bytes")


def test_a_folder_error_names_an_id_with_a_line_break_on_one_line() -> None:
    folder = "/".join(["%SEGMENT_NAME%"] * 7)
    with pytest.raises(DeliveryError) as caught:
        KeyBook(naming(folder)).key(v("s\n1", "n" * 150), 1)
    assert str(caught.value).startswith("segment 's\\n1': object key 'nnnn")
    assert "\n" not in str(caught.value)
