"""Parts: gzip and OpenPGP on the way to the disk, the same file whatever the writes, and a
bounded buffer per open part."""

from __future__ import annotations

import gzip
import hashlib
import random
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from target_adobe_s3.files.parts import GZIP_CHUNK, GZIP_HISTORY, PENDING, Encoding
from target_adobe_s3.files.spool import Spool
from target_adobe_s3.openpgp import load_recipient


def test_gzip_part_counts_and_hashes_the_bytes_on_disk(tmp_path: Path) -> None:
    spool = Spool(str(tmp_path), Encoding(compression="gzip"))
    part = spool.open("s", "S", "m", ("h",), first=b"h\n")
    for i in range(1000):
        part.write(f"row {i}\n".encode(), rows=1)
    assert part.is_open
    [done] = spool.finish()
    data = done.path.read_bytes()
    assert not done.is_open
    assert done.rows == 1000
    assert done.size == len(data)
    assert done.sha256 == hashlib.sha256(data).hexdigest()
    assert gzip.decompress(data) == b"h\n" + b"".join(f"row {i}\n".encode() for i in range(1000))
    spool.remove()


# --- bounded memory per open part, whatever the encoding ------------------------------------

ENCODINGS = ["none", "gzip", "pgp", "gzip+pgp"]
Spools = Callable[[str, Any], Spool]


@pytest.fixture
def spools(tmp_path: Path) -> Iterator[Spools]:
    """Spools of an encoding (`none`, `gzip`, `pgp`, `gzip+pgp`), removed after the test."""
    made: list[Spool] = []

    def make(name: str, gpg_keys: Any = None) -> Spool:
        made.append(Spool(str(tmp_path), encoding(name, gpg_keys)))
        return made[-1]

    yield make
    for spool in made:
        spool.remove()
    assert list(tmp_path.iterdir()) == []


BOUND = GZIP_HISTORY + GZIP_CHUNK + 1 + 1024  # the largest buffer, and OpenPGP's leftovers


def encoding(name: str, gpg_keys: Any = None) -> Encoding:
    recipient = load_recipient(gpg_keys.public["cv25519"]) if "pgp" in name else None
    return Encoding("gzip" if "gzip" in name else "none", recipient)


def content(path: Path, name: str, gpg_keys: Any) -> bytes:
    """A part's rows, read back with gpg and gzip as its encoding requires."""
    data = path.read_bytes()
    if "pgp" in name:
        result = gpg_keys.decrypt(data)
        assert result.ok, result.status
        data = result.plaintext
    return gzip.decompress(data) if "gzip" in name else data


def make_rows(count: int, seed: int = 3) -> list[bytes]:
    """CSV rows of 100 to 200 bytes, each with the marker `@example.`."""
    rng = random.Random(seed)
    return [
        b"%d,user%d@example.%s,%s\n"
        % (
            i,
            rng.randrange(10**6),
            rng.choice([b"com", b"org"]),
            rng.randbytes(60).hex()[: rng.randrange(60, 150)].encode(),
        )
        for i in range(count)
    ]


@pytest.mark.parametrize("name", ENCODINGS)
def test_a_thousand_open_parts_hold_a_bounded_buffer_each(
    spools: Spools, gpg_keys: Any, name: str
) -> None:
    spool = spools(name, gpg_keys)
    rng = random.Random(5)
    count, rows = 1000, make_rows(200_000)
    parts = [spool.open(f"s{n:04d}", "S", "m", ("h",), first=b"h\n") for n in range(count)]
    sent: list[list[bytes]] = [[b"h\n"] for _ in range(count)]
    most = 0
    for i, row in enumerate(rows):
        n = rng.randrange(count)
        parts[n].write(row, rows=1)
        sent[n].append(row)
        if i % 10_000 == 0:
            held = [part.buffered for part in parts]
            most = max(most, *held)
            assert sum(held) <= count * BOUND
    assert most <= BOUND
    pushed = [len(b"".join(s)) > GZIP_HISTORY + GZIP_CHUNK for s in sent]
    assert sum(pushed) > 0.95 * count  # (almost) every part went past its buffer
    if "pgp" in name:  # ciphertext only, even while the parts are open
        assert not any(b"@example." in part.path.read_bytes() for part in parts)
    done = spool.finish()
    assert [p.segment_id for p in done] == [f"s{n:04d}" for n in range(count)]
    for part, expected in zip(done, sent, strict=True):
        data = part.path.read_bytes()
        assert (part.rows, part.size) == (len(expected) - 1, len(data))
        assert part.sha256 == hashlib.sha256(data).hexdigest()
        assert part.buffered == 0
        if "pgp" not in name:
            assert content(part.path, name, None) == b"".join(expected)
    if "gzip" in name and "pgp" not in name:
        subprocess.run(["gzip", "-t", *(str(p.path) for p in done)], check=True)
    for n in (0, 499, 999):
        assert content(done[n].path, name, gpg_keys) == b"".join(sent[n])


