"""Object keys: extensions, part names, and key planning (unique keys, clash suffixes)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

import pytest

from target_adobe_s3.errors import DeliveryError
from target_adobe_s3.naming.keys import (
    Naming,
    clash_suffix,
    extension,
    part_file_name,
    plan_keys,
)
from target_adobe_s3.naming.macros import RunContext, SegmentValues, Template

RUN = RunContext(
    export_time=datetime(2024, 5, 1, 6, 18, 4, tzinfo=timezone.utc),
    run_id="run-1",
    destination_name="amazon_s3",
)


@dataclass(frozen=True)
class P:
    segment_id: str
    segment_name: str = "Name"
    stream_name: str = "members"
    number: int = 1


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
    assert part_file_name("out", 3, ".json", "_e8bc163c") == "out_e8bc163c_3.json"


def test_clash_suffix_is_the_segment_ids_sha256() -> None:
    assert clash_suffix("s1") == "_e8bc163c"
    assert clash_suffix("s2") == "_ad328846"


def test_naming_expands_the_templates_for_a_segment() -> None:
    names = naming("exports/%SEGMENT_NAME%", "%DESTINATION_NAME%_segment%SEGMENT_ID%_%DATETIME%")
    values = SegmentValues("s1", "Luxury Audience", "members")
    assert names.name(values, 2) == "amazon_s3_segments1_20240501_061804_2.csv"
    assert names.name(values, 1, ext=".csv") == "amazon_s3_segments1_20240501_061804.csv"
    assert names.key(values, 1) == (
        "exports/Luxury Audience/amazon_s3_segments1_20240501_061804.csv"
    )


def test_keys_of_segments_that_do_not_clash_have_no_suffix() -> None:
    parts = [P("s1"), P("s1", number=2), P("s2", "Other")]
    plan = plan_keys(parts, naming("f/%SEGMENT_NAME%", "seg_%SEGMENT_ID%"))
    assert plan.keys == ["f/Name/seg_s1.csv", "f/Name/seg_s1_2.csv", "f/Other/seg_s2.csv"]
    assert plan.warnings == []


def test_segments_whose_keys_clash_each_get_their_ids_suffix_on_every_part() -> None:
    parts = [P("s1"), P("s1", number=2), P("s2"), P("s3", "Third")]
    plan = plan_keys(parts, naming("f/%SEGMENT_NAME%", "export"))
    assert plan.keys == [
        "f/Name/export_e8bc163c.csv",
        "f/Name/export_e8bc163c_2.csv",
        "f/Name/export_ad328846.csv",
        "f/Third/export.csv",  # alone under its folder: no suffix
    ]
    assert plan.warnings == [
        "2 segments would share the key f/Name/export.csv; each gets a suffix from its "
        "segment id (add %SEGMENT_ID% to file_name_template to avoid this)"
    ]


def test_keys_that_still_collide_are_an_error() -> None:
    with pytest.raises(DeliveryError) as caught:
        plan_keys([P("s1"), P("s1")], naming())
    assert str(caught.value) == "two files map to the same object key even after suffixing"


def test_a_folder_that_cannot_hold_a_segments_values_names_the_segment() -> None:
    folder = "/".join(["%SEGMENT_NAME%"] * 7)
    with pytest.raises(DeliveryError) as caught:
        plan_keys([P("s1", "n" * 150)], naming(folder))
    assert str(caught.value).startswith("segment 's1': object key 'nnnn")
    assert str(caught.value).endswith("is longer than S3's 1024 bytes")
