"""Gzip without a compressor that lives as long as the file: one member, deflated in chunks.

A gzip member (RFC 1952) is a 10-byte header, one raw deflate stream (RFC 1951), the CRC-32
and the length of the data. `GzipChunks` deflates each chunk of the data with a compressor of
its own, made for that chunk and dropped after it: every chunk but the last ends with a full
flush (its blocks are not final and end on a byte boundary), the last with the final block.
The chunks' outputs, one after the other, are thus one deflate stream, and the file is a
single gzip member that any reader takes.

zlib's compressor holds about 256 KiB at level 6, so a file open for writing costs only the
CRC and the length between chunks. A chunk may refer back to the data before it, which every
reader still holds in its 32 KiB window: `history`, given with each chunk, primes the
compressor with the end of that data (a preset dictionary) and wins back most of what short
chunks lose. The output depends only on the chunks and their histories, not on the time or
anything else: the header has no name and a zero modification time.
"""

from __future__ import annotations

import zlib

__all__ = ["LEVEL", "GzipChunks", "header"]

LEVEL = 6
WINDOW = 32 * 1024  # the deflate window: history beyond it cannot be referred to

Buffer = bytes | bytearray | memoryview


def header(level: int = LEVEL) -> bytes:
    """The member header: deflate, no flags, mtime 0, XFL from the level, OS unknown (255)."""
    xfl = 2 if level == 9 else 4 if level == 1 else 0  # as Python's gzip module writes it
    return b"\x1f\x8b\x08\x00\x00\x00\x00\x00" + bytes([xfl, 255])


class GzipChunks:
    """One gzip member, fed chunk by chunk; holds only the running CRC-32 and length."""

    def __init__(self, level: int = LEVEL) -> None:
        if not 0 <= level <= 9:
            raise ValueError("level must be from 0 to 9")
        self.level = level
        self.crc = 0
        self.length = 0
        self._started = False
        self.finished = False

    def compress(self, data: Buffer, history: Buffer = b"", *, final: bool = False) -> bytes:
        """The member's bytes for the next chunk of data (with the trailer when `final`).

        Args:
            data: The chunk (may be empty).
            history: The data just before this chunk (at most the last 32 KiB are used); it
                must be exactly what was given to earlier chunks, as references into it are
                resolved by the reader against the data it has already decompressed.
            final: Whether this is the last chunk: ends the deflate stream and the member.

        Returns:
            The header (first chunk only), the compressed chunk and, if final, the trailer.
        """
        if self.finished:
            raise ValueError("the gzip member is already finished")
        if len(history) > self.length:
            raise ValueError("history longer than the data before the chunk")
        if len(history):
            with memoryview(history) as view, view[-WINDOW:] as window:
                compressor = zlib.compressobj(
                    self.level, zlib.DEFLATED, -15, 8, zlib.Z_DEFAULT_STRATEGY, window
                )
        else:
            compressor = zlib.compressobj(self.level, zlib.DEFLATED, -15)
        out = compressor.compress(data)
        out += compressor.flush(zlib.Z_FINISH if final else zlib.Z_FULL_FLUSH)
        self.crc = zlib.crc32(data, self.crc)
        self.length += len(data) if not isinstance(data, memoryview) else data.nbytes
        if not self._started:
            self._started = True
            out = header(self.level) + out
        if final:
            self.finished = True
            out += self.crc.to_bytes(4, "little") + (self.length & 0xFFFFFFFF).to_bytes(4, "little")
        return out
