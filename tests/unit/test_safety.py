"""Tests for the key-safety rules: record values in a path segment, typed folder paths, keys."""

from __future__ import annotations

import hashlib

import pytest

from target_adobe_s3.naming.safety import (
    MacroError,
    check_folder_path,
    check_plain_value,
    check_segment_length,
    fit_segment,
    join_key,
    safe_path_value,
    safe_segment_id,
)

# --- safe_path_value ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Luxury Audience", "Luxury Audience"),
        ("a/b", "a_b"),
        ("a\\b", "a_b"),
        ("/leading", "_leading"),
        ("trailing/", "trailing_"),
        ("..", "__"),
        (".", "_"),
        ("", "_"),
        ("...", "..."),
        ("..a", "..a"),
        ("a\x00b\x1fc\x7fd\x85e\x9ff", "a_b_c_d_e_f"),
        ("line\nbreak\r\ttab", "line_break__tab"),
        ("a\u2028b\u2029c", "a_b_c"),
        ("bad\ud800half", "bad_half"),
        ("Ünïcødé 日本", "Ünïcødé 日本"),
        ("emoji 🎉 ok", "emoji 🎉 ok"),
        ("a+b=c, (d) [e] & f's #1 @home ~x!", "a+b=c, (d) [e] & f's #1 @home ~x!"),
        ("%SEGMENT_ID%", "%SEGMENT_ID%"),
    ],
)
def test_safe_path_value(value: str, expected: str) -> None:
    assert safe_path_value(value) == expected


def test_safe_path_value_long_value_is_cut_with_stable_hash() -> None:
    value = "x" * 1000
    result = safe_path_value(value)
    digest = hashlib.sha256(value.encode()).hexdigest()[:12]
    assert result == "x" * (160 - 13) + "~" + digest
    assert len(result.encode()) == 160
    assert safe_path_value(value) == result


def test_safe_path_value_long_values_sharing_a_prefix_stay_distinct() -> None:
    first = "p" * 500 + "A"
    second = "p" * 500 + "B"
    assert safe_path_value(first) != safe_path_value(second)
    assert len(safe_path_value(first).encode()) <= 160
    assert len(safe_path_value(second).encode()) <= 160


def test_safe_path_value_hash_is_of_the_original_value() -> None:
    # Both clean to the same text but are different values, so they stay apart.
    assert safe_path_value("a/" * 200) != safe_path_value("a\\" * 200)


@pytest.mark.parametrize("char", ["日", "é", "🎉", "/"])
@pytest.mark.parametrize("max_bytes", [14, 20, 160, 1024])
def test_safe_path_value_cuts_on_character_boundary(char: str, max_bytes: int) -> None:
    value = char * 1100
    result = safe_path_value(value, max_bytes=max_bytes)
    assert len(result.encode("utf-8")) <= max_bytes
    assert result.endswith("~" + hashlib.sha256(value.encode()).hexdigest()[:12])
    head = result[:-13]
    assert head == ("_" if char == "/" else char) * len(head)
    assert len(head.encode()) > max_bytes - 13 - 4


def test_safe_path_value_exact_limit_is_kept() -> None:
    assert safe_path_value("日" * 53 + "a") == "日" * 53 + "a"  # 160 bytes
    assert safe_path_value("日" * 53 + "ab").endswith(
        "~" + hashlib.sha256(("日" * 53 + "ab").encode()).hexdigest()[:12]
    )


def test_safe_path_value_rejects_tiny_limit() -> None:
    with pytest.raises(ValueError, match="max_bytes"):
        safe_path_value("abc", max_bytes=13)


# --- safe_segment_id: changed ids carry their own hash ----------------------------------


def sha12(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:12]


@pytest.mark.parametrize(
    "value",
    [
        "25768be6-4a1c-4f0e-9d3e-3c0b8a1e5f10",
        "Luxury Audience",
        "a_b",
        "...",
        "seg_20240501",
        "x~0123456789AB",  # upper-case hex: not how a changed id ends
        "x~0123456789a",  # 11 digits
        "x~0123456789abc_2",
        "日" * 53 + "a",  # 160 bytes
    ],
)
def test_safe_segment_id_keeps_an_id_that_needs_no_change_exactly(value: str) -> None:
    assert safe_segment_id(value) == value


