"""GzipChunks: one gzip member from separately deflated chunks, read by every reader."""

from __future__ import annotations

import gzip
import io
import random
import shutil
import subprocess
import zlib
from pathlib import Path

import pytest

from target_adobe_s3.files.deflate import GzipChunks, header


def csv_rows(count: int, seed: int = 1) -> bytes:
    """Rows like a segment export: UUID, email, names, status, timestamp (~110 bytes)."""
    rng = random.Random(seed)
    first = ["Mary", "James", "Linda", "Robert", "Susan", "Michael", "Karen", "David", "Lisa"]
    last = ["Smith", "Johnson", "Garcia", "Miller", "Davis", "Lopez", "Wilson", "Moore", "Lee"]
    domains = ["gmail.com", "gmail.com", "yahoo.com", "outlook.com", "example.org", "acme.io"]
    out = []
    for _ in range(count):
        f, la = rng.choice(first), rng.choice(last)
        uid = f"{rng.getrandbits(128):032x}"
        email = f"{f.lower()}.{la.lower()}{rng.randrange(10000)}@{rng.choice(domains)}"
        stamp = (
            f"2024-04-{rng.randrange(1, 29):02d}T{rng.randrange(24):02d}:{rng.randrange(60):02d}Z"
        )
        out.append(f"{uid},{email},{f},{la},realized,{stamp}\n")
    return "".join(out).encode()


def chunked(data: bytes, history: int, chunk: int, level: int = 6) -> bytes:
    """What the spool writes: history + chunk bytes first, then `chunk` new bytes each time."""
    member = GzipChunks(level)
    out, start, keep, limit = [], 0, 0, history + chunk
    while len(data) - start > limit:
        out.append(member.compress(data[start + keep : start + limit], data[start : start + keep]))
        start, keep = start + limit - history, history
    out.append(member.compress(data[start + keep :], data[start : start + keep], final=True))
    return b"".join(out)


def check_every_reader(member: bytes, data: bytes, tmp_path: Path) -> None:
    """Python's gzip, zlib as a single gzip member, and the gzip binary (-t and zcat)."""
    assert gzip.decompress(member) == data
    reader = zlib.decompressobj(31)
    assert reader.decompress(member) + reader.flush() == data
    assert reader.eof
    assert reader.unused_data == b""  # one member, nothing after it
    path = tmp_path / "f.gz"
    path.write_bytes(member)
    if shutil.which("gzip") is None:  # pragma: no cover
        pytest.skip("the gzip binary is not installed")
    subprocess.run(["gzip", "-t", str(path)], check=True)
    zcat = subprocess.run(["gzip", "-dc", str(path)], check=True, capture_output=True)
    assert zcat.stdout == data


@pytest.mark.parametrize(
    ("history", "chunk"), [(0, 1), (0, 8192), (12 * 1024, 8 * 1024), (32 * 1024, 100), (40_000, 7)]
)
def test_chunks_make_one_member_that_every_reader_takes(
    tmp_path: Path, history: int, chunk: int
) -> None:
    data = csv_rows(2000 if chunk > 10 else 300)
    check_every_reader(chunked(data, history, chunk), data, tmp_path)


@pytest.mark.parametrize("data", [b"", b"x", b"a" * 100_000])
def test_small_and_empty_data(tmp_path: Path, data: bytes) -> None:
    check_every_reader(chunked(data, 12 * 1024, 8 * 1024), data, tmp_path)


def test_header_is_gzipfile_s_with_mtime_0() -> None:
    for level in (1, 6, 9):
        out = io.BytesIO()
        with gzip.GzipFile(fileobj=out, mode="wb", mtime=0, compresslevel=level):
            pass
        assert header(level) == out.getvalue()[:10]
    member = GzipChunks().compress(b"abc", final=True)
    assert member[:10] == b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"  # no name, mtime 0
    assert member[-8:] == zlib.crc32(b"abc").to_bytes(4, "little") + (3).to_bytes(4, "little")


def test_same_chunks_same_bytes() -> None:
    data = csv_rows(1000)
    assert chunked(data, 12 * 1024, 8 * 1024) == chunked(data, 12 * 1024, 8 * 1024)


def test_history_is_referred_to_across_chunks(tmp_path: Path) -> None:
    block = random.Random(7).randbytes(6000)  # incompressible alone, repeated: only references help
    data = block * 20
    without = chunked(data, 0, 6000)
    with_history = chunked(data, 6000, 6000)
    check_every_reader(with_history, data, tmp_path)
    assert len(without) > len(data)  # each chunk on its own: nothing to refer to
    assert len(with_history) < len(data) // 5  # each chunk refers to the one before it


def test_ratio_close_to_one_compressor_for_the_whole_file() -> None:
    data = csv_rows(20_000)  # about 2 MB
    whole = len(gzip.compress(data, 6, mtime=0))
    spooled = len(chunked(data, 12 * 1024, 8 * 1024))
    alone = len(chunked(data, 0, 8 * 1024))
    assert spooled < whole * 1.08  # measured: about 5% larger
    assert spooled < alone  # the history is worth keeping


def test_misuse_is_refused() -> None:
    member = GzipChunks()
    with pytest.raises(ValueError, match="history longer"):
        member.compress(b"abc", b"x")
    member.compress(b"abc", final=True)
    with pytest.raises(ValueError, match="finished"):
        member.compress(b"more")
    with pytest.raises(ValueError, match="level"):
        GzipChunks(10)


def test_memoryview_chunks_and_level_1(tmp_path: Path) -> None:
    data = csv_rows(500)
    view = memoryview(bytearray(data))
    member = GzipChunks(1)
    out = member.compress(view[:30_000])
    out += member.compress(view[30_000:], view[:30_000], final=True)
    assert member.length == len(data)
    check_every_reader(out, data, tmp_path)
    assert out[8] == 4  # XFL: fastest
