"""Hostile segment ids and names in object keys, through the CLI and the local S3 server.

tests/e2e/test_export_cli.py checks that a few hostile names stay inside the folder; this adds
hostile ids, Unicode tricks (bidi controls, combining marks, NFC against NFD), values long
enough to be cut (stable across runs, each file name within 255 bytes), ids that clean to
the same text, and checks that every row lands in exactly one object.
"""

from __future__ import annotations

import csv
import hashlib
import io
import unicodedata
from pathlib import Path
from typing import Any

import pytest

from tests.support.helpers import MEMBER_SCHEMA, export_and_take, record_message, schema_message

FOLDER = "exports/%SEGMENT_NAME%"
NFC = unicodedata.normalize("NFC", "Café Crème")
NFD = unicodedata.normalize("NFD", "Café Crème")

# (segment id, segment name): every id differs, so every pair is its own segment.
HOSTILE: list[tuple[str, str]] = [
    ("slash/id", "a/b"),
    ("back\\slash\\id", "a\\b"),
    ("..", ".."),
    (".", "."),
    ("/leading", "/leading/name"),
    ("trailing/", "trailing/"),
    ("../../etc/passwd", "../../etc/passwd"),
    ("nul\x00id", "nul\x00name"),
    ("line\nid", "new\nline\r\nname"),
    ("del\x7fid", "del\x7fname"),
    ("c1\x85id", "tab\tname"),
    ("emoji-🎉", "🎉 Party 👨‍👩‍👧 Fans"),
    ("rtl-override", "invoice\u202egpj.csv\u202c"),
    ("rtl-isolate", "\u2067\u05e9\u05dc\u05d5\u05dd\u2069 list"),
    ("rtl-mark", "\u05e9\u05dc\u05d5\u05dd\u200f \u05e2\u05d5\u05dc\u05dd"),
    ("combining", "Zalgo z\u0301\u0327\u0308"),
    ("nfc", NFC),
    ("nfd", NFD),
    ("x" * 1000, "y" * 1000),
    ("日" * 1000, "本" * 1000),
    ("long-a", "p" * 999 + "A"),
    ("long-b", "p" * 999 + "B"),
    ("%SEGMENT_ID%", "%2e%2e"),
]
BIDI_CONTROLS = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:12]


def messages(pairs: list[tuple[str, str]]) -> list[dict]:
    records = [
        record_message("m", {"segment_id": sid, "segment_name": name, "email": f"row{i}@x.com"})
        for i, (sid, name) in enumerate(pairs)
    ]
    return [schema_message("m", MEMBER_SCHEMA), *records]


def emails(body: bytes) -> list[str]:
    reader = csv.reader(
        io.StringIO(body.decode("utf-8"), newline=""),
        delimiter="\t",
        quotechar='"',
        escapechar="\\",
        doublequote=False,
    )
    header, *rows = list(reader)
    column = header.index("email")
    return [row[column] for row in rows]


def assert_safe_key(key: str, depth: int) -> None:
    """What every key must be, whatever the record said."""
    parts = key.split("/")
    assert parts[0] == "exports", key
    assert len(parts) == depth, key  # each segment value filled exactly one path segment
    assert all(part not in ("", ".", "..") for part in parts), key
    assert not any(unicodedata.category(c) == "Cc" for c in key), key
    assert not BIDI_CONTROLS & set(key), key
    assert not {"\\", "\u2028", "\u2029"} & set(key), key
    encoded = key.encode("utf-8")  # no lone surrogate: valid UTF-8
    assert encoded.decode("utf-8") == key
    assert len(encoded) <= 1024
    assert all(len(part.encode()) <= 255 for part in parts), key  # local file systems