@pytest.mark.parametrize("name", ["none", "gzip"])
def test_the_same_rows_give_the_same_file_whatever_the_writes(spools: Spools, name: str) -> None:
    data = b"".join(make_rows(2000))  # about 250 KB
    files = []
    for steps in ([len(data)], [1, 7, 511], [100, 4096, 100_000], [PENDING, GZIP_CHUNK + 1]):
        spool = spools(name, None)
        part = spool.open("s", "S", "m", ("h",))
        pos = 0
        while pos < len(data):
            step = steps[pos % len(steps)]
            part.write(data[pos : pos + step])
            assert part.buffered <= BOUND
            pos += step
        [done] = spool.finish()
        files.append(done.path.read_bytes())
        assert content(done.path, name, None) == data
        if name == "gzip":
            subprocess.run(["gzip", "-t", str(done.path)], check=True)
            zcat = subprocess.run(["zcat", str(done.path)], check=True, capture_output=True)
            assert zcat.stdout == data
    assert all(f == files[0] for f in files)


@pytest.mark.parametrize("name", ENCODINGS)
def test_empty_and_header_only_parts(spools: Spools, gpg_keys: Any, name: str) -> None:
    spool = spools(name, gpg_keys)
    spool.open("a", "A", "m", ("h",))
    spool.open("b", "B", "m", ("h",), first=b"h\n")
    empty, header = spool.finish()
    assert content(empty.path, name, gpg_keys) == b""
    assert content(header.path, name, gpg_keys) == b"h\n"


@pytest.mark.parametrize("name", ["pgp", "gzip+pgp"])
def test_a_discarded_part_never_writes_its_pending_rows(
    spools: Spools, gpg_keys: Any, name: str
) -> None:
    spool = spools(name, gpg_keys)
    part = spool.open("s", "S", "m", ("h",))
    for row in make_rows(3000):
        part.write(row, rows=1)
        assert b"@example." not in part.path.read_bytes()[-2000:]
    assert part.buffered > 0
    size = part.path.stat().st_size
    path = part.path
    part.discard()
    assert not part.is_open
    assert path.stat().st_size == size  # what was pending is dropped, and nothing finished
    assert b"@example." not in path.read_bytes()
    assert not gpg_keys.decrypt(path.read_bytes()).ok


def test_a_huge_row_goes_through_and_leaves_a_bounded_buffer(spools: Spools) -> None:
    for name in ("none", "gzip"):
        spool = spools(name, None)
        part = spool.open("s", "S", "m", ("h",), first=b"h\n")
        huge = b"x" * (3 * 1024 * 1024 + 7) + b"\n"
        part.write(huge, rows=1)
        part.write(b"after\n", rows=1)
        assert part.buffered <= BOUND
        [done] = spool.finish()
        assert content(done.path, name, None) == b"h\n" + huge + b"after\n"


@pytest.mark.parametrize("name", ["none", "gzip"])
def test_a_buffer_grows_with_its_part_then_stays_the_same(spools: Spools, name: str) -> None:
    spool = spools(name, None)
    part = spool.open("s", "S", "m", ("h",), first=b"h\n")
    for row in make_rows(3):
        part.write(row, rows=1)
    assert part.buffered <= 1025  # a small segment holds a small buffer
    rows = make_rows(5000)
    for row in rows[:1000]:
        part.write(row, rows=1)
    full = part.buffered
    assert full == (GZIP_HISTORY + GZIP_CHUNK if name == "gzip" else PENDING) + 1
    for row in rows[1000:]:
        part.write(row, rows=1)
        assert part.buffered == full  # never shrunk nor grown again: no churn in the heap


@pytest.mark.parametrize(
    ("compression", "pgp", "expected"),
    [
        ("none", False, "text/csv; charset=utf-8"),
        ("gzip", False, "application/gzip"),
        ("none", True, "application/pgp-encrypted"),
        ("gzip", True, "application/pgp-encrypted"),
    ],
)
def test_the_outer_layer_gives_the_content_type(
    gpg_keys: Any, compression: str, pgp: bool, expected: str
) -> None:
    recipient = load_recipient(gpg_keys.public["cv25519"]) if pgp else None
    assert Encoding(compression, recipient).content_type("text/csv; charset=utf-8") == expected