@pytest.mark.parametrize(
    ("value", "cleaned"),
    [
        ("a/b", "a_b"),
        ("a\\b", "a_b"),
        ("line\nbreak", "line_break"),
        ("..", "__"),
        (".", "_"),
        ("", "_"),
        ("bad\ud800half", "bad_half"),
        ("a\u202eb", "a_b"),
    ],
)
def test_safe_segment_id_gives_a_changed_id_the_hash_of_the_original(
    value: str, cleaned: str
) -> None:
    assert safe_segment_id(value) == f"{cleaned}~{sha12(value)}"


def test_safe_segment_id_suffixes_an_id_that_ends_like_a_changed_one() -> None:
    # 'a/b' becomes 'a_b~<hash>'; an id that is literally that text must not meet it.
    changed = safe_segment_id("a/b")
    assert safe_segment_id(changed) == f"{changed}~{sha12(changed)}"
    assert safe_segment_id(changed) != changed


def test_safe_segment_id_shortens_a_long_id_as_safe_path_value_does() -> None:
    value = "x" * 1000
    assert safe_segment_id(value) == safe_path_value(value) == "x" * 147 + "~" + sha12(value)
    assert len(safe_segment_id("日" * 53 + "ab").encode()) <= 160
    assert safe_segment_id("a/" * 100, max_bytes=20) == "a_" * 3 + "a~" + sha12("a/" * 100)


def test_safe_segment_id_gives_distinct_texts_to_ids_that_clean_alike() -> None:
    ids = ["a/b", "a\\b", "a_b", "a\nb", "a\x00b", "a\u2028b", "a\u202ab"]
    ids.append(safe_segment_id("a/b"))  # a literal id equal to a changed one
    ids += ["p" * 300 + "A", "p" * 300 + "B", safe_segment_id("p" * 300 + "A")]
    texts = [safe_segment_id(value) for value in ids]
    assert len(set(texts)) == len(ids)
    assert all(len(text.encode()) <= 160 for text in texts)


# --- join_key ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("folder", "file_name", "expected"),
    [
        ("a/b", "f.csv", "a/b/f.csv"),
        ("a/b/", "f.csv", "a/b/f.csv"),
        ("/a//b///", "f.csv", "a/b/f.csv"),
        ("", "f.csv", "f.csv"),
        ("/", "f.csv", "f.csv"),
        ("a", "/f.csv", "a/f.csv"),
        ("a", "sub//f.csv", "a/sub/f.csv"),
        ("Luxury Audience", "f 1.csv", "Luxury Audience/f 1.csv"),
    ],
)
def test_join_key(folder: str, file_name: str, expected: str) -> None:
    assert join_key(folder, file_name) == expected


@pytest.mark.parametrize(
    ("folder", "file_name", "fragment"),
    [
        ("a/..", "f.csv", "'.' or '..' segment"),
        ("./a", "f.csv", "'.' or '..' segment"),
        ("a", "..", "'.' or '..' segment"),
        ("a" * 1000, "b" * 30, "1024 bytes"),
    ],
)
def test_join_key_errors(folder: str, file_name: str, fragment: str) -> None:
    with pytest.raises(MacroError, match=fragment.replace(".", r"\.")):
        join_key(folder, file_name)


# --- check_folder_path ------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "",
        "acme/campaigns/2021/%SEGMENT_NAME%/%SEGMENT_ID%",
        "AZaz09/!-_.'()\"^[]+$%*",
        "exports/%DATETIME(YYYY-MM-dd)%",
        "a.b/..c/c../...",
        "/leading/and/trailing/",
    ],
)
def test_check_folder_path_accepts(text: str) -> None:
    check_folder_path(text)


