"""Multipart part sizes: at least S3's 5 mib, at most 5 gib, and room for a 5 tib object."""

from __future__ import annotations

from target_adobe_s3.s3.upload import MAX_PARTS, PART_SIZE, part_size

mib, gib, tib = 1024**2, 1024**3, 1024**4


def test_parts_are_8_mib_for_the_first_thousand() -> None:
    assert part_size(1) == 8 * mib
    assert {part_size(n) for n in range(1, 1001)} == {8 * mib}
    assert part_size(1001) == 16 * mib
    assert part_size(2001) == 32 * mib


def test_every_part_is_within_s3s_limits() -> None:
    sizes = [part_size(n) for n in range(1, MAX_PARTS + 1)]
    assert min(sizes) >= 5 * mib
    assert max(sizes) <= 5 * gib


def test_ten_thousand_parts_hold_s3s_largest_object() -> None:
    assert sum(part_size(n) for n in range(1, MAX_PARTS + 1)) >= 5 * tib
    # and fixed 8 MiB parts would not: they stop at 78 GiB
    fixed = MAX_PARTS * PART_SIZE
    assert fixed < 80 * gib
