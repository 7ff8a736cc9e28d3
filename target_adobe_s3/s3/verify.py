"""What S3 stored, checked: one HeadObject per object (size, and SHA-256 when sent).

Uploads carry a SHA-256 unless `request_checksum_calculation` is when_required. A PutObject's
is the file's; a multipart object's is S3's composite: the SHA-256 of the parts' SHA-256s,
each taken as the part's bytes were written (files.buffer), independently of what botocore
reads from the disk and sends.
"""

from __future__ import annotations

import base64
import hashlib
import io
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from target_adobe_s3.errors import DeliveryError
from target_adobe_s3.s3.client import s3_errors

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


def sends_checksums(client: S3Client) -> bool:
    """Whether uploads carry a SHA-256 for S3 to check and keep.

    They do unless `request_checksum_calculation` is when_required: then, as botocore
    does, no checksum is sent that the operation does not require, and an object is
    verified by its size alone.
    """
    mode = getattr(client.meta.config, "request_checksum_calculation", None)
    return mode != "when_required"


def b64(digest: bytes) -> str:
    """A digest in Base64, as S3 shows checksums."""
    return base64.b64encode(digest).decode()


def composite_sha256(part_digests: list[bytes]) -> str:
    """S3's checksum of a multipart object: SHA-256 of the parts' SHA-256s, `-<parts>`."""
    return f"{b64(hashlib.sha256(b''.join(part_digests)).digest())}-{len(part_digests)}"


def stored_problem(head: Mapping[str, Any], size: int, checksum: str | None) -> str | None:
    """What differs between a HeadObject answer and what was sent; None when nothing does.

    `checksum` is the object's SHA-256 as S3 shows it (Base64; `<Base64>-<parts>` for a
    multipart object), or None when none was sent. A server that shows no checksum is
    judged by the size alone; one that shows a composite without the `-<parts>` suffix
    (moto) is compared on the Base64 part.
    """
    stored_size = int(head.get("ContentLength", -1))
    if stored_size != size:
        return f"S3 stored {stored_size} bytes, {size} were sent"
    stored = head.get("ChecksumSHA256")
    if checksum is None or not stored:
        return None
    mine, _, my_parts = checksum.partition("-")
    theirs, _, their_parts = str(stored).partition("-")
    if theirs != mine or (their_parts and their_parts != my_parts):
        return f"S3's SHA-256 is {stored}, the file's is {checksum}"
    return None


FRAMING_HINT = (
    " (the server may have kept botocore's aws-chunked framing as the content, as s3rver "
    "does: set request_checksum_calculation and response_checksum_validation to when_required)"
)
"""Said when S3 stored more bytes than were sent with a checksum."""


def verify_stored(client: S3Client, bucket: str, key: str, size: int, checksum: str | None) -> None:
    """Check what S3 stored with one HeadObject; delete the object when it differs.

    Raises:
        DeliveryError: HeadObject failed, or the object differs (naming what differs and
            whether it was deleted).
    """
    where = f"s3://{bucket}/{key}"
    with s3_errors(f"verifying {where} (HeadObject, which needs s3:GetObject)"):
        head = client.head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
    problem = stored_problem(head, size, checksum)
    if problem is None:
        return
    if checksum is not None and int(head.get("ContentLength", 0)) > size:
        problem += FRAMING_HINT
    try:
        client.delete_object(Bucket=bucket, Key=key)
        outcome = "the object was deleted"
    except (ClientError, BotoCoreError) as exc:
        code = exc.response.get("Error", {}).get("Code") if isinstance(exc, ClientError) else exc
        outcome = f"deleting it failed too ({code}): delete it by hand"
    raise DeliveryError(f"verifying {where} failed: {problem}; {outcome}")


def checksum_arguments(client: S3Client) -> dict[str, Any]:
    """`ChecksumAlgorithm=SHA256` when uploads carry checksums: botocore computes it."""
    return {"ChecksumAlgorithm": "SHA256"} if sends_checksums(client) else {}


Readable = io.RawIOBase | io.BufferedIOBase
"""An open file that can seek and read into a buffer."""


class FileSlice(io.RawIOBase):
    """A seekable window on an open file: one multipart part, read as botocore asks.

    botocore reads a body in small blocks (checksum, then the request) and seeks back to
    retry, so a part never has to sit whole in memory: with several uploads at once,
    8 MiB parts each read into a bytes object would dominate the process's memory.
    """

    def __init__(self, file: Readable, start: int, length: int) -> None:
        super().__init__()
        self._file = file
        self._start = start
        self._length = length
        self._position = 0

    def readable(self) -> bool:
        """Always: a part is read."""
        return True

    def seekable(self) -> bool:
        """Always: botocore seeks back to retry."""
        return True

    def tell(self) -> int:
        """The position in the window."""
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        """Move within the window (clamped to it); returns the new position."""
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._length}[whence]
        self._position = max(0, min(self._length, base + offset))
        return self._position

    def __len__(self) -> int:
        return self._length

    def readinto(self, buffer: Any) -> int:
        """Read the window's next bytes from the file into `buffer`; 0 at its end."""
        view = memoryview(buffer).cast("B")
        wanted = min(len(view), self._length - self._position)
        if wanted <= 0:
            return 0
        self._file.seek(self._start + self._position)
        count = self._file.readinto(view[:wanted]) or 0
        self._position += count
        return count