@pytest.mark.parametrize(
    ("text", "char", "position"),
    [
        ("my folder", " ", 2),
        ("a\\b", "\\", 1),
        ("caf\u00e9", "é", 3),
        ("a\nb", "\n", 1),
        ("a\tb", "\t", 1),
        ("日本", "日", 0),
        ("a#b", "#", 1),
        ("a?b", "?", 1),
        ("a:b", ":", 1),
        ("%DATETIME(HH:mm)%", ":", 12),
    ],
)
def test_check_folder_path_rejects_characters(text: str, char: str, position: int) -> None:
    with pytest.raises(MacroError) as info:
        check_folder_path(text)
    message = str(info.value)
    assert f"character {char!r} at position {position}" in message
    assert "A-Z a-z 0-9" in message
    assert "/ ! - _ . ' ( ) \" ^ [ ] + $ % *" in message


@pytest.mark.parametrize("text", ["a/../b", "..", ".", "a/.", "./a", "a/./b", "../a"])
def test_check_folder_path_rejects_dot_segments(text: str) -> None:
    with pytest.raises(MacroError, match="segment"):
        check_folder_path(text)


# --- check_plain_value ------------------------------------------------------------------


@pytest.mark.parametrize(
    "text", ["", "amazon_s3", "Salesforce Marketing Cloud", "Ünïcødé", "...", "a.b", "100%"]
)
def test_check_plain_value_accepts(text: str) -> None:
    check_plain_value(text)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("a/b", "'/' at position 1"),
        ("a\\b", "'\\\\' at position 1"),
        ("a\nb", "'\\n' at position 1"),
        ("a\x7f", "'\\x7f' at position 1"),
        ("\x85", "'\\x85' at position 0"),
        ("a\u2028", "'\\u2028' at position 1"),
        (".", "not allowed"),
        ("..", "not allowed"),
    ],
)
def test_check_plain_value_rejects(text: str, fragment: str) -> None:
    with pytest.raises(MacroError) as info:
        check_plain_value(text)
    assert fragment in str(info.value)


# --- fit_segment: record values share what a path segment has left ----------------------


def test_fit_segment_keeps_a_segment_that_fits() -> None:
    pieces: list[tuple[str, str | None]] = [("seg_", None), ("Luxury Audience", "Luxury Audience")]
    assert fit_segment(pieces) == "seg_Luxury Audience"


def test_fit_segment_cuts_the_record_values_to_their_shares_keeping_the_settings_text() -> None:
    long, medium = "a" * 300, "b" * 120
    pieces: list[tuple[str, str | None]] = [
        ("A_", None),
        (safe_path_value(long), long),  # 160 bytes: cut once already
        ("_", None),
        (medium, medium),
    ]
    # 197 bytes are left for two values: the shorter gets 197 // 2 = 98, the other the 99 left.
    expected = "A_" + "a" * 86 + "~" + sha12(long) + "_" + "b" * 85 + "~" + sha12(medium)
    assert fit_segment(pieces) == expected
    assert len(expected.encode()) == 200


def test_fit_segment_cuts_the_whole_segment_when_the_settings_text_alone_is_too_long() -> None:
    text = "s" * 250 + "v"
    assert fit_segment([("s" * 250, None), ("v", "v")]) == "s" * 187 + "~" + sha12(text)


# --- check_segment_length ---------------------------------------------------------------


@pytest.mark.parametrize("text", ["x" * 200, "%SEGMENT_ID%" + "x" * 200, "é" * 100, ""])
def test_check_segment_length_accepts_up_to_200_bytes_macros_counting_0(text: str) -> None:
    check_segment_length(text)


@pytest.mark.parametrize(("text", "size"), [("x" * 201, 201), ("é" * 101, 202)])
def test_check_segment_length_rejects_a_longer_segment(text: str, size: int) -> None:
    with pytest.raises(MacroError) as info:
        check_segment_length(text)
    assert str(info.value) == (
        f"{text[:40]!r}... is {size} bytes long; a folder or file name may have at most 200 "
        "(before its extension), as file systems allow 255"
    )
