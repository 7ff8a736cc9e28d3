"""Part buffers: full upload parts handed over as the next byte comes, files reused, only
ciphertext in any buffer with OpenPGP."""

from __future__ import annotations

import gzip
import hashlib
import random
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from target_adobe_s3.files.buffer import BufferFiles, Chunk, PartBuffer
from target_adobe_s3.files.parts import Encoding
from target_adobe_s3.files.spool import Spool
from target_adobe_s3.openpgp import load_recipient


class Collector:
    """An outlet that reads each part back from its file, then releases it (as S3's does)."""

    def __init__(self, size: Callable[[int], int], *, refuse: bool = False) -> None:
        self.size, self.refuse = size, refuse
        self.parts: list[tuple[int, bytes, bytes]] = []
        self.files: list[int] = []

    def part_size(self, number: int) -> int:
        return self.size(number)

    def send(self, chunk: Chunk) -> None:
        if self.refuse:
            raise RuntimeError("uploads stopped")
        chunk.file.seek(0)
        data = chunk.file.read(chunk.size + 1)  # one more: the part is the file's start only
        assert data is not None
        self.parts.append((chunk.number, data[: chunk.size], chunk.sha256))
        self.files.append(chunk.file.fileno())
        chunk.release()

    def joined(self) -> bytes:
        return b"".join(data for _, data, _ in self.parts)


@pytest.fixture
def files(tmp_path: Path) -> Iterator[BufferFiles]:
    made = BufferFiles(tmp_path)
    yield made
    made.close()


def write_in_pieces(buffer: PartBuffer, data: bytes, seed: int = 1) -> None:
    rng = random.Random(seed)
    pos = 0
    while pos < len(data):
        step = rng.choice([1, 7, 300, 999, 1000, 1001, 4096])
        buffer.write(data[pos : pos + step])
        pos += step


def test_full_parts_go_out_as_the_next_byte_comes_and_the_rest_at_finish(
    files: BufferFiles,
) -> None:
    outlet = Collector(lambda n: 1000)
    buffer = PartBuffer(files, outlet)
    data = random.Random(2).randbytes(3500)
    write_in_pieces(buffer, data)
    assert [(n, len(d)) for n, d, _ in outlet.parts] == [(1, 1000), (2, 1000), (3, 1000)]
    assert buffer.streamed
    buffer.finish()
    assert [(n, len(d)) for n, d, _ in outlet.parts][3:] == [(4, 500)]
    assert outlet.joined() == data
    assert all(digest == hashlib.sha256(d).digest() for _, d, digest in outlet.parts)
    assert (buffer.size, buffer.sha256.hexdigest()) == (3500, hashlib.sha256(data).hexdigest())


def test_a_file_that_ends_on_a_part_boundary_sends_its_last_part_at_finish(
    files: BufferFiles,
) -> None:
    outlet = Collector(lambda n: 1000)
    buffer = PartBuffer(files, outlet)
    buffer.write(bytes(2000))
    assert [n for n, _, _ in outlet.parts] == [1]  # part 2 is full, but may be the last
    buffer.finish()
    assert [(n, len(d)) for n, d, _ in outlet.parts] == [(1, 1000), (2, 1000)]


def test_a_file_of_one_part_or_less_stays_whole_in_its_file(files: BufferFiles) -> None:
    outlet = Collector(lambda n: 1000)
    buffer = PartBuffer(files, outlet)
    buffer.write(b"x" * 999)
    buffer.write(b"y")
    buffer.finish()
    assert outlet.parts == []
    assert not buffer.streamed
    assert buffer.closed
    assert buffer.path.read_bytes() == b"x" * 999 + b"y"


def test_part_sizes_follow_the_outlet(files: BufferFiles) -> None:
    outlet = Collector(lambda n: 100 * n)
    buffer = PartBuffer(files, outlet)
    data = random.Random(3).randbytes(1200)
    write_in_pieces(buffer, data, seed=4)
    buffer.finish()
    assert [len(d) for _, d, _ in outlet.parts] == [100, 200, 300, 400, 200]
    assert outlet.joined() == data


def test_released_buffer_files_are_emptied_and_reused(files: BufferFiles, tmp_path: Path) -> None:
    outlet = Collector(lambda n: 1000)
    buffer = PartBuffer(files, outlet)
    buffer.write(bytes(10_500))
    buffer.finish()
    assert len(outlet.parts) == 11
    # Each part was released (emptied) before the next one was taken: one file served all.
    assert len(set(outlet.files)) == 1
    assert [p.stat().st_size for p in tmp_path.iterdir()] == [0]


def test_without_an_outlet_the_whole_file_is_one_buffer(files: BufferFiles) -> None:
    buffer = PartBuffer(files)
    data = random.Random(5).randbytes(50_000)
    write_in_pieces(buffer, data)
    buffer.finish()
    assert not buffer.streamed
    assert buffer.path.read_bytes() == data


def test_a_refused_part_is_not_lost_silently(files: BufferFiles) -> None:
    buffer = PartBuffer(files, Collector(lambda n: 1000, refuse=True))
    buffer.write(bytes(1000))
    with pytest.raises(RuntimeError, match="uploads stopped"):
        buffer.write(b"x")
    assert buffer.closed
    assert not buffer.streamed


@pytest.mark.parametrize("compression", ["none", "gzip"])
def test_with_openpgp_every_part_is_ciphertext_and_they_join_into_one_message(
    tmp_path: Path, gpg_keys: Any, compression: str
) -> None:
    outlets: list[Collector] = []

    def outlet(part: Any) -> Collector:
        outlets.append(Collector(lambda n: 64 * 1024))
        return outlets[-1]

    recipient = load_recipient(gpg_keys.public["cv25519"])
    spool = Spool(str(tmp_path), Encoding(compression, recipient), outlet)
    part = spool.open("s", "S", "m", ("email",), first=b"email\n", literal_name="s.csv")
    rng = random.Random(6)
    rows = [b"user%d@example.org,%s\n" % (i, rng.randbytes(40).hex().encode()) for i in range(5000)]
    for row in rows:
        part.write(row, 1)
    assert len(outlets[0].parts) >= 3  # parts left while rows were still written
    [done] = spool.finish()
    assert done.streamed
    parts = outlets[0].parts
    assert not any(b"@example." in data for _, data, _ in parts)
    whole = outlets[0].joined()
    assert (done.size, done.sha256) == (len(whole), hashlib.sha256(whole).hexdigest())
    result = gpg_keys.decrypt(whole)
    assert result.ok, result.status
    plain = result.plaintext
    if compression == "gzip":
        plain = gzip.decompress(plain)
    assert plain == b"email\n" + b"".join(rows)
    spool.remove()
    assert list(tmp_path.iterdir()) == []
