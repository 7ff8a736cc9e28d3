"""EncryptingWriter: round trips through real gpg, packet layout, streaming limits, integrity."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import re
import subprocess
import sys
from typing import Any

import pytest
from cryptography.hazmat.decrepit.ciphers.modes import CFB
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms

from target_adobe_s3.openpgp import EncryptingWriter, Recipient, load_recipient
from tests.support.gpg import KEY_KINDS

SIZES = [0, 1, 511, 512, 65535, 65536, 65537, 3_000_017]


class Sink(io.BytesIO):
    """A BytesIO that keeps its content after close (EncryptingWriter closes its sink)."""

    data = b""
    writes = 0

    def write(self, data: Any) -> int:
        self.writes += 1
        return super().write(data)

    def close(self) -> None:
        if not self.closed:
            self.data = self.getvalue()
        super().close()


def payload(size: int) -> bytes:
    """Deterministic, incompressible-looking bytes."""
    out = bytearray()
    counter = 0
    while len(out) < size:
        out += hashlib.sha256(counter.to_bytes(8, "big")).digest() * 32
        counter += 1
    return bytes(out[:size])


def encrypt(
    recipient: Recipient, data: bytes, name: str = "file.csv", step: int = 0, **kwargs: Any
) -> bytes:
    """Encrypt data in writes of `step` bytes (0: one write)."""
    sink = Sink()
    writer = EncryptingWriter(sink, recipient, name, **kwargs)
    step = step or max(len(data), 1)
    for start in range(0, len(data), step):
        assert writer.write(data[start : start + step]) == len(data[start : start + step])
    writer.close()
    assert sink.closed
    return sink.data


@pytest.fixture(scope="module")
def recipients(gpg_keys: Any) -> dict[str, Recipient]:
    return {kind: load_recipient(text) for kind, text in gpg_keys.public.items()}


@pytest.mark.parametrize("kind", list(KEY_KINDS))
@pytest.mark.parametrize("size", SIZES)
def test_round_trip(gpg_keys: Any, recipients: dict[str, Recipient], kind: str, size: int) -> None:
    data = payload(size)
    result = gpg_keys.decrypt(encrypt(recipients[kind], data))
    assert result.ok, result.status
    assert result.plaintext == data


@pytest.mark.parametrize("step", [1, 7, 511, 4096, 65536, 100_000])
def test_round_trip_in_small_and_odd_writes(
    gpg_keys: Any, recipients: dict[str, Recipient], step: int
) -> None:
    data = payload(200_000 if step > 1 else 70_000)
    result = gpg_keys.decrypt(encrypt(recipients["cv25519"], data, step=step))
    assert result.ok, result.status
    assert result.plaintext == data


@pytest.mark.parametrize("chunk_size", [512, 1024, 1 << 20])
def test_other_chunk_sizes(
    gpg_keys: Any, recipients: dict[str, Recipient], chunk_size: int
) -> None:
    data = payload(5000 + chunk_size)
    result = gpg_keys.decrypt(encrypt(recipients["p256"], data, chunk_size=chunk_size))
    assert result.ok, result.status
    assert result.plaintext == data


@pytest.mark.parametrize("chunk_size", [0, 256, 1000, 65537, 1 << 31])
def test_bad_chunk_size_refused(recipients: dict[str, Recipient], chunk_size: int) -> None:
    with pytest.raises(ValueError, match="power of two"):
        EncryptingWriter(Sink(), recipients["cv25519"], "x", chunk_size=chunk_size)


def test_gzip_on_top(gpg_keys: Any, recipients: dict[str, Recipient]) -> None:
    rows = b"".join(b"%d,user%d@example.com\n" % (i, i) for i in range(100_000))
    sink = Sink()
    enc = EncryptingWriter(sink, recipients["rsa_subkey"], "name.csv.gz")
    gz = gzip.GzipFile(fileobj=enc, mode="wb", mtime=0)
    for start in range(0, len(rows), 10_000):
        gz.write(rows[start : start + 10_000])
    gz.close()
    enc.close()
    result = gpg_keys.decrypt(sink.data)
    assert result.ok, result.status
    assert gzip.decompress(result.plaintext) == rows


def test_list_packets_shows_pkesk_v3_mdc_and_file_name(
    gpg_keys: Any, recipients: dict[str, Recipient]
) -> None:
    listing = gpg_keys.gpg.list_packets(
        encrypt(recipients["rsa_subkey"], payload(100_000), "export 2024.csv.gz", mtime=1714544284)
    )
    assert ":pubkey enc packet: version 3, algo 1" in listing
    assert recipients["rsa_subkey"].key_id in listing
    assert ":encrypted data packet:" in listing
    assert "mdc_method: 2" in listing
    assert ":literal data packet:" in listing
    assert 'name="export 2024.csv.gz"' in listing
    assert "created 1714544284" in listing
    assert "mode b" in listing
    assert ":aead encrypted packet:" not in listing


def test_long_file_name_is_cut_at_255_bytes(
    gpg_keys: Any, recipients: dict[str, Recipient]
) -> None:
    name = "é" * 200  # 400 bytes of UTF-8: cut on a character boundary
    listing = gpg_keys.gpg.list_packets(encrypt(recipients["cv25519"], b"x", name))
    assert re.search(r'name="(\\xc3\\xa9|é){127}"', listing), listing


def test_tampered_ciphertext_fails_integrity_check(
    gpg_keys: Any, recipients: dict[str, Recipient]
) -> None:
    data = payload(100_000)
    message = bytearray(encrypt(recipients["cv25519"], data))
    message[-30] ^= 0x01  # inside the last chunk of encrypted data, before the MDC
    result = gpg_keys.decrypt(bytes(message))
    assert result.returncode != 0
    assert not result.ok
    assert "DECRYPTION_FAILED" in result.status or "BADMDC" in result.status


def test_aborted_writer_leaves_an_undecryptable_file(
    gpg_keys: Any, recipients: dict[str, Recipient]
) -> None:
    sink = Sink()

    def export_that_fails() -> None:
        with EncryptingWriter(sink, recipients["cv25519"], "x") as enc:
            enc.write(payload(200_000))
            raise RuntimeError("export failed")

    with pytest.raises(RuntimeError, match="export failed"):
        export_that_fails()
    assert sink.closed
    result = gpg_keys.decrypt(sink.data)
    assert result.returncode != 0
    assert not result.ok


def test_close_is_idempotent_and_write_after_close_fails(recipients: dict[str, Recipient]) -> None:
    sink = Sink()
    enc = EncryptingWriter(sink, recipients["cv25519"], "x")
    assert enc.writable()
    enc.write(b"abc")
    enc.close()
    enc.close()
    assert enc.closed
    assert sink.closed
    with pytest.raises(ValueError, match="closed"):
        enc.write(b"more")


def test_garbage_collected_writer_never_finishes_the_message(
    gpg_keys: Any, recipients: dict[str, Recipient]
) -> None:
    sink = Sink()
    enc = EncryptingWriter(sink, recipients["cv25519"], "x")
    enc.write(payload(200_000))
    del enc
    assert not sink.closed
    result = gpg_keys.decrypt(sink.getvalue())
    assert not result.ok
    assert result.plaintext != payload(200_000)


def test_writes_partial_chunks_without_buffering_big_writes(
    recipients: dict[str, Recipient],
) -> None:
    sink = Sink()
    enc = EncryptingWriter(sink, recipients["cv25519"], "x", chunk_size=1024)
    enc.write(payload(1_000_000))
    # about 1000 chunks went out already; at most about a chunk is held back
    assert 1_000_000 - 2048 < len(sink.getvalue()) < 1_000_000 + 5000
    enc.close()


def test_each_write_of_any_buffer_type(gpg_keys: Any, recipients: dict[str, Recipient]) -> None:
    import array

    ints = array.array("I", range(1000))
    sink = Sink()
    enc = EncryptingWriter(sink, recipients["cv25519"], "x")
    assert enc.write(ints) == 4000
    assert enc.write(bytearray(b"ab")) == 2
    assert enc.write(memoryview(b"cd")) == 2
    enc.close()
    result = gpg_keys.decrypt(sink.data)
    assert result.ok, result.status
    assert result.plaintext == ints.tobytes() + b"abcd"


# --- the framing, checked by decrypting with the session key gpg reports ----------------------


def read_framed(data: bytes, pos: int) -> tuple[int, bytes, list[int], int]:
    """(tag, body, part lengths, end) of one new-format packet, partial lengths joined."""
    ctb = data[pos]
    assert ctb & 0xC0 == 0xC0, "new-format packet header"
    pos += 1
    body, parts = bytearray(), []
    while True:
        first = data[pos]
        if first >= 224 and first != 255:
            length, pos = 1 << (first & 0x1F), pos + 1
            parts.append(-length)  # negative: a partial length
        elif first < 192:
            length, pos = first, pos + 1
        elif first < 224:
            length, pos = ((first - 192) << 8) + data[pos + 1] + 192, pos + 2
        else:
            length, pos = int.from_bytes(data[pos + 1 : pos + 5], "big"), pos + 5
        body += data[pos : pos + length]
        pos += length
        if first < 224 or first == 255:
            parts.append(length)
            return ctb & 0x3F, bytes(body), parts, pos


def check_parts(parts: list[int], chunk: int) -> None:
    """Partial lengths: all equal to the chunk (a power of two >= 512); last one definite."""
    *partials, last = parts
    assert last >= 0
    assert all(-p == chunk for p in partials)
    assert chunk >= 512
    assert chunk & (chunk - 1) == 0


@pytest.mark.parametrize("size", [0, 511, 65536, 65537, 300_000])
def test_partial_lengths_of_both_packets(
    gpg_keys: Any, recipients: dict[str, Recipient], size: int
) -> None:
    data = payload(size)
    message = encrypt(recipients["cv25519"], data, "f.bin", mtime=7, step=5000)
    proc = gpg_keys.gpg.run(
        "--status-fd", "2", "--show-session-key", "--decrypt", data=message, check=False
    )
    match = re.search(r"SESSION_KEY 9:([0-9A-F]{64})", proc.stderr.decode())
    assert match, proc.stderr
    tag, body, parts, end = read_framed(message, read_framed(message, 0)[3])
    assert (tag, end) == (18, len(message))
    check_parts(parts, 65536)
    assert body[0] == 1  # SEIPD version 1
    cipher = Cipher(algorithms.AES(bytes.fromhex(match.group(1))), CFB(bytes(16))).decryptor()
    plain = cipher.update(body[1:]) + cipher.finalize()
    assert plain[14:16] == plain[16:18]  # the prefix repeats its last two bytes
    tag, literal, parts, end = read_framed(plain, 18)
    assert tag == 11
    check_parts(parts, 65536)
    assert literal == b"b\x05f.bin" + (7).to_bytes(4, "big") + data
    assert plain[end : end + 2] == b"\xd3\x14"
    assert plain[end + 2 :] == hashlib.sha1(plain[: end + 2]).digest()
    assert len(plain) == end + 22


def test_import_raises_no_deprecation_warning() -> None:
    code = "import target_adobe_s3.openpgp.encrypt"
    subprocess.run([sys.executable, "-W", "error", "-c", code], check=True, cwd=os.getcwd())


# --- eager: what each write brings goes out at once, in power-of-two partial lengths --------


def encrypt_eager(
    recipient: Recipient, data: bytes, steps: list[int], sink: Sink | None = None, **kwargs: Any
) -> tuple[bytes, int, int]:
    """Encrypt data eagerly in writes of the sizes in `steps` (cycled); returns the message,
    the most bytes the writer held after a write, and the most sink writes one write caused."""
    sink = sink or Sink()
    writer = EncryptingWriter(sink, recipient, "f.bin", mtime=7, eager=True, **kwargs)
    most_held = most_writes = pos = 0
    while pos < len(data):
        step = steps[(pos // 7 + len(data)) % len(steps)] if len(steps) > 1 else steps[0]
        before = sink.writes
        assert writer.write(data[pos : pos + step]) == len(data[pos : pos + step])
        most_held = max(most_held, writer.buffered)
        most_writes = max(most_writes, sink.writes - before)
        pos += step
    writer.close()
    return sink.data, most_held, most_writes


@pytest.mark.parametrize("step", [1, 7, 100, 511, 512, 513, 4096, 16384, 100_000])
def test_eager_round_trip_holds_under_a_kilobyte_per_packet(
    gpg_keys: Any, recipients: dict[str, Recipient], step: int
) -> None:
    data = payload(200_000 if step > 100 else 20_000)
    message, most_held, most_writes = encrypt_eager(recipients["cv25519"], data, [step])
    assert most_held <= 2 * 512  # at most 512 octets per packet layer
    assert most_writes <= 1  # what a write brings reaches the sink in one call
    result = gpg_keys.decrypt(message)
    assert result.ok, result.status
    assert result.plaintext == data


def test_eager_round_trip_in_writes_of_odd_sizes(
    gpg_keys: Any, recipients: dict[str, Recipient]
) -> None:
    data = payload(300_000)
    message, most_held, _ = encrypt_eager(
        recipients["rsa_subkey"], data, [1, 3, 511, 513, 1023, 1025, 8191, 65537, 2]
    )
    assert most_held <= 1024
    result = gpg_keys.decrypt(message)
    assert result.ok, result.status
    assert result.plaintext == data


def check_eager_parts(parts: list[int], chunk: int) -> None:
    """Partial lengths: powers of two from 512 to the chunk size; the last one definite."""
    *partials, last = parts
    assert last >= 0
    for partial in partials:
        size = -partial
        assert 512 <= size <= chunk
        assert size & (size - 1) == 0


EAGER_CASES = [(0, 1, 65536), (511, 100, 65536), (512, 512, 512), (100_000, 3000, 1024),
               (300_000, 70_000, 65536)]  # fmt: skip


@pytest.mark.parametrize(("size", "step", "chunk"), EAGER_CASES)
def test_eager_partial_lengths_of_both_packets(
    gpg_keys: Any, recipients: dict[str, Recipient], size: int, step: int, chunk: int
) -> None:
    data = payload(size)
    message, _, _ = encrypt_eager(recipients["cv25519"], data, [step], chunk_size=chunk)
    proc = gpg_keys.gpg.run(
        "--status-fd", "2", "--show-session-key", "--decrypt", data=message, check=False
    )
    assert proc.stdout == data
    match = re.search(r"SESSION_KEY 9:([0-9A-F]{64})", proc.stderr.decode())
    assert match, proc.stderr
    tag, body, parts, end = read_framed(message, read_framed(message, 0)[3])
    assert (tag, end) == (18, len(message))
    check_eager_parts(parts, chunk)
    cipher = Cipher(algorithms.AES(bytes.fromhex(match.group(1))), CFB(bytes(16))).decryptor()
    plain = cipher.update(body[1:]) + cipher.finalize()
    tag, literal, parts, end = read_framed(plain, 18)
    assert tag == 11
    check_eager_parts(parts, chunk)
    assert literal == b"b\x05f.bin" + (7).to_bytes(4, "big") + data
    assert plain[end:] == b"\xd3\x14" + hashlib.sha1(plain[: end + 2]).digest()


def test_eager_list_packets_and_integrity(gpg_keys: Any, recipients: dict[str, Recipient]) -> None:
    message, _, _ = encrypt_eager(recipients["p256"], payload(100_000), [4000])
    listing = gpg_keys.gpg.list_packets(message)
    assert ":pubkey enc packet: version 3" in listing
    assert "mdc_method: 2" in listing
    assert 'name="f.bin"' in listing
    tampered = bytearray(message)
    tampered[-30] ^= 0x01
    result = gpg_keys.decrypt(bytes(tampered))
    assert not result.ok


def test_eager_abort_never_finishes(gpg_keys: Any, recipients: dict[str, Recipient]) -> None:
    sink = Sink()
    enc = EncryptingWriter(sink, recipients["cv25519"], "x", eager=True)
    enc.write(payload(50_000))
    assert len(sink.getvalue()) > 49_000  # already out: only ciphertext reached the sink
    enc.abort()
    assert sink.closed
    assert not gpg_keys.decrypt(sink.data).ok


def test_eager_gzip_inside(gpg_keys: Any, recipients: dict[str, Recipient]) -> None:
    rows = b"".join(b"%d,user%d@example.com\n" % (i, i) for i in range(50_000))
    sink = Sink()
    enc = EncryptingWriter(sink, recipients["cv25519"], "name.csv.gz", eager=True)
    gz = gzip.GzipFile(fileobj=enc, mode="wb", mtime=0)
    for start in range(0, len(rows), 777):
        gz.write(rows[start : start + 777])
    gz.close()
    enc.close()
    result = gpg_keys.decrypt(sink.data)
    assert result.ok, result.status
    assert gzip.decompress(result.plaintext) == rows