def test_hostile_ids_and_names_make_safe_keys_and_lose_no_row(
    config: dict, s3: Any, tmp_path: Path
) -> None:
    config.update(folder_path=FOLDER, file_name_template="%SEGMENT_ID%_%SEGMENT_NAME%")
    _, found = export_and_take(config, messages(HOSTILE), tmp_path, s3)
    assert len(found) == len(HOSTILE)  # one file per segment, nothing overwritten
    rows: list[str] = []
    for key, body in found.items():
        assert_safe_key(key, depth=3)
        assert len(key.split("/")[2].removesuffix(".csv").encode()) <= 200
        rows.extend(emails(body))
    assert sorted(rows) == sorted(f"row{i}@x.com" for i in range(len(HOSTILE)))

    # A changed id ends in `~` and its own hash; a changed name is only cleaned.
    stamp_free = set(found)
    assert f"exports/__/__~{digest('..')}___.csv" in stamp_free  # '..' → '__'
    assert f"exports/_/_~{digest('.')}__.csv" in stamp_free  # '.' → '_'
    assert f"exports/a_b/slash_id~{digest('slash/id')}_a_b.csv" in stamp_free
    passwd = "../../etc/passwd"
    assert (
        f"exports/.._.._etc_passwd/.._.._etc_passwd~{digest(passwd)}_.._.._etc_passwd.csv"
        in stamp_free
    )
    line_id = f"line_id~{digest('line' + chr(10) + 'id')}"
    assert f"exports/new_line__name/{line_id}_new_line__name.csv" in stamp_free
    assert "exports/invoice_gpj.csv_/rtl-override_invoice_gpj.csv_.csv" in stamp_free
    assert f"exports/{NFC}/nfc_{NFC}.csv" in stamp_free  # names are not normalized:
    assert f"exports/{NFD}/nfd_{NFD}.csv" in stamp_free  # S3 compares bytes, so do we
    assert "exports/%2e%2e/%SEGMENT_ID%_%2e%2e.csv" in stamp_free  # no second expansion

    # 1,000-byte id and name: the folder keeps 160 bytes of the name, the file name shares
    # 200 bytes between id and name; each cut value ends in its own stable hash.
    x, y = "x" * 1000, "y" * 1000
    long_key = f"exports/{'y' * 147}~{digest(y)}/{'x' * 86}~{digest(x)}_{'y' * 87}~{digest(y)}.csv"
    assert long_key in stamp_free


@pytest.mark.parametrize(
    "ids",
    [
        pytest.param(["a/b", "a\\b", "a_b", "a\x00b", "a\u202eb"], id="clean-to-same"),
        pytest.param(["a/b", "a_b~" + digest("a/b")], id="one-looks-changed"),
        pytest.param(["..", "__", "\n\n"], id="dots-and-controls"),
        pytest.param([NFC, NFD], id="nfc-nfd"),
        pytest.param(["q" * 1000, "q" * 1000 + "!", "q" * 147 + "~"], id="long"),
    ],
)
def test_ids_that_clean_alike_never_overwrite(
    config: dict, s3: Any, tmp_path: Path, ids: list[str]
) -> None:
    # One folder for all: only the id's text tells their files apart.
    config.update(folder_path=FOLDER, file_name_template="%SEGMENT_ID%")
    pairs = [(segment_id, "same") for segment_id in ids]
    _, found = export_and_take(config, messages(pairs), tmp_path, s3)
    assert len(found) == len(ids)
    rows = []
    for key, body in found.items():
        assert_safe_key(key, depth=3)
        rows.extend(emails(body))
    assert sorted(rows) == sorted(f"row{i}@x.com" for i in range(len(ids)))


def test_keys_are_the_same_on_every_run(config: dict, s3: Any, tmp_path: Path) -> None:
    """Cut values end in a hash of the value, not of the run: a re-run overwrites in place."""
    config.update(folder_path=FOLDER, file_name_template="%SEGMENT_ID%_%SEGMENT_NAME%")
    first_dir, second_dir = tmp_path / "one", tmp_path / "two"
    first_dir.mkdir()
    second_dir.mkdir()
    _, first = export_and_take(config, messages(HOSTILE), first_dir, s3)
    _, second = export_and_take(config, messages(list(reversed(HOSTILE))), second_dir, s3)
    assert set(first) == set(second)
    assert len(first) == len(HOSTILE)
