"""Inputs and readers shared by the delivery tests (verification, --check, s3rver).

Each input holds segment `a` (small: one PutObject), segment `b` (over PART_SIZE even
gzipped and encrypted: a multipart upload) or both, and ends with one STATE.
"""

from __future__ import annotations

import base64
import hashlib

from target_adobe_s3.s3.upload import PART_SIZE
from tests.support.helpers import (
    MEMBER_SCHEMA,
    big_segment_records,
    record_message,
    schema_message,
    singer_text,
    state_message,
)

STATE = {"bookmark": 3}
SMALL_KEY = "amazon_s3_segmenta_20240501_061804.csv"
BIG_KEY = "amazon_s3_segmentb_20240501_061804.csv"
SMALL = singer_text(
    [
        schema_message("m", MEMBER_SCHEMA),
        *(record_message("m", {"segment_id": "a", "email": f"{i}@x.com"}) for i in range(20)),
        state_message(STATE),
    ]
).encode()
"""Segment `a` only: one small file, one PutObject."""
BIG = singer_text(
    [
        schema_message("m", MEMBER_SCHEMA),
        *big_segment_records("b", PART_SIZE * 3 // 2, seed=11),
        state_message(STATE),
    ]
).encode()
"""Segment `b` only: over PART_SIZE even gzipped and encrypted, a two-part upload."""
BOTH = singer_text(
    [
        schema_message("m", MEMBER_SCHEMA),
        *(record_message("m", {"segment_id": "a", "email": f"{i}@x.com"}) for i in range(20)),
        *big_segment_records("b", PART_SIZE * 3 // 2, seed=11),
        state_message(STATE),
    ]
).encode()
WHEN_REQUIRED = {
    "request_checksum_calculation": "when_required",
    "response_checksum_validation": "when_required",
}


def sha256_b64(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def composite(data: bytes) -> str:
    """S3's SHA-256 of a multipart object of PART_SIZE parts: of the parts' digests, -N."""
    digests = [
        hashlib.sha256(data[i : i + PART_SIZE]).digest() for i in range(0, len(data), PART_SIZE)
    ]
    return f"{base64.b64encode(hashlib.sha256(b''.join(digests)).digest()).decode()}-{len(digests)}"


def failure(stderr: str) -> str:
    """The one `Export failed` line of a run, from its message on."""
    lines = [line for line in stderr.splitlines() if "Export failed" in line]
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    return lines[0][lines[0].index("Export failed") :]


def framed_size(size: int) -> int:
    """What s3rver stores for a body of `size` bytes sent aws-chunked with a SHA-256 trailer:
    `<hex size>\\r\\n<body>\\r\\n0\\r\\nx-amz-checksum-sha256:<44 Base64>\\r\\n\\r\\n`."""
    return len(f"{size:x}\r\n") + size + len("\r\n0\r\nx-amz-checksum-sha256:") + 44 + 4
